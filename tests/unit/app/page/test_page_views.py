"""The network drawing's views and what it draws (app/page/draw/views.py, network.py): the
optimizer views equal the optimizer's own state, checked against the update rules worked by
hand from the gradients; the effective step is Δw/g; a wide layer shows its largest units;
digits' drawn pixels vary; a frame stays under 32 KB however wide and deep the net."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.page import frames
from app.page.draw import network, views
from app.sessions import presets
from engine.inspect import readouts
from engine.trainer import Trainer
from tests.conftest import small_config

FRAME_LIMIT = 32 * 1024
ALL = frozenset({"gradients", "updates", "optimizer", "probe"})


def drawn(t: Trainer, view: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The drawing's edge matrices and bias vectors of ``view`` (every unit of a small net)."""
    snap = readouts.snapshot(t, ALL)
    d = network.prepare(snap, list(t.data.feature_names), view, snap["probe"])
    return [np.array(e) for e in d.edges], [np.array(b) for b in d.biases]


def grads(t: Trainer) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """The last batch's dW and db per layer (what the optimizer used: no weight decay here)."""
    return [layer.dW.copy() for layer in t.net.layers], [layer.db.copy() for layer in t.net.layers]


def test_sgd_velocity_is_the_momentum_buffer_worked_by_hand() -> None:
    """torch's SGD: b₁ = g₁, b₂ = μ b₁ + g₂ (no dampening)."""
    mu = 0.9
    t = Trainer(small_config(optimizer={"name": "sgd", "lr": 0.1, "momentum": mu}))
    t.step(1)
    g1w, g1b = grads(t)
    t.step(1)
    g2w, g2b = grads(t)
    edges, biases = drawn(t, "velocity")
    for L in range(len(edges)):
        np.testing.assert_allclose(edges[L], mu * g1w[L] + g2w[L], rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(biases[L], mu * g1b[L] + g2b[L], rtol=1e-12, atol=1e-15)


def test_adam_views_are_its_moments_worked_by_hand() -> None:
    """After one Adam step m = (1 − β₁) g and v = (1 − β₂) g² (torch's defaults 0.9, 0.999)."""
    t = Trainer(small_config(optimizer={"name": "adam", "lr": 0.01}))
    t.step(1)
    gw, gb = grads(t)
    m, mb = drawn(t, "velocity")
    v, vb = drawn(t, "second_moment")
    for L in range(len(gw)):
        np.testing.assert_allclose(m[L], 0.1 * gw[L], rtol=1e-12, atol=1e-18)
        np.testing.assert_allclose(mb[L], 0.1 * gb[L], rtol=1e-12, atol=1e-18)
        np.testing.assert_allclose(v[L], 0.001 * gw[L] ** 2, rtol=1e-12, atol=1e-20)
        np.testing.assert_allclose(vb[L], 0.001 * gb[L] ** 2, rtol=1e-12, atol=1e-20)


@pytest.mark.parametrize(
    ("optimizer", "key"),
    [({"name": "rmsprop", "lr": 0.01}, "square_avg"), ({"name": "adagrad", "lr": 0.1}, "sum")],
)
def test_second_moment_is_the_optimizers_own_state(optimizer: dict[str, Any], key: str) -> None:
    t = Trainer(small_config(optimizer=optimizer))
    t.step(3)
    edges, biases = drawn(t, "second_moment")
    state = t.optimizer.state
    for L in range(len(edges)):
        np.testing.assert_array_equal(edges[L], state[2 * L][key])
        np.testing.assert_array_equal(biases[L], state[2 * L + 1][key])


def test_effective_step_of_plain_sgd_is_minus_the_rate() -> None:
    """SGD without momentum: Δw = −lr·g, so Δw/g = −lr wherever g ≠ 0."""
    t = Trainer(small_config(optimizer={"name": "sgd", "lr": 0.1}))
    t.step(2)
    gw, _ = grads(t)
    edges, biases = drawn(t, "effective_step")
    for L, e in enumerate(edges):
        moved = np.abs(gw[L]) > 1e-12
        np.testing.assert_allclose(e[moved], -0.1, rtol=1e-9)
        np.testing.assert_allclose(biases[L], -0.1, rtol=1e-6)


def test_effective_step_is_zero_safe_and_finite() -> None:
    update = np.array([1.0, 2.0, 0.0, 3.0, -0.5])
    grad = np.array([0.0, 1e-320, 0.0, np.inf, 0.25])
    np.testing.assert_array_equal(views.effective_step(update, grad), [0, 0, 0, 0, -2.0])


def test_the_menu_offers_only_the_state_an_optimizer_keeps() -> None:
    base = ["weights", "activations", "delta", "gradients", "updates", "effective_step"]
    assert views.available({"name": "sgd", "lr": 0.1}) == base
    assert views.available({"name": "sgd", "momentum": 0.9}) == [*base, "velocity"]
    assert views.available({"name": "adam"}) == [*base, "velocity", "second_moment"]
    assert views.available({"name": "adagrad"}) == [*base, "second_moment"]
    assert views.available({"name": "rmsprop"}) == [*base, "second_moment"]
    labels = dict(views.menu({"name": "adam"}))
    assert "exp_avg" in labels["velocity"] and "exp_avg_sq" in labels["second_moment"]
    labels = dict(views.menu({"name": "rmsprop"}))
    assert "square_avg" in labels["second_moment"]


def test_a_view_the_optimizer_lacks_is_drawn_as_the_weights() -> None:
    """A page left on velocity when the optimizer became plain SGD: weights, not zeros."""
    t = Trainer(small_config())
    frame = frames.build(t, 0, frames.Look(view="velocity"), pictures=False)
    assert frame.drawing.view == "weights"


def test_a_wide_layer_shows_its_largest_units_in_index_order() -> None:
    """12 hidden units whose only nonzero numbers are their biases: the weights view shows the
    8 with the largest |b| (units 4–11), by index, and the output's edges from exactly them."""
    b = [0.1 * k * (-1) ** k for k in range(12)]
    snap = {
        "layers": [
            {"W": [[0.0] * 12, [0.0] * 12], "b": b},
            {"W": [[float(k)] for k in range(12)], "b": [0.0]},
        ],
        "last_phase": None,
    }
    snap["layers"][1]["W"] = [[0.0] for _ in range(12)]
    d = network.prepare(snap, ["x1", "x2"], "weights", None)
    assert d.shown[1] == list(range(4, 12))
    assert d.nodes[0] == [b[k] for k in range(4, 12)]
    assert d.units[1] == 12 and len(d.edges[1]) == 8
    # an edge counts as much as a node: a big weight out of unit 0 brings it in
    snap["layers"][1]["W"][0] = [5.0]
    d = network.prepare(snap, ["x1", "x2"], "weights", None)
    assert d.shown[1] == [0, *range(5, 12)]
    assert d.edges[1][0] == [5.0]


def test_digits_draws_its_most_varying_pixels_and_all_ten_classes() -> None:
    t = Trainer(presets.preset_config("digits-mlp"))
    names, shown, classes = frames.labels(t.data)
    assert shown is not None and len(shown) == network.MAX_DRAWN
    x = np.asarray(t.data.x_train)
    var = x.var(axis=0)
    assert all(var[k] > 0 for k in shown)  # never a constant pixel
    assert sorted(shown) == shown
    assert min(var[shown]) >= np.sort(var)[-network.MAX_DRAWN]  # the most varying ones
    assert names[9] == "(1,1)"  # pixel 9 of an 8×8 image
    frame = frames.build(t, 0, frames.Look(), pictures=False)
    assert frame.drawing.shown[0] == shown
    assert frame.drawing.shown[-1] == list(range(10))
    assert frame.drawing.out_names == classes == [str(k) for k in range(10)]


@pytest.mark.parametrize("view", views.VIEWS)
@pytest.mark.parametrize(
    "config",
    [
        presets.preset_config("digits-mlp"),
        small_config(  # 7 inputs, six hidden layers of 64: wide and deep, with its sprite
            dataset={"name": "circle", "n_samples": 100,
                     "features": ["x1", "x2", "x1^2", "x2^2", "x1*x2", "sin_x1", "sin_x2"]},
            hidden=[{"units": 64, "activation": "tanh"} for _ in range(6)],
            optimizer={"name": "adam", "lr": 0.01},
        ),  # fmt: skip
    ],
    ids=["digits-mlp", "wide-deep"],
)
def test_a_frame_stays_under_32_kb(config: dict[str, Any] | None, view: str) -> None:
    assert config is not None
    t = Trainer(config)
    t.step(2)
    frame = frames.build(t, 0, frames.Look(view=view), pictures=True)
    assert len(frame.encode()) <= FRAME_LIMIT
