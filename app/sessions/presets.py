"""Named example configs for lessons and the catalog ("presets").

Each preset is a partial config the engine completes with its defaults; creating a session with
``{"preset": name, "config": {...}}`` merges the caller's keys over the preset's
(``engine.config.merge_config``).
"""

from __future__ import annotations

import copy
from typing import Any

PRESETS: dict[str, dict[str, Any]] = {
    "xor-no-hidden": {
        "doc": "XOR with no hidden layer: a linear boundary cannot pass 75 % accuracy.",
        "config": {
            "dataset": {"name": "xor", "n_samples": 200, "noise": 0.0},
            "hidden": [],
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "xor-2-4-1": {
        "doc": "XOR with one small tanh hidden layer: solvable.",
        "config": {
            "dataset": {"name": "xor", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 4, "activation": "tanh"}],
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "circle-playground": {
        "doc": "TensorFlow Playground's default: circle data, 4-2 tanh hidden layers.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "tanh"}],
            "optimizer": {"name": "sgd", "lr": 0.03},
            "batch_size": 10,
        },
    },
    "spiral-deep": {
        "doc": "Two interleaved spirals need depth, extra features or Adam.",
        "config": {
            "dataset": {"name": "spiral", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "tanh"}] * 3,
            "optimizer": {"name": "adam", "lr": 0.01},
            "batch_size": 10,
        },
    },
    "digits-mlp": {
        "doc": "The Keras MLP: Dense 32-64-128-10 ReLU + softmax on 8x8 digits, 35/15/50 split.",
        "config": {
            "dataset": {"name": "digits", "split": {"train": 0.35, "val": 0.15, "test": 0.5}},
            "hidden": [
                {"units": 32, "activation": "relu"},
                {"units": 64, "activation": "relu"},
                {"units": 128, "activation": "relu"},
            ],
            "init": {"name": "he_uniform"},
            "optimizer": {"name": "sgd", "lr": 0.01},
            "batch_size": 32,
        },
    },
    "vanishing-sigmoid": {
        "doc": "A deep sigmoid net: the first layer's gradients are orders of magnitude smaller.",
        "config": {
            "dataset": {"name": "circle", "n_samples": 500, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "sigmoid"}] * 6,
            "optimizer": {"name": "sgd", "lr": 0.1},
            "batch_size": 10,
        },
    },
    "lr-too-large": {
        "doc": "A learning rate that blows up: the run stops as 'diverged', never NaN.",
        "config": {
            "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 10.0},
            "batch_size": 10,
        },
    },
}


def preset_config(name: str) -> dict[str, Any] | None:
    entry = PRESETS.get(name)
    return None if entry is None else copy.deepcopy(entry["config"])


def catalog() -> list[dict[str, Any]]:
    return [
        {"name": k, "doc": v["doc"], "config": copy.deepcopy(v["config"])}
        for k, v in PRESETS.items()
    ]
