"""The network drawing's views: what number each edge and node shows, in words.

A view names one quantity per weight w_jk (edge j → k of layer L, ``W[L][j][k]``) and one per
unit k (its node and bias square):

============== ===================================== ==========================================
view           edge                                  node / bias square
============== ===================================== ==========================================
weights        w_jk                                  bias b_k
activations    a_j · w_jk (the probe example)        a_k (the probe example)
delta          dL/dw_jk = a_j · δ_k (the probe)      δ_k = dL/dz_k (the probe)
gradients      dL/dw_jk, last batch mean             dL/db_k
updates        Δw_jk = w_new − w_old, last step      Δb_k
velocity       momentum buffer / Adam's m            the same of b_k
second_moment  Adam's v / RMSprop's / Adagrad's      the same of b_k
effective_step Δw_jk / g_jk (0 where g = 0)          Δb_k / g_k
============== ===================================== ==========================================

The optimizer views exist only for an optimizer that keeps that state (:func:`available`);
their state key is the one torch names (:func:`state_key`): SGD's and RMSprop's
``momentum_buffer`` (when momentum > 0), Adam's ``exp_avg`` (m) and ``exp_avg_sq`` (v), RMSprop's
``square_avg``, Adagrad's ``sum``. The effective step Δw/g is the step the optimizer took per
unit of gradient: −lr for plain SGD, −lr/(√v + ε)·m/g for Adam.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.page.i18n import N_

VIEWS = (
    "weights", "activations", "delta", "gradients", "updates",
    "velocity", "second_moment", "effective_step",
)  # fmt: skip
OPTIMIZER_VIEWS = ("velocity", "second_moment")
TINY = 1e-300  # |g| below this: Δw/g is drawn as 0, not as an overflow

# the menu's words: catalog message ids (app/locale), shown in the page's language
LABELS: dict[str, str] = {
    "weights": N_("weights w"),
    "activations": N_("activations a (traced example)"),
    "delta": N_("dL/dz = δ (traced example)"),
    "gradients": N_("dL/dw (last batch)"),
    "updates": N_("last update Δw"),
    "effective_step": N_("effective step Δw / g"),
}
# (edge quantity, node quantity): what the tooltip and the legend call the numbers
QUANTITY: dict[str, tuple[str, str]] = {
    "weights": ("w_jk", "b_k"),
    "activations": ("a_j · w_jk", "a_k"),
    "delta": ("dL/dw_jk = a_j · δ_k", "δ_k = dL/dz_k"),
    "gradients": ("dL/dw (last batch)", "dL/db (last batch)"),
    "updates": ("Δw", "Δb"),
    "effective_step": ("Δw / g", "Δb / g"),
}
# per optimizer: the state key of each optimizer view, and its name in words
_STATE: dict[str, dict[str, tuple[str, str]]] = {
    "sgd": {"velocity": ("momentum_buffer", N_("velocity (momentum_buffer)"))},
    "rmsprop": {
        "velocity": ("momentum_buffer", N_("velocity (momentum_buffer)")),
        "second_moment": ("square_avg", N_("v = square_avg")),
    },
    "adagrad": {"second_moment": ("sum", N_("v = sum of g²"))},
    "adam": {
        "velocity": ("exp_avg", N_("velocity m = exp_avg")),
        "second_moment": ("exp_avg_sq", N_("v = exp_avg_sq")),
    },
}
_STATE["adamw"] = _STATE["adam"]


def state_key(optimizer: str, view: str) -> str | None:
    """The optimizer state the view draws (None: the optimizer keeps none for it)."""
    entry = _STATE.get(optimizer, {}).get(view)
    return entry[0] if entry else None


def available(optimizer: dict[str, Any]) -> list[str]:
    """The views the menu offers for optimizer config ``optimizer`` ({"name", hparams…}):
    a momentum buffer only with momentum > 0 (SGD and RMSprop keep none without)."""
    name = str(optimizer.get("name", "sgd"))
    out = [v for v in VIEWS if v not in OPTIMIZER_VIEWS]
    for view in OPTIMIZER_VIEWS:
        if state_key(name, view) is None:
            continue
        no_momentum = float(optimizer.get("momentum") or 0.0) <= 0.0
        if name in ("sgd", "rmsprop") and view == "velocity" and no_momentum:
            continue
        out.append(view)
    return out


def menu(optimizer: dict[str, Any]) -> list[tuple[str, str]]:
    """The "show" menu: (view, label) for each available view; the label is a catalog
    message id (the page shows it translated)."""
    name = str(optimizer.get("name", "sgd"))
    out = []
    for view in available(optimizer):
        if view in OPTIMIZER_VIEWS:
            out.append((view, _STATE[name][view][1]))
        else:
            out.append((view, LABELS[view]))
    return out


def quantity(view: str, optimizer: str = "") -> tuple[str, str]:
    """(edge quantity, node quantity) of ``view`` in words, as tooltips and the legend say."""
    entry = _STATE.get(optimizer, {}).get(view)
    if entry is not None:
        return f"{entry[1]} of w", f"{entry[1]} of b"
    if view in QUANTITY:
        return QUANTITY[view]
    return view, view


def effective_step(update: NDArray[np.float64], grad: NDArray[np.float64]) -> NDArray[np.float64]:
    """Δw / g elementwise, 0 where |g| < TINY or the ratio is not finite."""
    g = np.asarray(grad, dtype=np.float64)
    u = np.asarray(update, dtype=np.float64)
    safe = np.abs(g) >= TINY
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ratio = np.where(safe, u / np.where(safe, g, 1.0), 0.0)
    out: NDArray[np.float64] = np.where(np.isfinite(ratio), ratio, 0.0)
    return out
