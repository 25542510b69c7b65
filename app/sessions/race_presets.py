"""Named races for the curriculum's comparisons (``POST /api/races {"preset": name}``).

Each preset is a base config and 2–4 runs ``{"name", "changes"}`` (partial configs merged over
the base, app/sessions/races.py). The runs change one thing, so the race shows that thing:

- ``optimizers``: SGD, Momentum 0.9, RMSProp and Adam at one rate on an ill-conditioned linear
  regression (the second input's scale is 10× the first's, so the loss is a long narrow valley:
  curvature about 100× larger across it than along it); plain SGD's rate is bounded by the
  steep direction and crawls along the flat one, momentum and the adaptive methods do not.
- ``learning-rate``: 1e-3 (crawls), 1e-1 (good), 10 (diverges) on a regression net.
- ``batch-size``: 1 (noisy), 16, full batch (smooth, one step per epoch).
- ``activations``: sigmoid (vanishing gradients) vs ReLU with He init on the deep net.
- ``regularization``: none, L2, dropout on a small noisy set a wide net overfits.
- ``batch-norm``: off and on at a high rate (lr 1: without it the deep ReLU net stalls).
"""

from __future__ import annotations

import copy
from typing import Any

_GRID = [-1 + 2 * i / 11 for i in range(12)]
# y = 2·x1 − 0.03·x2 + 0.5 with x2 = 10·b: inputs on scales 1 and 10, not standardised
ILL_CONDITIONED = {
    "name": "inline",
    "x": [[a, 10 * b] for a in _GRID for b in _GRID],
    "y": [2 * a - 0.3 * b + 0.5 for a in _GRID for b in _GRID],
    "standardize": False,
    "standardize_target": False,
}
DEEP = [{"units": 8, "activation": "sigmoid"}] * 6
DEEP_RELU = [{"units": 8, "activation": "relu"}] * 6


def _sgd(lr: float, **more: Any) -> dict[str, Any]:
    return {"optimizer": {"name": "sgd", "lr": lr, **more}}


RACE_PRESETS: dict[str, dict[str, Any]] = {
    "optimizers": {
        "doc": "SGD, Momentum 0.9, RMSProp and Adam at lr 0.01 on an ill-conditioned regression.",
        "config": {
            "dataset": ILL_CONDITIONED,
            "hidden": [],
            "loss": "mse",
            "batch_size": 16,
            "optimizer": {"name": "sgd", "lr": 0.01},
        },
        "runs": [
            {"name": "SGD", "changes": _sgd(0.01)},
            {"name": "Momentum 0.9", "changes": _sgd(0.01, momentum=0.9)},
            {"name": "RMSProp", "changes": {"optimizer": {"name": "rmsprop", "lr": 0.01}}},
            {"name": "Adam", "changes": {"optimizer": {"name": "adam", "lr": 0.01}}},
        ],
    },
    "learning-rate": {
        "doc": "A regression net at learning rates 1e-3, 1e-1 and 10: too small, good, too large.",
        "config": {
            "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "tanh"}],
            "batch_size": 10,
            "optimizer": {"name": "sgd", "lr": 0.1},
        },
        "runs": [
            {"name": "lr 0.001", "changes": _sgd(0.001)},
            {"name": "lr 0.1", "changes": _sgd(0.1)},
            {"name": "lr 10", "changes": _sgd(10.0)},
        ],
    },
    "batch-size": {
        "doc": "Batch 1 (noisy steps), 16, and the full training set (one step per epoch).",
        "config": {
            "dataset": {"name": "gaussians", "n_samples": 300, "noise": 0.0},
            "hidden": [{"units": 4, "activation": "tanh"}],
            "optimizer": {"name": "sgd", "lr": 0.05},
        },
        "runs": [
            {"name": "batch 1", "changes": {"batch_size": 1}},
            {"name": "batch 16", "changes": {"batch_size": 16}},
            {"name": "full batch", "changes": {"batch_size": 1000}},  # ≥ its 210 training rows
        ],
    },
    "activations": {
        "doc": "A 6-layer net: sigmoid (its gradients vanish) vs ReLU with He init.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": DEEP,
            "batch_size": 10,
            "optimizer": {"name": "sgd", "lr": 0.1},
        },
        "runs": [
            {"name": "sigmoid", "changes": {}},
            {"name": "ReLU + He", "changes": {"hidden": DEEP_RELU, "init": {"name": "he_uniform"}}},
        ],
    },
    "regularization": {
        "doc": "A wide net on 60 noisy points: none (overfits), L2 1e-3, dropout 0.3.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 60, "noise": 0.3},
            "hidden": [{"units": 32, "activation": "relu"}, {"units": 32, "activation": "relu"}],
            "init": {"name": "he_uniform"},
            "batch_size": 10,
            "optimizer": {"name": "adam", "lr": 0.01},
        },
        "runs": [
            {"name": "none", "changes": {}},
            {"name": "L2 0.001", "changes": {"regularization": {"kind": "l2", "rate": 0.001}}},
            {
                "name": "dropout 0.3",
                "changes": {"dropout": 0.3},
            },
        ],
    },
    "batch-norm": {
        "doc": "A 4-layer ReLU net at a high rate (lr 1): batch norm off (stuck) and on.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}] * 4,
            "init": {"name": "he_uniform"},
            "batch_size": 16,
            "optimizer": {"name": "sgd", "lr": 1.0},
        },
        "runs": [
            {"name": "no batch norm", "changes": {}},
            {
                "name": "batch norm",
                "changes": {"batchnorm": True},
            },
        ],
    },
}


def race_preset(name: str) -> dict[str, Any] | None:
    """A copy of the preset ``{"doc", "config", "runs"}``, or None."""
    entry = RACE_PRESETS.get(name)
    return None if entry is None else copy.deepcopy(entry)


def catalog() -> list[dict[str, Any]]:
    return [{"name": k, **copy.deepcopy(v)} for k, v in RACE_PRESETS.items()]


def optimizer_runs(lr: float) -> list[dict[str, Any]]:
    """The optimizers race's runs at the rate ``lr``: the main page's "race this config"."""
    return [
        {"name": "SGD", "changes": _sgd(lr)},
        {"name": "Momentum 0.9", "changes": _sgd(lr, momentum=0.9)},
        {"name": "RMSProp", "changes": {"optimizer": {"name": "rmsprop", "lr": lr}}},
        {"name": "Adam", "changes": {"optimizer": {"name": "adam", "lr": lr}}},
    ]
