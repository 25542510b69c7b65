"""Loss landscapes against a naive evaluation, and their directions."""

from __future__ import annotations

import numpy as np
import pytest

from engine.directions import random_direction
from engine.landscape import Slice
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
