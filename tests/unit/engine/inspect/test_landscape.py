"""Loss landscapes against a naive evaluation, and their directions."""

from __future__ import annotations

import numpy as np
import pytest

from engine.inspect.directions import random_direction
from engine.inspect.landscape import Slice
from engine.trainer import Trainer
from tests.conftest import small_config


@pytest.fixture(scope="module")
def trained() -> Trainer:
    t = Trainer(small_config(batchnorm=True))
    t.step(40)
    return t


def naive_loss(t: Trainer, s: Slice, a: float, b: float) -> float:
    """Move the real network's weights and evaluate the loss the plain way."""
    params = t.net.params
    saved = [p.copy() for p in params]
    d1 = [q for layer in s.d1_layers for q in layer]
    d2 = [q for layer in (s.d2_layers or s.d1_layers) for q in layer]
    try:
        for p, p0, u, v in zip(params, saved, d1, d2, strict=True):
            p[...] = p0 + a * u + (b * v if s.d2_layers is not None else 0.0)
        return t.net.data_loss(s.x, s.y)
    finally:
        for p, p0 in zip(params, saved, strict=True):
            p[...] = p0


def loss_at(t: Trainer, s: Slice, theta: np.ndarray) -> float:
    """The split's loss with the real network's weights set to the flat vector ``theta``."""
    params = t.net.params
    saved = [p.copy() for p in params]
    k = 0
    try:
        for p in params:
            p[...] = theta[k : k + p.size].reshape(p.shape)
            k += p.size
        return t.net.data_loss(s.x, s.y)
    finally:
        for p, p0 in zip(params, saved, strict=True):
            p[...] = p0


@pytest.mark.parametrize(
    "spec",
    [
        {"kind": "2d", "directions": "random", "resolution": 7, "seed": 3},
        {"kind": "2d", "directions": "pca", "resolution": 5},
        {
            "kind": "2d",
            "directions": "weights",
            "resolution": 5,
            "weights": [
                {"layer": 0, "param": "W", "index": [1, 2]},
                {"layer": 2, "param": "b", "index": [0]},
            ],
        },
    ],
)
def test_2d_grid_matches_naive(trained: Trainer, spec: dict) -> None:
    s = Slice(trained, spec)
    result = s.compute()
    grid = np.array(result["losses"])
    assert grid.shape == (len(result["betas"]), len(result["alphas"]))
    for r in (0, 2, len(result["betas"]) - 1):
        for c in (0, 3, len(result["alphas"]) - 1):
            expected = naive_loss(trained, s, result["alphas"][c], result["betas"][r])
            assert grid[r, c] == pytest.approx(expected, rel=1e-10)
    assert result["current"]["loss"] == pytest.approx(trained.net.data_loss(s.x, s.y), rel=1e-12)


def test_1d_weight_slice_and_tangent(trained: Trainer) -> None:
    w = {"layer": 1, "param": "W", "index": [0, 1]}
    result = Slice(
        trained,
        {"kind": "1d", "directions": "weights", "weights": [w], "resolution": 201, "range": 0.5},
    ).compute()
    assert result["values"] == [trained.net.layers[1].W[0, 1]]
    alphas, losses = np.array(result["alphas"]), np.array(result["losses"])
    mid = len(alphas) // 2
    assert alphas[mid] == 0.0 and losses[mid] == pytest.approx(result["current"]["loss"])
    h = alphas[mid + 1] - alphas[mid]
    central = (losses[mid + 1] - losses[mid - 1]) / (2 * h)
    assert result["current"]["slope"] == pytest.approx(central, rel=1e-3, abs=1e-9)


def test_filter_normalisation_matches_neuron_norms(trained: Trainer) -> None:
    params = [[q.copy() for q in layer.params] for layer in trained.net.layers]
    d = random_direction(params, np.random.default_rng(0))
    k = 0
    for layer in params:
        W = layer[0]
        dW = d[k : k + W.size].reshape(W.shape)
        assert np.allclose(np.linalg.norm(dW, axis=0), np.linalg.norm(W, axis=0))
        k += sum(q.size for q in layer)
        assert not d[k - sum(q.size for q in layer[1:]) : k].any()  # biases, γ, β: zero


def test_pca_path_is_projected(trained: Trainer) -> None:
    result = Slice(trained, {"kind": "2d", "directions": "pca", "resolution": 5}).compute()
    path = np.array(result["path"])
    assert path.shape == (len(result["path_steps"]), 2)
    assert np.allclose(path[-1], 0.0, atol=1e-9)  # the last recorded point is the current one
    assert sum(result["explained_variance"]) <= 1.0 + 1e-12
    assert np.abs(path).max() <= result["range"]


def test_along_without_origin_is_the_spec_slice(trained: Trainer) -> None:
    s = Slice(trained, {"kind": "2d", "directions": "random", "resolution": 5, "seed": 1})
    given = Slice.along(trained, s.d1, s.d2, alphas=s.alphas, betas=s.betas)
    assert given.at == (0.0, 0.0)
    a, b = s.compute(), given.compute()
    assert given.info["directions"] == "given"
    assert b["losses"] == a["losses"] and b["current"] == a["current"]
    assert np.allclose(b["path"], a["path"])


def test_along_keeps_an_earlier_origin_and_window(trained: Trainer) -> None:
    """The grid point (α, β) is origin + α·d₁ + β·d₂ when θ lies on the origin's plane, and
    θ's own coordinates are where the current point is; an off-plane origin only shifts the
    plane to pass through θ."""
    rng = np.random.default_rng(5)
    theta = np.asarray(trained.net.theta).copy()
    d1, d2 = rng.normal(size=(2, theta.size)) * 0.2
    off = rng.normal(size=theta.size)
    basis = np.stack([d1, d2], axis=1)
    off -= basis @ np.linalg.lstsq(basis, off, rcond=None)[0]  # orthogonal to the plane
    alphas, betas = np.linspace(-1.0, 1.5, 6), np.linspace(-0.5, 0.5, 5)
    for shift in (np.zeros_like(theta), 0.3 * off):
        origin = theta - 0.4 * d1 + 0.25 * d2 + shift
        s = Slice.along(trained, d1, d2, alphas=alphas, betas=betas, origin=origin)
        assert s.at == pytest.approx((0.4, -0.25), abs=1e-9)
        grid = np.concatenate([r for _, r in s.rows(rows_per_chunk=2)])
        assert grid.shape == (5, 6)
        for r in (0, 2, 4):
            for c in (0, 3, 5):
                point = origin - shift + alphas[c] * d1 + betas[r] * d2
                assert grid[r, c] == pytest.approx(loss_at(trained, s, point), rel=1e-10)
        result = s.compute()
        assert result["alphas"] == alphas.tolist() and result["betas"] == betas.tolist()
        assert result["current"]["alpha"] == pytest.approx(0.4)
        assert result["current"]["beta"] == pytest.approx(-0.25)
        assert result["current"]["loss"] == pytest.approx(trained.net.data_loss(s.x, s.y))
    assert np.array_equal(trained.net.theta, theta)  # the trainer's weights are untouched


def test_along_1d_slope_at_the_current_point(trained: Trainer) -> None:
    theta = np.asarray(trained.net.theta).copy()
    d1 = np.random.default_rng(2).normal(size=theta.size) * 0.1
    alphas = np.linspace(-0.5, 1.5, 201)
    s = Slice.along(trained, d1, alphas=alphas, origin=theta - 0.5 * d1)
    assert s.at == pytest.approx((0.5, 0.0))
    result = s.compute()
    losses = np.array(result["losses"])
    k = int(np.argmin(np.abs(alphas - 0.5)))
    assert losses[k] == pytest.approx(result["current"]["loss"], rel=1e-9)
    central = (losses[k + 1] - losses[k - 1]) / (alphas[k + 1] - alphas[k - 1])
    assert result["current"]["slope"] == pytest.approx(central, rel=1e-3, abs=1e-9)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"d1": "short", "alphas": [0.0]}, "d1"),
        ({"d1": "unit", "d2": "unit", "alphas": [0.0], "betas": [0.0]}, "directions"),
        ({"d1": "unit", "d2": "other", "alphas": [0.0]}, "betas"),
        ({"d1": "unit", "alphas": [0.0], "betas": [0.0]}, "betas"),
        ({"d1": "unit", "alphas": []}, "alphas"),
        ({"d1": "unit", "alphas": [0.0], "origin": "short"}, "origin"),
        ({"d1": "unit", "alphas": [0.0], "split": "nope"}, "split"),
    ],
)
def test_along_bad_arguments(trained: Trainer, kwargs: dict, field: str) -> None:
    n = np.asarray(trained.net.theta).size
    vectors = {"short": np.ones(n - 1), "unit": np.eye(1, n, 0)[0], "other": np.eye(1, n, 1)[0]}
    args = {
        k: vectors.get(v, v) if isinstance(v, str) and k != "split" else v
        for k, v in kwargs.items()
    }
    with pytest.raises(ValueError, match=field):
        Slice.along(trained, **args)


def test_rows_stream_in_order(trained: Trainer) -> None:
    s = Slice(trained, {"kind": "2d", "resolution": 9})
    starts = [start for start, rows in s.rows(rows_per_chunk=4)]
    assert starts == [0, 4, 8]


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({"kind": "3d"}, "kind"),
        ({"resolution": 1000}, "resolution"),
        ({"directions": "weights"}, "weights"),
        ({"directions": "weights", "kind": "1d", "weights": [{"layer": 9}]}, "weights"),
        ({"range": -1}, "range"),
        ({"bogus": 1}, "bogus"),
    ],
)
def test_bad_specs(trained: Trainer, spec: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        Slice(trained, spec)


def test_pca_needs_a_path() -> None:
    with pytest.raises(ValueError, match="trajectory"):
        Slice(Trainer(small_config()), {"directions": "pca"})
