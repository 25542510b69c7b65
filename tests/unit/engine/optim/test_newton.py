"""newton: its step against numpy.linalg.solve on a finite-difference Hessian, Levenberg–Marquardt
damping, the Hessian readout, refusals and checkpoints."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from optimtools import central_difference

from engine.activations import ACTIVATIONS, Activation
from engine.config import ConfigError
from engine.hessian import unsupported
from engine.losses import LOSSES
from engine.objective import BatchObjective
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN


def _config(optimizer: dict[str, Any], **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "dataset": {"name": "circle", "n_samples": 30, "noise": 0.1, "seed": 3, "split": ALL_TRAIN},
        "hidden": [{"units": 3, "activation": "tanh"}, {"units": 2, "activation": "tanh"}],
        "optimizer": {"name": "newton", **optimizer},
        "batch_size": 30,
        "seed": 5,
    }
    cfg.update(over)
    return cfg


def _before_update(t: Trainer) -> BatchObjective:
    """Run the phases up to the update; the objective of the batch they drew."""
    while t.phase["phase"] != "update":
        t.step_phase()
    return BatchObjective(t.net, t._xb, t._yb)


def test_step_is_the_damped_newton_solve_on_the_hessian() -> None:
    lam, lr = 0.05, 0.7
    t = Trainer(_config({"damping": lam, "lr": lr}, regularization={"kind": "l2", "rate": 0.01}))
    obj = _before_update(t)
    theta = t.net.theta.copy()
    f0, g = obj(theta)
    h_fd = central_difference(obj, theta)
    expected = -lr * np.linalg.solve(h_fd + lam * np.eye(theta.size), g)
    assert f0 == pytest.approx(t.loss + t.penalty_value, rel=1e-15)
    t.step_phase()
    rec = t.history[-1]
    assert rec["accepted"] is True and rec["damping"] == lam and rec["n_evals"] == 2
    np.testing.assert_allclose(t.update_flat, expected, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(t.net.theta, theta + expected, rtol=1e-6, atol=1e-9)
    eig = np.linalg.eigvalsh(h_fd)
    assert rec["eig_min"] == pytest.approx(eig[0], abs=1e-6)
    assert rec["eig_max"] == pytest.approx(eig[-1], abs=1e-6)
    assert rec["condition"] == pytest.approx(np.abs(eig).max() / np.abs(eig).min(), rel=1e-4)
    assert t.optimizer.damping == pytest.approx(lam / 10)  # a step taken: closer to Newton
    assert t.loss + t.penalty_value > obj(t.net.theta)[0]  # it went downhill on this batch


def test_damping_rises_after_a_failed_try() -> None:
    # lr 200 overshoots at small λ: each refused try multiplies λ by ρ until a step goes downhill
    t = Trainer(_config({"damping": 1e-3, "lr": 200.0, "damping_factor": 4.0}))
    obj = _before_update(t)
    theta = t.net.theta.copy()
    f0 = obj(theta)[0]
    t.step_phase()
    rec = t.history[-1]
    tries = rec["n_evals"] - 1
    assert tries >= 2 and rec["accepted"] is True
    assert rec["damping"] == pytest.approx(1e-3 * 4.0 ** (tries - 1))
    assert t.optimizer.damping == pytest.approx(rec["damping"] / 4.0)
    assert obj(t.net.theta)[0] < f0
    # every refused λ really failed: the step at λ/ρ would not have lowered the loss
    _, g = obj(theta)
    h = obj.hessian(theta)
    lower = rec["damping"] / 4.0
    s = np.linalg.solve(h + lower * np.eye(theta.size), -g)
    assert obj(theta + 200.0 * s)[0] >= f0


def test_no_try_lowers_the_loss_leaves_the_weights_and_keeps_the_raised_damping() -> None:
    t = Trainer(_config({"damping": 1e-3, "lr": 1e4, "max_tries": 1}))
    _before_update(t)
    theta = t.net.theta.copy()
    t.step_phase()
    rec = t.history[-1]
    assert rec["accepted"] is False and rec["n_evals"] == 2
    assert np.array_equal(t.net.theta, theta)
    assert t.optimizer.damping == pytest.approx(1e-2)
    assert t.status == "ok"


@pytest.mark.parametrize(
    ("over", "field"),
    [
        ({"batchnorm": True}, "batchnorm"),
        ({"dropout": 0.3}, "dropout"),
        ({"clip_norm": 2.0}, "clip_norm"),
    ],
)
def test_newton_refuses_what_it_cannot_differentiate(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        Trainer(_config({}, **over))
    assert err.value.field == field


def test_a_part_without_second_derivative_is_named() -> None:
    class Kinked(Activation):  # an activation that brings no f''
        name = "kinked"

    tanh = ACTIVATIONS.lookup("tanh")
    bce = LOSSES.lookup("bce")
    assert unsupported([tanh, Kinked], tanh, bce, False, 0.0) == (
        "hidden.1.activation",
        "activation kinked has no second derivative here",
    )
    assert unsupported([tanh], tanh, bce, False, 0.0) is None


def test_live_switch_to_newton_with_dropout_is_refused() -> None:
    t = Trainer({**_config({}, dropout=0.2), "optimizer": {"name": "sgd"}})
    with pytest.raises(ConfigError) as err:
        t.set_hparams({"optimizer": {"name": "newton"}})
    assert err.value.field == "dropout"


def test_damping_round_trips_and_the_run_continues_identically() -> None:
    a = Trainer(_config({"damping": 0.3}))
    a.step(3)
    saved = json.loads(json.dumps(a.checkpoint()))
    assert saved["optimizer"]["damping"] == a.optimizer.damping != 0.3
    b = Trainer.restore(saved)
    assert b.optimizer.damping == a.optimizer.damping
    assert [r["loss"] for r in a.step(2)] == [r["loss"] for r in b.step(2)]
    assert np.array_equal(a.net.theta, b.net.theta)
    saved["optimizer"]["damping"] = -1
    with pytest.raises(ValueError, match="damping"):
        Trainer.restore(saved)


def test_the_engine_bounds_the_hessian_size() -> None:
    wide = [{"units": 64, "activation": "tanh"}, {"units": 64, "activation": "tanh"}]
    with pytest.raises(ConfigError) as err:
        Trainer(_config({}, hidden=wide))  # 2·64 + 64 + 64·64 + 64 + 65 = 4417 > 4096
    assert err.value.field == "optimizer.name" and "4096" in str(err.value)
    t = Trainer({**_config({}, hidden=wide), "optimizer": {"name": "adam"}})
    with pytest.raises(ConfigError, match="at most 4096"):
        t.set_hparams({"optimizer": {"name": "newton"}})
    assert t.optimizer.name == "adam"


def test_a_live_damping_restarts_lambda_other_changes_keep_it() -> None:
    t = Trainer(_config({"damping": 0.3}))
    t.step(2)
    kept = t.optimizer.damping
    assert kept != 0.3
    t.set_hparams({"optimizer": {"lr": 0.9}})
    assert t.optimizer.damping == kept
    t.set_hparams({"optimizer": {"damping": 2.0}})
    assert t.optimizer.damping == 2.0
