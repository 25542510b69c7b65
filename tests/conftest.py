"""Shared test helpers."""

from __future__ import annotations

from typing import Any

ALL_TRAIN = {"train": 1.0, "val": 0.0, "test": 0.0}
XOR_POINTS = {
    "name": "inline",
    "x": [[0, 0], [0, 1], [1, 0], [1, 1]],
    "y": [0, 1, 1, 0],
    "split": ALL_TRAIN,
}


def small_config(**overrides: Any) -> dict[str, Any]:
    """A small, fast 2-D classification run; keyword arguments replace top-level keys."""
    config: dict[str, Any] = {
        "dataset": {
            "name": "circle",
            "n_samples": 100,
            "noise": 0.1,
            "seed": 3,
            "split": {"train": 0.6, "val": 0.2, "test": 0.2},
        },
        "hidden": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "tanh"}],
        "optimizer": {"name": "sgd", "lr": 0.1},
        "batch_size": 10,
        "seed": 7,
    }
    config.update(overrides)
    return config
