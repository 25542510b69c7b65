"""The update panel's rule, re-applied to one weight, against the trainer's own update phase."""

from __future__ import annotations

import numpy as np
import pytest

from engine.inspect.phase_numbers import phase_numbers
from engine.inspect.update_rule import last_update
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

OPTIMIZERS = [
    {"name": "sgd", "lr": 0.1},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.01},
    {"name": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.02},
    {"name": "adam", "lr": 0.01},
    {"name": "adam", "lr": 0.01, "weight_decay": 0.05, "amsgrad": True},
    {"name": "adamw", "lr": 0.01},
    {"name": "adamw", "lr": 0.01, "weight_decay": 0.1, "amsgrad": True},
    {"name": "adagrad", "lr": 0.05, "lr_decay": 0.01, "weight_decay": 0.01},
    {"name": "rmsprop", "lr": 0.01},
    {"name": "rmsprop", "lr": 0.01, "momentum": 0.8, "centered": True, "weight_decay": 0.01},
]


def trainer(optimizer: dict) -> Trainer:
    return Trainer(
        {
            "dataset": {
                "name": "circle",
                "n_samples": 30,
                "noise": 0.2,
                "seed": 2,
                "split": ALL_TRAIN,
            },
            "hidden": [{"units": 3, "activation": "tanh"}],
            "optimizer": optimizer,
            "regularization": {"kind": "l2", "rate": 0.01},
            "batch_size": 10,
            "seed": 4,
        }
    )


def through_update(t: Trainer) -> None:
    """Step phase by phase to the end of the next iteration, as the page's button does."""
    while True:
        ran = t.step_phase()
        if ran["phase"] == "update":
            return


@pytest.mark.parametrize(
    "optimizer", OPTIMIZERS, ids=lambda o: "-".join(f"{v}" for v in o.values())
)
def test_rule_gives_the_trainers_weight_and_step(optimizer):
    t = trainer(optimizer)
    for _ in range(3):  # the first step (fresh state) and later ones
        before = [la.W.copy() for la in t.net.layers]
        through_update(t)
        for lno, la in enumerate(t.net.layers):
            for i in range(la.W.shape[0]):
                for j in range(la.W.shape[1]):
                    u = last_update(t, lno, i, j)
                    assert u["available"] and u["known"]
                    assert u["numbers"]["w_old"] == pytest.approx(before[lno][i, j], abs=1e-15)
                    assert u["w_new"] == pytest.approx(la.W[i, j], rel=1e-12, abs=1e-15)
                    # the rule's own step against the change the trainer made
                    assert u["delta"] == pytest.approx(
                        la.W[i, j] - before[lno][i, j], rel=1e-9, abs=1e-15
                    )


def test_hand_worked_sgd_momentum_step():
    """buf_2 = μ buf_1 + g′, w ← w − γ buf_2, with buf_1 = g′ of the first step (torch)."""
    t = trainer({"name": "sgd", "lr": 0.1, "momentum": 0.5})
    through_update(t)
    g1 = t.net.layers[0].dW[0, 0]
    w1 = t.net.layers[0].W[0, 0]
    through_update(t)
    g2 = t.net.layers[0].dW[0, 0]
    u = last_update(t, 0, 0, 0)
    assert u["numbers"]["buf_prev"] == pytest.approx(g1, rel=1e-12)
    assert u["numbers"]["buf"] == pytest.approx(0.5 * g1 + g2, rel=1e-12)
    assert u["w_new"] == pytest.approx(w1 - 0.1 * (0.5 * g1 + g2), rel=1e-12)


def test_hand_worked_adam_first_step_moves_by_about_lr():
    """At t = 1, m̂ = g and v̂ = g², so the step is γ g / (|g| + ε) ≈ γ sign g."""
    t = trainer({"name": "adam", "lr": 0.01})
    through_update(t)
    u = last_update(t, 0, 1, 1)
    g = t.net.layers[0].dW[1, 1]
    assert u["numbers"]["m_hat"] == pytest.approx(g, rel=1e-12)
    assert u["numbers"]["v_hat"] == pytest.approx(g * g, rel=1e-12)
    assert u["delta"] == pytest.approx(-0.01 * np.sign(g) * abs(g) / (abs(g) + 1e-8), rel=1e-12)


def test_not_available_mid_iteration_nor_before_the_first_update():
    t = trainer({"name": "sgd", "lr": 0.1})
    assert not last_update(t, 0, 0, 0)["available"]
    through_update(t)
    t.step_phase()
    assert not last_update(t, 0, 0, 0)["available"]


def test_phase_numbers_carry_the_update_and_the_losses():
    t = trainer({"name": "adam", "lr": 0.01})
    t.config["probe"] = 3
    through_update(t)
    p = phase_numbers(t, 1, 2, 0)
    assert p["update"]["w_new"] == pytest.approx(t.net.layers[1].W[2, 0], rel=1e-12)
    assert p["loss"]["batch"] == t.loss
    # the example's bce by hand from its output probability
    yhat, y = p["loss"]["yhat"][0], p["loss"]["y"][0]
    assert p["loss"]["example"] == pytest.approx(
        -(y * np.log(yhat) + (1 - y) * np.log(1 - yhat)), rel=1e-9
    )
    assert p["backward"][1]["dW_entry"] == t.net.layers[1].dW[2, 0]
    assert p["backward"][0]["dW_norm"] == pytest.approx(
        np.linalg.norm(t.net.layers[0].dW), rel=1e-12
    )
    z = p["forward"][0]["z"]
    x = t.data.x_train[3]
    assert z == pytest.approx(list((x @ t.net.layers[0].W + t.net.layers[0].b)[:6]), rel=1e-12)


def test_a_restored_trainer_shows_no_made_up_update_until_it_steps():
    t = trainer({"name": "sgd", "lr": 0.1, "momentum": 0.9})
    through_update(t)
    back = Trainer.restore(t.checkpoint())
    assert not last_update(back, 0, 0, 0)["available"]
    through_update(back)
    u = last_update(back, 0, 0, 0)
    assert u["available"] and u["w_new"] == pytest.approx(back.net.layers[0].W[0, 0], rel=1e-12)
