"""Schedules against hand-computed rates and against torch's per-epoch (recursive) rules."""

from __future__ import annotations

import math
from typing import Any

import pytest

from engine.optim import SCHEDULES

BASE = 0.1


def test_catalog_and_defaults() -> None:
    assert SCHEDULES.names() == ["constant", "step", "exponential", "cosine"]
    assert SCHEDULES.defaults("constant") == {}
    assert SCHEDULES.defaults("step") == {"step_size": 10, "gamma": 0.1}
    assert SCHEDULES.defaults("exponential") == {"gamma": 0.95}
    assert SCHEDULES.defaults("cosine") == {"t_max": 50, "eta_min": 0.0}


def test_constant() -> None:
    sched = SCHEDULES.create("constant")
    assert [sched.lr(BASE, e) for e in (0, 1, 7, 10_000)] == [0.1, 0.1, 0.1, 0.1]


def test_step_by_hand() -> None:
    sched = SCHEDULES.create("step", {"step_size": 3, "gamma": 0.5})
    expected = {0: 0.1, 1: 0.1, 2: 0.1, 3: 0.05, 5: 0.05, 6: 0.025, 10: 0.1 * 0.5 * 0.5 * 0.5}
    for epoch, lr in expected.items():
        assert sched.lr(BASE, epoch) == pytest.approx(lr, rel=1e-15)
    default = SCHEDULES.create("step")  # step_size 10, gamma 0.1: epoch 25 → 0.1·0.1²
    assert default.lr(BASE, 25) == pytest.approx(0.1 * 0.1 * 0.1, rel=1e-15)
    assert default.lr(BASE, 9) == BASE


def test_exponential_by_hand() -> None:
    sched = SCHEDULES.create("exponential", {"gamma": 0.5})
    assert [sched.lr(BASE, e) for e in (0, 1, 3)] == pytest.approx([0.1, 0.05, 0.0125], rel=1e-15)
    assert SCHEDULES.create("exponential").lr(BASE, 2) == pytest.approx(0.1 * 0.95 * 0.95)
    assert sched.lr(BASE, 100_000) == 0.0  # underflows quietly, never raises


def test_cosine_by_hand() -> None:
    sched = SCHEDULES.create("cosine", {"t_max": 4, "eta_min": 0.01})
    # η_min + (0.1 − 0.01)(1 + cos(π e / 4)) / 2
    expected = {
        0: 0.1,
        1: 0.01 + 0.09 * (1 + math.sqrt(2) / 2) / 2,
        2: 0.01 + 0.09 * 0.5,  # cos(π/2) = 0
        3: 0.01 + 0.09 * (1 - math.sqrt(2) / 2) / 2,
        4: 0.01,
        6: 0.055,  # past T_max it rises again, as torch's does
        8: 0.1,
    }
    for epoch, lr in expected.items():
        assert sched.lr(BASE, epoch) == pytest.approx(lr, rel=1e-14, abs=1e-17)


def test_step_and_exponential_match_torch_recursive_rules() -> None:
    # torch StepLR: multiply by γ whenever epoch % step_size == 0; ExponentialLR: every epoch
    step = SCHEDULES.create("step", {"step_size": 4, "gamma": 0.3})
    exp = SCHEDULES.create("exponential", {"gamma": 0.8})
    lr_step = lr_exp = BASE
    for epoch in range(1, 40):
        if epoch % 4 == 0:
            lr_step *= 0.3
        lr_exp *= 0.8
        assert step.lr(BASE, epoch) == pytest.approx(lr_step, rel=1e-13)
        assert exp.lr(BASE, epoch) == pytest.approx(lr_exp, rel=1e-13)


def test_cosine_matches_torch_recursive_rule() -> None:
    """torch's CosineAnnealingLR.get_lr recursion, stepped once per epoch for three periods."""
    t_max, eta_min = 5, 0.002
    sched = SCHEDULES.create("cosine", {"t_max": t_max, "eta_min": eta_min})
    lr = BASE
    for t_cur in range(0, 3 * t_max):
        if (t_cur + 1 - 1 - t_max) % (2 * t_max) == 0:
            lr = lr + (BASE - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
        else:
            lr = eta_min + (lr - eta_min) * (1 + math.cos(math.pi * (t_cur + 1) / t_max)) / (
                1 + math.cos(math.pi * t_cur / t_max)
            )
        assert sched.lr(BASE, t_cur + 1) == pytest.approx(lr, rel=1e-9, abs=1e-15)


def test_hparams_round_trip() -> None:
    cases: list[tuple[str, dict[str, Any]]] = [
        ("step", {"step_size": 2, "gamma": 0.5}),
        ("cosine", {"t_max": 3}),
    ]
    for name, hp in cases:
        sched = SCHEDULES.create(name, hp)
        again = SCHEDULES.create(name, sched.hparams)
        assert [again.lr(BASE, e) for e in range(9)] == [sched.lr(BASE, e) for e in range(9)]


@pytest.mark.parametrize(
    ("name", "params", "key"),
    [
        ("step", {"step_size": 0}, "step_size"),
        ("step", {"step_size": 2.5}, "step_size"),
        ("step", {"gamma": 0.0}, "gamma"),
        ("step", {"gamma": 1.5}, "gamma"),
        ("exponential", {"gamma": -0.5}, "gamma"),
        ("exponential", {"gamma": "fast"}, "gamma"),
        ("cosine", {"t_max": 0}, "t_max"),
        ("cosine", {"eta_min": -0.1}, "eta_min"),
        ("cosine", {"eta_min": math.inf}, "eta_min"),
        ("constant", {"gamma": 0.5}, "gamma"),
    ],
)
def test_invalid_params_raise_naming_the_key(name: str, params: dict[str, Any], key: str) -> None:
    with pytest.raises(ValueError, match=f"{name}.*{key}"):
        SCHEDULES.create(name, params)


def test_unknown_schedule() -> None:
    with pytest.raises(ValueError, match="'cyclic'"):
        SCHEDULES.create("cyclic")
