"""Reading a trainer out as JSON-safe numbers: metrics and per-layer snapshots.

Nothing here changes the trainer. Every float leaving the engine passes through
:func:`engine.numbers.finite`, so NaN or ±Infinity can never reach JSON: a non-finite entry (only
possible in the gradients of the very step that diverged) becomes ``None``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.inspect import scores
from engine.numbers import finite
from engine.optim import SecondOrder
from engine.trainer import Trainer

Array = NDArray[np.float64]

INCLUDES = frozenset(
    {"gradients", "updates", "probe", "optimizer", "metrics", "batchnorm", "batch"}
)


def _as_array(arr: Any) -> NDArray[np.float64]:
    return np.ascontiguousarray(arr, dtype=np.float64)


def metrics(trainer: Trainer) -> dict[str, dict[str, Any]]:
    """Per split: eval-mode loss (data loss, no penalty); for classification accuracy and macro
    F1, for regression MAE, RMSE and R² (:mod:`engine.inspect.scores`).

    The per-class precision, recall, F1, support and the confusion matrix come for one split
    only, the held-out one the page shows (test, else val, else train): these rows are stored
    a few times a second, and K × K counts for every split would triple them for nothing.
    """
    data, net = trainer.data, trainer.net
    out: dict[str, dict[str, Any]] = {}
    splits = [
        (split, x, y)
        for split, x, y in (
            ("train", data.x_train, data.y_train),
            ("val", data.x_val, data.y_val),
            ("test", data.x_test, data.y_test),
        )
        if x.shape[0] > 0
    ]
    detailed = splits[-1][0] if splits else None
    for split, x, y in splits:
        z, a = net.evaluate(x)[-1]
        loss = net.loss.value(z if net.loss.on_logits else a, y)
        entry: dict[str, Any] = {"loss": loss if math.isfinite(loss) else 1e308}
        if data.task == "binary":
            entry["accuracy"] = float(np.mean((a > 0.5) == (y > 0.5)))
        elif data.task == "multiclass":
            entry["accuracy"] = float(np.mean(np.argmax(z, axis=1) == y))
        measured = scores.scores(data.task, z if data.task == "multiclass" else a, y)
        if data.task != "regression" and split != detailed:
            measured = {"f1_macro": measured["f1_macro"]}
        entry.update(measured)
        out[split] = entry
    if net.reg_kind != "none":
        out["train"]["penalty"] = net.penalty()
    return out


def _optimizer_state(trainer: Trainer, numbers: Any = finite) -> list[dict[str, Any]]:
    """Optimizer state regrouped per layer: [{"W": {"exp_avg": [[..]], ...}, "b": {...}}]
    (``numbers``: lists, or arrays for the page's frames)."""
    state = trainer.optimizer.state
    out: list[dict[str, Any]] = []
    k = 0
    for layer in trainer.net.layers:
        entry: dict[str, Any] = {}
        for name in layer.param_names:
            entry[name] = (
                {key: numbers(v) for key, v in state[k].items()} if k < len(state) else {}
            )
            k += 1
        out.append(entry)
    return out


def snapshot(
    trainer: Trainer, include: frozenset[str] | set[str] = frozenset(), arrays: bool = False
) -> dict[str, Any]:
    """Weights per layer (W, b, and PReLU's ``alpha``), counters and status; ``include`` adds
    the requested views.

    The numbers come as nested lists with None for non-finite values, or with ``arrays`` as
    float64 NumPy arrays that may be views of the trainer's own (for an encoder that writes
    arrays directly and non-finite values as null; encode before the trainer steps again)."""
    unknown = set(include) - INCLUDES
    if unknown:
        raise ValueError(
            f"include: unknown view {sorted(unknown)[0]!r}; choose from {sorted(INCLUDES)}"
        )
    numbers = _as_array if arrays else finite
    net = trainer.net
    layers: list[dict[str, Any]] = []
    updates = trainer.updates
    k = 0
    for layer in net.layers:
        entry: dict[str, Any] = {
            "W": numbers(layer.W),
            "b": numbers(layer.b),
            "activation": layer.activation.name,
        }
        n = len(layer.params)
        if "gradients" in include:
            entry["dW"], entry["db"] = numbers(layer.dW), numbers(layer.db)
        if "updates" in include:
            entry["dW_update"] = numbers(updates[k])
            entry["db_update"] = numbers(updates[k + 1])
        if "batchnorm" in include and layer.bn is not None:
            bn = layer.bn
            entry["batchnorm"] = {
                "gamma": numbers(bn.gamma),
                "beta": numbers(bn.beta),
                "running_mean": numbers(bn.running_mean),
                "running_var": numbers(bn.running_var),
            }
            if "gradients" in include:
                entry["batchnorm"]["dgamma"] = numbers(bn.dgamma)
                entry["batchnorm"]["dbeta"] = numbers(bn.dbeta)
        act: Any = layer.activation
        if act.learned:  # PReLU's α (1,) or (units,), the layer's last parameter
            entry["alpha"] = numbers(act.alpha)
            if "gradients" in include:
                entry["dalpha"] = numbers(act.dalpha)
            if "updates" in include:
                entry["dalpha_update"] = numbers(updates[k + n - 1])
        if "batch" in include:
            for key in ("x", "z", "a", "delta"):
                entry[f"batch_{key}"] = numbers(getattr(layer, key))
        layers.append(entry)
        k += n
    out: dict[str, Any] = {
        "status": trainer.status,
        "divergence": trainer.divergence,
        "iteration": trainer.iteration,
        "epoch": trainer.epoch,
        "samples_seen": trainer.samples_seen,
        "iterations_per_epoch": trainer.iterations_per_epoch,
        "epoch_samples": trainer.epoch_samples,
        "iterations_left": trainer.iterations_left,
        "batch_size": trainer.batch_size,
        "n_train": trainer.n_train,
        "phase": trainer.phase,
        "last_phase": trainer.last_phase,
        "loss": finite(trainer.loss),
        "penalty": finite(trainer.penalty_value),
        "lr": finite(trainer.lr),
        "grad_norm": finite(trainer.grad_norm),
        # what the last lbfgs / newton step did (evaluations; newton's Hessian readout), else None
        "second_order": second_order(trainer),
        "layers": layers,
    }
    if "probe" in include:
        out["probe"] = probe(trainer)
    if "optimizer" in include:
        out["optimizer"] = {
            "name": trainer.optimizer.name,
            "t": trainer.optimizer.t,
            "layers": _optimizer_state(trainer, numbers),
        }
    if "metrics" in include:
        out["metrics"] = metrics(trainer)
    return out


def second_order(trainer: Trainer) -> dict[str, Any] | None:
    """The last second-order step's record entries: ``n_evals`` (loss evaluations), and for
    newton ``accepted``, ``damping`` λ, the Hessian's ``eig_min``, ``eig_max`` and
    ``condition`` (max|μ| / min|μ|); {} before the first step, None for other optimizers."""
    opt = trainer.optimizer
    return finite(dict(opt.last_info)) if isinstance(opt, SecondOrder) else None


def probe_index(trainer: Trainer) -> int:
    """The training example the probe views follow (config ``probe``, wrapped to the set)."""
    return int(trainer.config["probe"] % trainer.n_train)


def probe(trainer: Trainer) -> dict[str, Any]:
    """The chosen training example's own forward/backward numbers, per layer."""
    data = trainer.data
    index = probe_index(trainer)
    x = data.x_train[index : index + 1]
    y = data.y_train[index : index + 1]
    records = trainer.net.trace(x, y)
    net = trainer.net
    z, a = records[-1]["z"], records[-1]["a"]
    loss = net.loss.value(z if net.loss.on_logits else a, y)
    return {
        "index": int(index),
        "input": finite(x[0]),
        "target": np.asarray(y[0]).tolist(),
        "loss": finite(loss),
        "layers": [
            {
                key: finite(rec[key][0] if rec[key].ndim == 2 and key != "dW" else rec[key])
                for key in ("z", "a", "delta", "dW", "db")
            }
            for rec in records
        ],
    }
