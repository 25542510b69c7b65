"""Backprop against central differences, through small networks, for every building block."""

from __future__ import annotations

import numpy as np
import pytest

from engine.activations import HIDDEN_ACTIVATIONS
from engine.inspect.gradcheck import gradcheck
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

TOL = 1e-6


def net_for(**overrides: object) -> Trainer:
    config = {
        "dataset": {"name": "circle", "n_samples": 12, "noise": 0.2, "seed": 2, "split": ALL_TRAIN},
        "hidden": [{"units": 3, "activation": "tanh"}, {"units": 3, "activation": "tanh"}],
        "init": {"name": "normal", "std": 0.8},
        "seed": 5,
    }
    config.update(overrides)
    t = Trainer(config)
    # non-zero biases keep every ReLU input off its kink at exactly 0, where the
    # one-sided derivative torch defines and a central difference cannot agree
    rng = np.random.default_rng(0)
    for i, layer in enumerate(t.net.layers):
        t.net.set_weight(i, "b", rng.normal(0.0, 0.3, layer.b.shape))
    return t


def check(t: Trainer) -> dict:
    result = gradcheck(t)
    assert result["checked"] == t.n_params and not result["sampled"]
    assert result["loss_evaluations"] == 2 * t.n_params
    assert result["relative_error"] <= TOL, result["relative_error"]
    return result


@pytest.mark.parametrize("activation", HIDDEN_ACTIVATIONS)
def test_every_hidden_activation(activation: str) -> None:
    check(net_for(hidden=[{"units": 3, "activation": activation}] * 2))


@pytest.mark.parametrize(
    ("dataset", "out", "loss"),
    [
        ("circle", "sigmoid", "bce"),
        ("circle", "sigmoid", "mse"),
        ("circle", "tanh", "mae"),
        ("reg_plane", "linear", "mse"),
        ("reg_plane", "linear", "mae"),
        ("reg_plane", "linear", {"name": "huber", "delta": 0.3}),
        ("blobs", "softmax", "ce"),
    ],
)
def test_every_loss_and_output(dataset: str, out: str, loss: object) -> None:
    check(
        net_for(
            dataset={"name": dataset, "n_samples": 12, "noise": 0.3, "seed": 2, "split": ALL_TRAIN},
            output_activation=out,
            loss=loss,
        )
    )


def test_batchnorm_in_train_mode() -> None:
    t = net_for(
        batchnorm=True,
        hidden=[{"units": 4, "activation": "relu"}, {"units": 3, "activation": "sigmoid"}],
    )
    check(t)


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_regularization_penalty(kind: str) -> None:
    check(net_for(regularization={"kind": kind, "rate": 0.05}))


def test_reports_cost_and_does_not_touch_the_live_network() -> None:
    t = net_for()
    t.step_phase()
    recorded = t.net.layers[0].a.copy()
    result = check(t)
    assert np.array_equal(t.net.layers[0].a, recorded)
    assert result["backprop_passes"] == 1 and result["numerical_seconds"] > 0
    assert all(e["relative_error"] <= 1e-5 for e in result["entries"])


def test_detects_a_wrong_gradient() -> None:
    t = net_for()
    # a broken derivative must show up: pretend tanh' = 1
    act = t.net.layers[0].activation
    act.backward = lambda z, a, grad_a: grad_a  # type: ignore[method-assign]
    assert gradcheck(t)["relative_error"] > 1e-3


def test_vanishing_gradients_sigmoid_vs_relu() -> None:
    data = {"name": "circle", "n_samples": 200, "noise": 0.1, "seed": 0, "split": ALL_TRAIN}

    def ratio(act: str, init: str) -> float:
        t = Trainer(
            {
                "dataset": data,
                "hidden": [{"units": 8, "activation": act}] * 8,
                "init": {"name": init},
                "batch_size": 200,
                "seed": 0,
            }
        )
        t.step(1)
        first, last = t.net.layers[0].dW, t.net.layers[-1].dW
        return float(np.linalg.norm(first) / np.linalg.norm(last))

    assert ratio("sigmoid", "xavier_uniform") < 1e-3
    assert ratio("relu", "he_normal") > 1e-2
