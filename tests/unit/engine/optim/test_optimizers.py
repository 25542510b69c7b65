"""Optimizers against two steps worked out by hand from torch.optim's documented pseudo-code.

Unless a case says otherwise: one scalar parameter θ₀ = 1.0, gradients g₁ = 0.5 then
g₂ = -0.25, learning rate γ = 0.1. The expected values are written as the arithmetic of the
documented update rule, with numbers, never via engine code.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest
from optimtools import LR, check, state, two_steps

from engine.optim import OPTIMIZERS, clip_grad_norm


# -- SGD -------------------------------------------------------------------------------------
def test_sgd_plain() -> None:
    opt, thetas = two_steps("sgd", {})
    check(thetas, 1.0 - 0.1 * 0.5, 0.95 - 0.1 * -0.25)  # 0.95, 0.975
    assert opt.state[0] == {}


def test_sgd_momentum() -> None:
    opt, thetas = two_steps("sgd", {"momentum": 0.9})
    # b₁ = g₁ = 0.5 (the buffer starts as the first gradient); b₂ = 0.9·0.5 − 0.25 = 0.2
    check(thetas, 1.0 - 0.1 * 0.5, 0.95 - 0.1 * (0.9 * 0.5 + -0.25))  # 0.95, 0.93
    assert state(opt, "momentum_buffer") == pytest.approx(0.2, rel=1e-15)


def test_sgd_dampening() -> None:
    opt, thetas = two_steps("sgd", {"momentum": 0.9, "dampening": 0.5})
    # b₁ = g₁ = 0.5 undamped; b₂ = 0.9·0.5 + (1 − 0.5)·(−0.25) = 0.325
    check(thetas, 1.0 - 0.1 * 0.5, 0.95 - 0.1 * (0.9 * 0.5 + 0.5 * -0.25))  # 0.95, 0.9175


def test_sgd_nesterov() -> None:
    opt, thetas = two_steps("sgd", {"momentum": 0.9, "nesterov": True})
    # b₁ = 0.5, g = 0.5 + 0.9·0.5 = 0.95; b₂ = 0.2, g = −0.25 + 0.9·0.2 = −0.07
    check(thetas, 1.0 - 0.1 * (0.5 + 0.9 * 0.5), 0.905 - 0.1 * (-0.25 + 0.9 * 0.2))  # .905, .912
    assert state(opt, "momentum_buffer") == pytest.approx(0.2, rel=1e-15)


def test_sgd_weight_decay() -> None:
    opt, thetas = two_steps("sgd", {"weight_decay": 0.1})
    # g₁ = 0.5 + 0.1·1.0 = 0.6; g₂ = −0.25 + 0.1·0.94 = −0.156
    check(thetas, 1.0 - 0.1 * 0.6, 0.94 - 0.1 * (-0.25 + 0.1 * 0.94))  # 0.94, 0.9556


def test_sgd_weight_decay_with_momentum() -> None:
    opt, thetas = two_steps("sgd", {"weight_decay": 0.1, "momentum": 0.9})
    # b₁ = 0.6 (decayed gradient); b₂ = 0.9·0.6 + (−0.25 + 0.1·0.94) = 0.384
    check(thetas, 1.0 - 0.1 * 0.6, 0.94 - 0.1 * (0.9 * 0.6 + (-0.25 + 0.1 * 0.94)))  # .94, .9016


# -- Adagrad (ε = 1e-10) -----------------------------------------------------------------------
def test_adagrad_plain() -> None:
    opt, thetas = two_steps("adagrad", {})
    # sum₁ = 0.25, sum₂ = 0.25 + 0.0625 = 0.3125
    t1 = 1.0 - 0.1 * 0.5 / (math.sqrt(0.25) + 1e-10)
    check(thetas, t1, t1 - 0.1 * -0.25 / (math.sqrt(0.3125) + 1e-10))
    assert state(opt, "sum") == pytest.approx(0.3125, rel=1e-15)


def test_adagrad_lr_decay() -> None:
    opt, thetas = two_steps("adagrad", {"lr_decay": 0.5})
    # γ̃₁ = 0.1 / (1 + 0·0.5) = 0.1; γ̃₂ = 0.1 / (1 + 1·0.5)
    t1 = 1.0 - 0.1 * 0.5 / (math.sqrt(0.25) + 1e-10)
    check(thetas, t1, t1 - (0.1 / 1.5) * -0.25 / (math.sqrt(0.3125) + 1e-10))


def test_adagrad_initial_accumulator_value() -> None:
    opt, thetas = two_steps("adagrad", {"initial_accumulator_value": 0.75})
    # sum₁ = 0.75 + 0.25 = 1.0; sum₂ = 1.0 + 0.0625 = 1.0625
    t1 = 1.0 - 0.1 * 0.5 / (math.sqrt(1.0) + 1e-10)
    check(thetas, t1, t1 - 0.1 * -0.25 / (math.sqrt(1.0625) + 1e-10))
    assert state(opt, "sum") == pytest.approx(1.0625, rel=1e-15)


def test_adagrad_weight_decay() -> None:
    opt, thetas = two_steps("adagrad", {"weight_decay": 0.1})
    # g₁ = 0.6, sum₁ = 0.36; g₂ = −0.25 + 0.1·θ₁, sum₂ = 0.36 + g₂²
    t1 = 1.0 - 0.1 * 0.6 / (math.sqrt(0.36) + 1e-10)
    g2 = -0.25 + 0.1 * t1
    check(thetas, t1, t1 - 0.1 * g2 / (math.sqrt(0.36 + g2 * g2) + 1e-10))


# -- properties of every optimizer and option -------------------------------------------------
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("sgd", {}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr_decay": 0.1, "initial_accumulator_value": 0.2, "weight_decay": 0.1}),
    ("rmsprop", {}),
    ("rmsprop", {"momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1, "beta2": 0.9}),
    ("adamw", {}),
    ("adamw", {"amsgrad": True}),
]
IDS = [f"{n}-{'-'.join(p)}" if p else n for n, p in CONFIGS]
SHAPES = [(2, 3), (3,), (3, 1), (1,)]


def problem(seed: int) -> tuple[list[np.ndarray], list[list[np.ndarray]]]:
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=s) for s in SHAPES]
    grads = [[rng.normal(size=s) for s in SHAPES] for _ in range(4)]
    return params, grads


@pytest.mark.parametrize(("name", "hp"), CONFIGS, ids=IDS)
def test_deltas_are_exact_changes_and_grads_untouched(name: str, hp: dict[str, Any]) -> None:
    params, grads = problem(0)
    opt = OPTIMIZERS.create(name, hp)
    for gs in grads:
        before = [p.copy() for p in params]
        saved = [g.copy() for g in gs]
        deltas = opt.step(params, gs, 0.05)
        for p, old, d, g, g0 in zip(params, before, deltas, gs, saved, strict=True):
            assert d.shape == p.shape
            np.testing.assert_array_equal(d, p - old)
            np.testing.assert_array_equal(g, g0)
            assert not np.shares_memory(d, p) and not np.shares_memory(d, g)
    assert opt.t == len(grads)


@pytest.mark.parametrize(("name", "hp"), CONFIGS, ids=IDS)
def test_each_parameter_updates_independently(name: str, hp: dict[str, Any]) -> None:
    """Stepping all parameters together equals stepping each alone (the rules are elementwise)."""
    together, grads = problem(1)
    alone = [p.copy() for p in together]
    opt = OPTIMIZERS.create(name, hp)
    singles = [OPTIMIZERS.create(name, hp) for _ in alone]
    for gs in grads:
        opt.step(together, gs, 0.05)
        for single, p, g in zip(singles, alone, gs, strict=True):
            single.step([p], [g], 0.05)
    for i, (p, single) in enumerate(zip(alone, singles, strict=True)):
        np.testing.assert_array_equal(together[i], p)
        assert opt.state[i].keys() == single.state[0].keys()
        for key, value in opt.state[i].items():
            assert value.shape == p.shape
            np.testing.assert_array_equal(value, single.state[0][key])


@pytest.mark.parametrize(("name", "hp"), CONFIGS, ids=IDS)
def test_state_dict_round_trip_continues_identically(name: str, hp: dict[str, Any]) -> None:
    params, grads = problem(2)
    opt = OPTIMIZERS.create(name, hp)
    for gs in grads[:2]:
        opt.step(params, gs, 0.05)
    saved = json.loads(json.dumps(opt.state_dict(), allow_nan=False))
    restored = OPTIMIZERS.create(name)  # defaults: the hparams come from the state dict
    restored.load_state_dict(saved)
    assert restored.state_dict() == opt.state_dict()
    assert saved["shapes"] == [list(s) for s in SHAPES]
    copies = [p.copy() for p in params]
    for gs in grads[2:]:
        d1 = opt.step(params, gs, 0.05)
        d2 = restored.step(copies, gs, 0.05)
        for a, b in zip(d1 + params, d2 + copies, strict=True):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(("name", "hp"), CONFIGS, ids=IDS)
def test_set_hparams_keeps_state(name: str, hp: dict[str, Any]) -> None:
    params, grads = problem(3)
    opt = OPTIMIZERS.create(name, hp)
    opt.step(params, grads[0], 0.05)
    before = {k: v.copy() for k, v in opt.state[0].items()}
    opt.set_hparams({"lr": 0.5, "weight_decay": 0.2})
    assert opt.hparams["lr"] == 0.5 and opt.hparams["weight_decay"] == 0.2
    assert opt.t == 1 and opt.state[0].keys() == before.keys()
    for key, value in before.items():
        np.testing.assert_array_equal(opt.state[0][key], value)


def test_set_hparams_changes_the_rule_live() -> None:
    opt = OPTIMIZERS.create("sgd", {"momentum": 0.9})
    p = np.array([1.0])
    opt.step([p], [np.array([0.5])], LR)  # b₁ = 0.5, θ₁ = 0.95
    opt.set_hparams({"momentum": 0.5})
    opt.step([p], [np.array([-0.25])], LR)  # b₂ = 0.5·0.5 − 0.25 = 0
    assert p[0] == pytest.approx(0.95 - 0.1 * (0.5 * 0.5 + -0.25), rel=1e-15)


def test_switching_on_amsgrad_and_momentum_mid_run() -> None:
    adam = OPTIMIZERS.create("adam", {})
    p = np.array([1.0, 2.0])
    adam.step([p], [np.array([0.5, -1.0])], LR)
    adam.set_hparams({"amsgrad": True})  # vmax starts at 0, as in torch's initial state
    adam.step([p], [np.array([0.1, 0.2])], LR)
    np.testing.assert_array_equal(adam.state[0]["max_exp_avg_sq"], adam.state[0]["exp_avg_sq"])
    sgd = OPTIMIZERS.create("sgd", {})
    sgd.step([p], [np.array([0.5, -1.0])], LR)
    sgd.set_hparams({"momentum": 0.9})  # the buffer starts as the next gradient
    sgd.step([p], [np.array([0.1, 0.2])], LR)
    np.testing.assert_array_equal(sgd.state[0]["momentum_buffer"], [0.1, 0.2])


# -- defaults and validation -------------------------------------------------------------------
def test_defaults_are_torchs() -> None:
    assert OPTIMIZERS.names() == [
        "sgd",
        "adagrad",
        "rmsprop",
        "adam",
        "adamw",
        "lbfgs",
        "newton",
    ]
    assert OPTIMIZERS.defaults("sgd") == {
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
    }
    assert OPTIMIZERS.defaults("adagrad") == {
        "lr": 1e-2,
        "lr_decay": 0.0,
        "weight_decay": 0.0,
        "initial_accumulator_value": 0.0,
        "eps": 1e-10,
    }
    assert OPTIMIZERS.defaults("rmsprop") == {
        "lr": 1e-2,
        "alpha": 0.99,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "momentum": 0.0,
        "centered": False,
    }
    adam = {
        "lr": 1e-3,
        "beta1": 0.9,
        "beta2": 0.999,
        "eps": 1e-8,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert OPTIMIZERS.defaults("adam") == adam
    assert OPTIMIZERS.defaults("adamw") == {**adam, "weight_decay": 1e-2}
    assert OPTIMIZERS.create("adamw").hparams == {**adam, "weight_decay": 1e-2}
    assert OPTIMIZERS.defaults("lbfgs") == {  # torch.optim.LBFGS's signature
        "lr": 1.0,
        "max_iter": 20,
        "max_eval": None,
        "tolerance_grad": 1e-7,
        "tolerance_change": 1e-9,
        "history_size": 100,
        "line_search_fn": None,
    }
    assert [e["name"] for e in OPTIMIZERS.catalog()] == OPTIMIZERS.names()


INVALID = [
    ("sgd", "lr", -1.0),
    ("sgd", "lr", 0.0),
    ("sgd", "momentum", -0.1),
    ("sgd", "dampening", 1.5),
    ("sgd", "weight_decay", -1e-3),
    ("sgd", "nesterov", "yes"),
    ("adagrad", "lr_decay", -0.1),
    ("adagrad", "initial_accumulator_value", -1.0),
    ("adagrad", "eps", -1e-10),
    ("rmsprop", "alpha", -0.5),
    ("rmsprop", "alpha", 1.5),
    ("rmsprop", "momentum", -1.0),
    ("rmsprop", "eps", 0.0),
    ("rmsprop", "centered", 1),
    ("adam", "beta1", 1.0),
    ("adam", "beta1", -0.1),
    ("adam", "beta2", 1.0),
    ("adam", "eps", -1.0),
    ("adam", "weight_decay", -0.1),
    ("adam", "lr", math.nan),
    ("adamw", "beta2", 1.5),
    ("adamw", "amsgrad", None),
    ("adam", "momentum", 0.9),  # not a parameter of adam
]


@pytest.mark.parametrize(("name", "key", "value"), INVALID)
def test_invalid_params_raise_naming_the_key(name: str, key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=f"{name}.*{key}"):
        OPTIMIZERS.create(name, {key: value})
    opt = OPTIMIZERS.create(name)
    before = dict(opt.hparams)
    with pytest.raises(ValueError, match=key):
        opt.set_hparams({key: value})
    assert opt.hparams == before


@pytest.mark.parametrize(
    "hp", [{"nesterov": True}, {"nesterov": True, "momentum": 0.9, "dampening": 0.1}]
)
def test_nesterov_needs_momentum_and_no_dampening(hp: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="nesterov"):
        OPTIMIZERS.create("sgd", hp)
    opt = OPTIMIZERS.create("sgd", {"momentum": 0.9, "nesterov": True})
    with pytest.raises(ValueError, match="nesterov"):
        opt.set_hparams({"momentum": 0.0})
    assert opt.hparams["momentum"] == 0.9


def test_unknown_optimizer() -> None:
    with pytest.raises(ValueError, match="'lion'"):
        OPTIMIZERS.create("lion")


def good_state_dict() -> dict[str, Any]:
    opt = OPTIMIZERS.create("adam")
    opt.step([np.ones((2, 2)), np.ones(2)], [np.ones((2, 2)), np.ones(2)], LR)
    return opt.state_dict()


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"name": "sgd"}, "name"),
        ({"t": -1}, "t"),
        ({"t": 1.5}, "t"),
        ({"hparams": {"beta1": 2.0}}, "beta1"),
        ({"shapes": [[2, 2], [-2]]}, "shapes"),
        ({"shapes": [[2, 2]]}, "state"),
        (
            {"state": [{"exp_avg": [0.0] * 4}, {"exp_avg": [0.0] * 2, "exp_avg_sq": [0.0] * 2}]},
            r"state\[1\]",
        ),
        (
            {"state": [{"momentum_buffer": [0.0] * 4}, {"momentum_buffer": [0.0] * 2}]},
            "momentum_buffer",
        ),
    ],
)
def test_load_state_dict_rejects_bad_input(change: dict[str, Any], match: str) -> None:
    opt = OPTIMIZERS.create("adam")
    with pytest.raises(ValueError, match=match):
        opt.load_state_dict({**good_state_dict(), **change})
    assert opt.t == 0 and opt.state == []


def test_load_state_dict_rejects_wrong_lengths_and_missing_keys() -> None:
    d = good_state_dict()
    d["state"][1]["exp_avg"] = [0.0, 1.0, 2.0]
    with pytest.raises(ValueError, match=r"state\[1\]\['exp_avg'\].*2 finite"):
        OPTIMIZERS.create("adam").load_state_dict(d)
    with pytest.raises(ValueError, match="missing 'shapes'"):
        OPTIMIZERS.create("adam").load_state_dict(
            {"name": "adam", "hparams": {}, "t": 0, "state": []}
        )


# -- clip_grad_norm ----------------------------------------------------------------------------
def test_clip_grad_norm_scales_in_place() -> None:
    grads = [np.array([[3.0, 4.0]]), np.array([12.0])]  # ‖g‖ = √(9 + 16 + 144) = 13
    total = clip_grad_norm(grads, 6.5)
    assert total == 13.0
    coef = 6.5 / (13.0 + 1e-6)
    np.testing.assert_allclose(grads[0], [[3.0 * coef, 4.0 * coef]], rtol=1e-15)
    np.testing.assert_allclose(grads[1], [12.0 * coef], rtol=1e-15)


def test_clip_grad_norm_below_the_limit_leaves_grads() -> None:
    grads = [np.array([3.0, 4.0])]
    assert clip_grad_norm(grads, 5.0 + 1e-6) == 5.0  # coef = 1 exactly: clamped, no change
    assert clip_grad_norm(grads, 100.0) == 5.0
    np.testing.assert_array_equal(grads[0], [3.0, 4.0])


def test_clip_grad_norm_non_finite_and_invalid() -> None:
    grads = [np.array([np.inf, 1.0])]
    assert clip_grad_norm(grads, 1.0) == math.inf
    np.testing.assert_array_equal(grads[0], [np.inf, 1.0])
    for bad in (0.0, -1.0, math.nan):
        with pytest.raises(ValueError, match="max_norm"):
            clip_grad_norm([np.ones(2)], bad)
