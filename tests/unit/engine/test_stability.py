"""engine/stability.py: after a divergence, the smaller rate offered is one that was tried from
the same start and stayed finite, where the rungs above it diverged."""

from __future__ import annotations

import copy
from typing import Any

from engine.config import normalize_config
from engine.stability import rung, stable_rate
from engine.trainer import Trainer

STEEP = {  # lr-too-large: ReLU regression on a plane at lr 10
    "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
    "hidden": [{"units": 8, "activation": "relu"}],
    "optimizer": {"name": "sgd", "lr": 10.0},
    "batch_size": 10,
}


def diverges(config: dict[str, Any], lr: float, iterations: int) -> bool:
    cfg = copy.deepcopy(config)
    cfg["optimizer"]["lr"] = lr
    t = Trainer(cfg)
    t.step(iterations)
    return t.status == "diverged"


def test_offers_the_first_rung_that_stays_finite() -> None:
    config = normalize_config(STEEP)
    assert diverges(config, 10.0, 200)
    ladder = stable_rate(config, 10.0)
    assert ladder.stable is not None and ladder.offer == ladder.stable
    assert ladder.diverged == [rung(10.0, k) for k in range(1, len(ladder.diverged) + 1)]
    assert ladder.diverged, "a tenth of a rate this steep diverges too"
    assert not diverges(config, ladder.stable, ladder.iterations)  # checked independently
    for lr in ladder.diverged:
        assert diverges(config, lr, ladder.iterations)
    assert ladder.stable == rung(10.0, len(ladder.diverged) + 1)


def test_a_stable_first_rung_is_offered_without_more_tries() -> None:
    config = normalize_config(dict(STEEP, optimizer={"name": "sgd", "lr": 0.1}))
    ladder = stable_rate(config, 0.1)
    assert ladder.stable == 0.01 and ladder.diverged == []


def test_bounded_by_rungs_and_time() -> None:
    config = normalize_config(STEEP)
    ladder = stable_rate(config, 1e6, rungs=2)
    assert ladder.stable is None and ladder.diverged == [1e5, 1e4]
    assert ladder.offer == 1e3  # one below the last rung tried
    ladder = stable_rate(config, 1e6, budget_s=0.0)
    assert ladder.diverged == [1e5]  # the first rung, then out of time


def test_rungs_keep_three_significant_digits() -> None:
    assert rung(0.123456, 1) == 0.0123
    assert rung(3.0, 2) == 0.03
