"""Mini-batch gradients against the full-batch one: the covering identity, the trainer's own
gradients, cosines recomputed with NumPy, and the projection on a slice's plane."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.inspect import directions as dirs
from engine.inspect.gradient_noise import (
    batch_gradient,
    draw_batches,
    gradient_noise,
    layered,
    plane_coefficients,
)
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN


def trainer(**overrides: object) -> Trainer:
    config: dict[str, object] = {
        "dataset": {"name": "circle", "n_samples": 50, "noise": 0.2, "seed": 2, "split": ALL_TRAIN},
        "hidden": [{"units": 5, "activation": "tanh"}, {"units": 4, "activation": "relu"}],
        "batch_size": 8,
        "regularization": {"kind": "l2", "rate": 0.01},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "seed": 4,
    }
    config.update(overrides)
    t = Trainer(config)
    t.step(3)  # off the initial weights
    return t


def relative(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


@pytest.mark.parametrize("batch_size", [8, 10, 1, 50])
def test_batches_covering_the_data_average_to_the_full_gradient(batch_size: int) -> None:
    t = trainer(batch_size=batch_size)
    out = gradient_noise(t, seed=3, cover=True)
    rows = out["batches"]
    assert len(rows) == -(-t.n_train // t.batch_size)
    seen = np.sort(np.concatenate([r["indices"] for r in rows]))
    assert np.array_equal(seen, np.arange(t.n_train))  # each example exactly once
    # the size-weighted mean, summed here independently of the engine's own average
    weighted = sum(r["size"] * r["gradient"] for r in rows) / t.n_train
    full = out["full"]["gradient"]
    assert relative(weighted, full) <= 1e-12
    assert relative(out["average"], full) <= 1e-12
    assert out["summary"]["average_cosine"] == pytest.approx(1.0, abs=1e-12)


def test_batch_norm_breaks_the_identity() -> None:
    """A batch's statistics couple its examples: the average is no longer the full gradient
    (the docstring says so; this keeps it honest)."""
    t = trainer(batchnorm=True)
    out = gradient_noise(t, cover=True)
    assert relative(out["average"], out["full"]["gradient"]) > 1e-6


def test_the_full_gradient_is_the_trainers_when_the_batch_is_the_whole_set() -> None:
    t = trainer(batch_size=50)
    before = t.net.theta.copy()
    full = gradient_noise(t, batches=2)["full"]["gradient"]
    assert np.array_equal(t.net.theta, before)  # nothing changed
    while t.phase["phase"] != "update":  # forward, loss, backward: the trainer's own gradient
        t.step_phase()
    assert relative(full, t.net.grad) <= 1e-12  # the same sums in a permuted order


def test_a_mini_batch_gradient_is_the_trainers_on_that_batch() -> None:
    t = trainer()
    idx = t._perm[t._pointer : t._pointer + t.batch_size].copy()  # the batch the trainer takes
    mine = batch_gradient(t, idx)
    t.step(1)  # a whole step on that batch: forward, loss, backward, update
    assert np.array_equal(t._xb, t.data.x_train[idx])
    assert relative(mine, t.net.grad) <= 1e-13
    # each layer's stored dW and db (views of the trainer's flat gradient)
    for mine_layer, layer in zip(layered(t.net, mine), t.net.layers, strict=True):
        assert np.allclose(mine_layer["W"], layer.dW, rtol=1e-12, atol=1e-15)
        assert np.allclose(mine_layer["b"], layer.db, rtol=1e-12, atol=1e-15)


def test_batches_are_drawn_as_the_trainer_draws_them() -> None:
    rng = np.random.default_rng(7)
    perm1, perm2 = rng.permutation(10), rng.permutation(10)
    got = draw_batches(10, 4, 5, 7)
    want = [perm1[0:4], perm1[4:8], perm1[8:10], perm2[0:4], perm2[4:8]]
    assert [g.tolist() for g in got] == [w.tolist() for w in want]


def test_cosines_norms_and_spread_match_numpy() -> None:
    t = trainer(batch_size=4)
    out = gradient_noise(t, batches=6, seed=11)
    full = out["full"]["gradient"]
    assert out["full"]["norm"] == pytest.approx(np.linalg.norm(full), rel=1e-14)
    cos = []
    for r in out["batches"]:
        g = r["gradient"]
        c = g @ full / (np.linalg.norm(g) * np.linalg.norm(full))
        assert -1.0 <= r["cosine"] <= 1.0
        assert r["cosine"] == pytest.approx(c, abs=1e-14)
        assert r["norm_ratio"] == pytest.approx(np.linalg.norm(g) / np.linalg.norm(full))
        cos.append(c)
    s = out["summary"]
    assert s["mean_cosine"] == pytest.approx(np.mean(cos), abs=1e-14)
    assert s["std_cosine"] == pytest.approx(np.std(cos), abs=1e-14)
    assert s["mean_angle_degrees"] == pytest.approx(np.degrees(np.arccos(np.mean(cos))))
    assert s["std_cosine"] > 0  # batches of 4 do point different ways


def test_nothing_of_the_trainer_changes_and_it_trains_on_the_same() -> None:
    t = trainer(dropout=0.3)
    twin = copy.deepcopy(t)
    gradient_noise(t, batches=4, seed=2)
    assert t.rng.bit_generator.state == twin.rng.bit_generator.state
    t.step(2)
    twin.step(2)
    assert np.array_equal(t.net.theta, twin.net.theta)


def test_plane_coefficients_reproduce_the_component_in_the_plane() -> None:
    t = trainer()
    g = gradient_noise(t, batches=1)["full"]["gradient"]
    rng = np.random.default_rng(0)
    params = [[p.copy() for p in layer.params] for layer in t.net.layers]
    d1, d2 = dirs.random_direction(params, rng), dirs.random_direction(params, rng)
    assert abs(d1 @ d2) > 1e-6 * np.linalg.norm(d1) * np.linalg.norm(d2)  # not orthogonal
    a, b = plane_coefficients(g, d1, d2)
    q, _ = np.linalg.qr(np.stack([d1, d2], axis=1))  # an orthonormal basis of the plane
    in_plane = q @ (q.T @ -g)
    assert relative(a * d1 + b * d2, in_plane) <= 1e-10
    (c,) = plane_coefficients(g, d1)
    assert c == pytest.approx(-(g @ d1) / (d1 @ d1), rel=1e-12)


def test_a_diverged_run_gives_no_error() -> None:
    t = trainer(optimizer={"name": "sgd", "lr": 1e6})
    t.step(20)
    out = gradient_noise(t, batches=3)
    assert set(out["summary"]) >= {"mean_cosine", "mean_norm_ratio"}


def test_bad_counts_are_refused() -> None:
    with pytest.raises(ValueError, match="batches"):
        gradient_noise(trainer(), batches=0)
