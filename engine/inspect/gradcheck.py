"""Gradient check: backprop's gradient beside a central-difference estimate.

For the objective J(θ) = data loss on the given examples + regularization penalty, with batch
norm in train mode (batch statistics over the examples) and dropout off, every parameter entry
θ_i is nudged both ways:

    g_num_i = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        error O(ε²)

and compared with backprop's g_i by the relative error |g_i − g_num_i| / max(|g_i| + |g_num_i|, τ)
(τ = 1e-12 keeps exact zeros from dividing by zero). The overall figure is
‖g − g_num‖ / (‖g‖ + ‖g_num‖). It costs 2N loss evaluations (N = number of parameters)
against one forward and one backward pass — the reason backprop exists; both are timed
(``time.perf_counter``) and ``time_ratio`` is their quotient.

Verdicts (float64, ε = 1e-5; the bands usually quoted for such a check): a relative error
≤ 1e-7 is "excellent" (the two agree to about 7 digits, all a central difference can give),
≤ 1e-5 "good", ≤ 1e-3 "doubtful" (fine next to a ReLU kink, where the two-sided slope and
backprop's one-sided derivative differ; elsewhere a sign of a small bug), above that "wrong".
A tiny gradient (say 1e-9, the first layer of a deep sigmoid net) has a large relative error
even when backprop is right, because the difference itself is only accurate to the

    noise floor  ν = 10 · ε_mach · max(|J|, 1) / ε + ε²

(rounding: J is known to about ε_mach·|J| and is divided by 2ε; truncation: O(ε²)). A row with
|g_i − g_num_i| ≤ ν that would rank below "excellent" is "within rounding" instead: it agrees
as well as the estimate can tell. The
overall verdict reads the overall figure, which such rows cannot dominate.

Nets with more than ``max_entries`` parameters get a sample of that many entries, drawn with
``np.random.default_rng(seed)`` (the same rows for the same seed and weights), in parameter
order; ``sampled`` says so. ``layers`` sums the rows up per layer and parameter.
"""

from __future__ import annotations

import copy
import time
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.network import Network
from engine.trainer import Trainer

Array = NDArray[np.float64]
MAX_ENTRIES = 5000  # larger nets get a seeded sample of entries checked
# (upper bound of the relative error, verdict); past the last band: "wrong"
BANDS = ((1e-7, "excellent"), (1e-5, "good"), (1e-3, "doubtful"))
VERDICTS = ("within rounding", "excellent", "good", "doubtful", "wrong")


def verdict(relative_error: float) -> str:
    """The band of ``relative_error`` (see the module docstring)."""
    return next((name for bound, name in BANDS if relative_error <= bound), "wrong")


def judged(relative_error: float, within_floor: bool) -> str:
    """The verdict, "within rounding" instead of a worse band than "excellent" when the
    difference is below the noise floor (backprop is as right as the estimate can tell)."""
    band = verdict(relative_error)
    return "within rounding" if within_floor and band != "excellent" else band


def noise_floor(loss: float, eps: float) -> float:
    """ν = 10 · ε_mach · max(|J|, 1) / ε + ε²: how exactly a central difference is known."""
    return 10 * float(np.finfo(np.float64).eps) * max(abs(loss), 1.0) / eps + eps * eps


def _objective(net: Network, x: Array, y: Array) -> float:
    """J(θ): the data loss with train-mode batch norm (no dropout: no RNG) plus the penalty."""
    last = net.forward(x, train=True)[-1]
    return float(net.loss.value(net.loss_input(last), y)) + net.penalty()


def _backprop(net: Network, x: Array, y: Array) -> list[Array]:
    """∇J by the network's own backward pass (the one training runs), parameter by parameter."""
    passes = net.backward(net.forward(x, train=True), y, penalty=True)
    return [g for _, grads in passes for g in grads]


def gradcheck(
    trainer: Trainer, eps: float = 1e-5, max_entries: int = MAX_ENTRIES, seed: int = 0
) -> dict[str, Any]:
    """Compare backprop with central differences on the trainer's whole training set, using a
    private copy of its network (at most ``max_entries`` entries, a seeded sample beyond)."""
    if not 0 < eps <= 1e-2:
        raise ValueError(f"eps: invalid eps {eps!r}: must be in (0, 0.01]")
    if max_entries < 1:
        raise ValueError(f"sample: must be at least 1, got {max_entries}")
    x, y = trainer.data.x_train, trainer.data.y_train
    # the nudges below write into the parameters: a copy keeps the live weights untouched
    net = copy.deepcopy(trainer.net)
    t0 = time.perf_counter()
    analytic = _backprop(net, x, y)
    backprop_seconds = time.perf_counter() - t0
    loss = _objective(net, x, y)
    floor = noise_floor(loss, eps)
    params = net.params
    entries = [(k, i) for k, p in enumerate(params) for i in range(p.size)]
    sampled = len(entries) > max_entries
    if sampled:
        pick = np.random.default_rng(seed).choice(len(entries), max_entries, replace=False)
        entries = [entries[j] for j in np.sort(pick)]
    names = [
        (li, name)
        for li, layer in enumerate(net.layers)
        for name in layer.param_names
    ]
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for k, i in entries:
        flat = params[k].reshape(-1)
        saved = flat[i]
        flat[i] = saved + eps
        plus = _objective(net, x, y)
        flat[i] = saved - eps
        minus = _objective(net, x, y)
        flat[i] = saved
        num = (plus - minus) / (2 * eps)
        ana = float(analytic[k].reshape(-1)[i])
        rel = abs(ana - num) / max(abs(ana) + abs(num), 1e-12)
        layer_index, name = names[k]
        rows.append(
            {
                "layer": layer_index,
                "param": name,
                "index": [int(v) for v in np.unravel_index(i, params[k].shape)],
                "backprop": ana,
                "numerical": num,
                "absolute_error": abs(ana - num),
                "relative_error": rel,
                "verdict": judged(rel, abs(ana - num) <= floor),
            }
        )
    numeric_seconds = time.perf_counter() - t0
    overall = _overall(rows)
    layers = _per_layer(rows, floor)
    return {
        "eps": eps,
        "loss": loss,
        "noise_floor": floor,
        "n_params": sum(p.size for p in params),
        "checked": len(rows),
        "sampled": sampled,
        "seed": seed,
        "relative_error": overall,
        "max_relative_error": max((r["relative_error"] for r in rows), default=0.0),
        "verdict": verdict(overall),
        "counts": {v: sum(r["verdict"] == v for r in rows) for v in VERDICTS},
        "loss_evaluations": 2 * len(rows),
        "backprop_passes": 1,
        "backprop_seconds": backprop_seconds,
        "numerical_seconds": numeric_seconds,
        "time_ratio": numeric_seconds / backprop_seconds if backprop_seconds > 0 else None,
        "layers": layers,
        "entries": rows,
    }


def _overall(rows: list[dict[str, Any]]) -> float:
    """‖g − g_num‖ / (‖g‖ + ‖g_num‖) over ``rows`` (0 when both are zero)."""
    a = np.asarray([r["backprop"] for r in rows], dtype=np.float64)
    n = np.asarray([r["numerical"] for r in rows], dtype=np.float64)
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    return float(np.linalg.norm(a - n)) / denom if denom > 0 else 0.0


def _per_layer(rows: list[dict[str, Any]], floor: float) -> list[dict[str, Any]]:
    """One summary per (layer, parameter) checked: rows, the gradient's size there, the
    overall and the largest relative error, and the verdict of the overall one ("within
    rounding" when every row of the group is)."""
    groups: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for r in rows:
        groups.setdefault((r["layer"], r["param"]), []).append(r)
    out = []
    for (layer, param), group in groups.items():
        rel = _overall(group)
        out.append(
            {
                "layer": layer,
                "param": param,
                "checked": len(group),
                "backprop_norm": float(np.linalg.norm([r["backprop"] for r in group])),
                "relative_error": rel,
                "max_relative_error": max(r["relative_error"] for r in group),
                "verdict": judged(rel, all(r["absolute_error"] <= floor for r in group)),
            }
        )
    return out
