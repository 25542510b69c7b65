"""Gradient check: backprop's gradient beside a central-difference estimate.

For the objective J(θ) = data loss on the given examples + regularization penalty, with batch
norm in train mode (batch statistics over the examples) and dropout off, every parameter entry
θ_i is nudged both ways:

    g_num_i = (J(θ + ε e_i) − J(θ − ε e_i)) / 2ε        error O(ε²)

and compared with backprop's g_i by the relative error |g_i − g_num_i| / max(|g_i| + |g_num_i|, τ)
(τ = 1e-12 keeps exact zeros from dividing by zero). The overall figure is
‖g − g_num‖ / (‖g‖ + ‖g_num‖). It costs 2N loss evaluations (N = number of parameters)
against one forward and one backward pass — the reason backprop exists.
"""

from __future__ import annotations

import copy
import time
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from engine.layers import PARAM_NAMES
from engine.network import Network

if TYPE_CHECKING:
    from engine.trainer import Trainer

Array = NDArray[np.float64]
MAX_ENTRIES = 5000  # larger nets get a seeded sample of entries checked


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
    x, y = trainer.data.x_train, trainer.data.y_train
    # the nudges below write into the parameters: a copy keeps the live weights untouched
    net = copy.deepcopy(trainer.net)
    t0 = time.perf_counter()
    analytic = _backprop(net, x, y)
    backprop_seconds = time.perf_counter() - t0
    params = net.params
    entries = [(k, i) for k, p in enumerate(params) for i in range(p.size)]
    sampled = len(entries) > max_entries
    if sampled:
        pick = np.random.default_rng(seed).choice(len(entries), max_entries, replace=False)
        entries = [entries[j] for j in np.sort(pick)]
    names = [
        (li, name)
        for li, layer in enumerate(net.layers)
        for name in PARAM_NAMES[: len(layer.params)]
    ]
    rows: list[dict[str, Any]] = []
    ana_all, num_all = [], []
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
                "index": list(np.unravel_index(i, params[k].shape)),
                "backprop": ana,
                "numerical": num,
                "relative_error": rel,
            }
        )
        ana_all.append(ana)
        num_all.append(num)
    numeric_seconds = time.perf_counter() - t0
    a, n = np.asarray(ana_all), np.asarray(num_all)
    denom = float(np.linalg.norm(a) + np.linalg.norm(n))
    overall = float(np.linalg.norm(a - n)) / denom if denom > 0 else 0.0
    for row in rows:
        row["index"] = [int(v) for v in row["index"]]
    return {
        "eps": eps,
        "n_params": sum(p.size for p in params),
        "checked": len(rows),
        "sampled": sampled,
        "relative_error": overall,
        "max_relative_error": max((r["relative_error"] for r in rows), default=0.0),
        "loss_evaluations": 2 * len(rows),
        "backprop_passes": 1,
        "backprop_seconds": backprop_seconds,
        "numerical_seconds": numeric_seconds,
        "entries": rows,
    }
