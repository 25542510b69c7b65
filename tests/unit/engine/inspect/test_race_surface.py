"""The race surface: projection onto a non-orthonormal plane, PCA of stacked runs, and the grid
against the plain network evaluated at θ₀ + α·d₁ + β·d₂."""

from __future__ import annotations

import numpy as np
import pytest

from engine.inspect import race_surface as rs
from engine.trainer import Trainer
from tests.conftest import small_config


@pytest.fixture(scope="module")
def trained() -> Trainer:
    t = Trainer(small_config())
    t.step(30)
    return t


def loss_at(config: dict, theta: np.ndarray) -> float:
    """An independent evaluation: a fresh trainer of ``config`` with θ written in, eval loss."""
    t = Trainer(config)
    k = 0
    for p in t.net.params:
        p[...] = theta[k : k + p.size].reshape(p.shape)
        k += p.size
    return t.net.data_loss(t.data.x_train, t.data.y_train)


def test_start_is_the_first_recorded_point(trained: Trainer) -> None:
    fresh = Trainer(small_config())
    theta0 = rs.start_of(trained)
    np.testing.assert_allclose(theta0, fresh.net.theta, rtol=1e-6, atol=1e-7)
    assert not np.allclose(trained.net.theta, theta0)


@pytest.mark.parametrize("mode", ["random", "weights"])
def test_a_point_on_the_plane_projects_to_its_coefficients(trained: Trainer, mode: str) -> None:
    origin = rs.start_of(trained)
    weights = [
        {"layer": 0, "param": "W", "index": [0, 1]},
        {"layer": 1, "param": "b", "index": [2]},
    ]
    p = rs.plane(trained, origin, mode, seed=5, weights=weights)
    if mode == "random":  # filter-normalised directions are not orthogonal: a real solve
        assert abs(p.d1 @ p.d2) > 1e-6 * np.linalg.norm(p.d1) * np.linalg.norm(p.d2)
    pts = np.array([origin + a * p.d1 + b * p.d2 for a, b in [(0.3, -1.2), (-2.0, 0.25), (0, 0)]])
    np.testing.assert_allclose(p.project(pts), [[0.3, -1.2], [-2.0, 0.25], [0, 0]], atol=1e-12)


def test_random_plane_is_seeded(trained: Trainer) -> None:
    origin = rs.start_of(trained)
    a, b = rs.plane(trained, origin, "random", seed=1), rs.plane(trained, origin, "random", seed=1)
    c = rs.plane(trained, origin, "random", seed=2)
    assert np.array_equal(a.d1, b.d1) and np.array_equal(a.d2, b.d2)
    assert not np.allclose(a.d1, c.d1)


def test_pca_of_stacked_runs_spans_their_displacements() -> None:
    rng = np.random.default_rng(0)
    origin = rng.standard_normal(40)
    u, v = rng.standard_normal(40), rng.standard_normal(40)
    runs = [
        origin + np.outer(rng.standard_normal(n), u) + np.outer(rng.standard_normal(n), v)
        for n in (5, 9, 3)
    ]
    d1, d2, explained = rs.pca_of_runs(origin, runs)
    basis = np.stack([d1, d2], axis=1)
    for path in runs:  # every displacement lies in span(d1, d2): the projection is exact
        disp = path - origin
        coef = np.linalg.lstsq(basis, disp.T, rcond=None)[0]
        np.testing.assert_allclose(basis @ coef, disp.T, atol=1e-10)
    np.testing.assert_allclose(explained.sum(), 1.0, atol=1e-12)
    assert d1 @ sum((p - origin).sum(axis=0) for p in runs) >= 0


def test_pca_of_real_runs_beats_each_runs_own_line() -> None:
    """Two optimizers from one start: the stacked PCA plane holds most of both displacements."""
    base = small_config()
    runs = [Trainer(base), Trainer({**base, "optimizer": {"name": "adam", "lr": 0.05}})]
    for t in runs:
        t.step(25)
    origin = rs.start_of(runs[0])
    paths = [t.trajectory.to_now(t.net.theta, t.iteration)[0] for t in runs]
    p = rs.plane(runs[0], origin, "pca", paths=paths)
    for path in paths:
        disp = path - origin
        on = p.project(path) @ np.stack([p.d1, p.d2])
        kept = 1 - np.linalg.norm(disp - on) ** 2 / np.linalg.norm(disp) ** 2
        assert kept > 0.5
    assert sum(p.info["explained_variance"]) <= 1.0


def test_pca_needs_two_directions() -> None:
    origin = np.zeros(5)
    line = [np.outer(np.arange(4.0), np.ones(5))]
    with pytest.raises(ValueError, match="^directions:"):
        rs.pca_of_runs(origin, line)


def test_grid_is_run_0s_loss_on_the_plane_through_the_start(trained: Trainer) -> None:
    origin = rs.start_of(trained)
    before = trained.net.theta.copy()
    p = rs.plane(trained, origin, "random", seed=3)
    g = rs.grid(trained, p, 1.5, 7)
    assert np.array_equal(trained.net.theta, before)  # the trainer is not moved
    config = trained.config
    assert g["losses"][3][3] == pytest.approx(loss_at(config, origin), rel=1e-10)
    fresh = Trainer(small_config())  # θ₀ itself (the recorded point is float32-rounded)
    assert g["losses"][3][3] == pytest.approx(
        fresh.net.data_loss(fresh.data.x_train, fresh.data.y_train), rel=1e-5
    )
    a, b = g["alphas"][1], g["betas"][5]  # row i is β_i
    want = loss_at(config, origin + a * p.d1 + b * p.d2)
    assert g["losses"][5][1] == pytest.approx(want, rel=1e-10)


def test_run_path_ends_at_the_current_point(trained: Trainer) -> None:
    p = rs.plane(trained, rs.start_of(trained), "random", seed=0)
    run = rs.run_path(p, trained)
    assert run["projected"] and run["path"][0] == pytest.approx([0.0, 0.0], abs=1e-12)
    assert run["current"] == run["path"][-1]
    np.testing.assert_allclose(run["current"], p.project(trained.net.theta)[0], atol=1e-12)
    assert run["steps"][-1] == trained.iteration


def test_differs_names_the_keys_that_change_the_surface() -> None:
    base = Trainer(small_config()).config
    adam = {**base, "optimizer": {"name": "adam", "lr": 0.01}, "dropout": 0.2}
    assert rs.differs(base, adam) == []
    wider = {**base, "regularization": {"kind": "l2", "rate": 0.1}, "loss": {"name": "mse"}}
    assert rs.differs(base, wider) == ["loss", "regularization"]


def test_unknown_mode_names_the_field(trained: Trainer) -> None:
    with pytest.raises(ValueError, match="^directions:"):
        rs.plane(trained, rs.start_of(trained), "sideways")
    with pytest.raises(ValueError, match="^weight:"):
        rs.plane(trained, rs.start_of(trained), "weights", weights=[])
