"""Backprop against central differences, through small networks, for every building block."""

from __future__ import annotations

import numpy as np
import pytest

from engine.activations import HIDDEN_ACTIVATIONS
from engine.inspect.gradcheck import gradcheck, judged, noise_floor, verdict
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


def numpy_loss(t: Trainer, params: list[np.ndarray]) -> float:
    """J(θ) of net_for()'s net (tanh, tanh, sigmoid output, BCE), written out in NumPy."""
    W0, b0, W1, b1, W2, b2 = params
    x, y = t.data.x_train, t.data.y_train
    h = np.tanh(np.tanh(x @ W0 + b0) @ W1 + b1)
    p = 1.0 / (1.0 + np.exp(-(h @ W2 + b2)))
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_numerical_column_is_a_central_difference() -> None:
    t = net_for()
    t.step(2)
    eps = 1e-5
    result = gradcheck(t, eps)
    params = [p.copy() for p in t.net.params]
    for row in result["entries"]:
        k = 2 * row["layer"] + ("W", "b").index(row["param"])
        idx = tuple(row["index"])
        plus = [p.copy() for p in params]
        plus[k][idx] += eps
        minus = [p.copy() for p in params]
        minus[k][idx] -= eps
        num = (numpy_loss(t, plus) - numpy_loss(t, minus)) / (2 * eps)
        assert row["numerical"] == pytest.approx(num, rel=1e-6, abs=1e-9)
        assert row["absolute_error"] == abs(row["backprop"] - row["numerical"])
    assert result["loss"] == pytest.approx(numpy_loss(t, params), rel=1e-12)


def test_sampling_is_seeded_and_says_so() -> None:
    t = net_for()
    one, again, other = (gradcheck(t, max_entries=9, seed=s) for s in (4, 4, 5))
    where = [
        [(e["layer"], e["param"], e["index"]) for e in r["entries"]] for r in (one, again, other)
    ]
    assert one["sampled"] and one["checked"] == 9 and one["n_params"] == t.n_params > 9
    assert where[0] == where[1] != where[2]
    assert [e["numerical"] for e in one["entries"]] == [e["numerical"] for e in again["entries"]]
    assert sum(g["checked"] for g in one["layers"]) == 9 == sum(one["counts"].values())
    with pytest.raises(ValueError, match="sample"):
        gradcheck(t, max_entries=0)


def test_timings_and_their_ratio() -> None:
    result = gradcheck(net_for())
    assert result["backprop_seconds"] > 0 and result["numerical_seconds"] > 0
    assert result["time_ratio"] == result["numerical_seconds"] / result["backprop_seconds"]
    assert result["loss_evaluations"] == 2 * result["checked"]


def test_verdict_bands_and_noise_floor() -> None:
    assert [verdict(r) for r in (1e-8, 1e-6, 1e-4, 1e-2)] == [
        "excellent", "good", "doubtful", "wrong"
    ]  # fmt: skip
    assert judged(1e-4, True) == "within rounding" and judged(1e-9, True) == "excellent"
    assert judged(1e-4, False) == "doubtful"
    # rounding: ε_mach·|J| / ε, with |J| ≥ 1 and a factor 10 of room; truncation: ε²
    assert noise_floor(0.5, 1e-5) == pytest.approx(10 * 2.220446049250313e-16 / 1e-5 + 1e-10)
    result = gradcheck(net_for())
    assert result["verdict"] == "excellent" and result["counts"]["wrong"] == 0
    first = result["layers"][0]
    rows = [e for e in result["entries"] if e["layer"] == 0 and e["param"] == "W"]
    assert first["checked"] == len(rows) and first["backprop_norm"] == pytest.approx(
        np.linalg.norm([e["backprop"] for e in rows])
    )
