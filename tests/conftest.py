"""Shared test helpers, and the markers a test gets from its folder.

``tests/unit/`` mirrors ``engine/`` and ``app/`` (in-process, no server or worker process);
``tests/system/`` starts real servers or worker processes, kills or signals them, fills disks
(marked ``system``); ``tests/browser/`` drives Chromium (marked ``browser``). Unit and system
tests that take more than about 2 s carry ``@pytest.mark.slow`` themselves; ``make test-fast``
leaves out ``slow`` and ``browser``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parent
FOLDER_MARKS = {"system": pytest.mark.system, "browser": pytest.mark.browser}


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("BPP_TEST_FANOUT"):  # the suites against the Redis fan-out (redistools)
        import redistools

        redistools.switch_on()
    if os.environ.get("BPP_TEST_BACKEND"):  # ... and in Ray actors (raytools)
        import raytools

        raytools.switch_on()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        folder = item.path.relative_to(TESTS).parts[0]
        if folder in FOLDER_MARKS:
            item.add_marker(FOLDER_MARKS[folder])

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
