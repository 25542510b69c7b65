"""The 2-D generators' geometry: each set lies where Playground's formulas put it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.datasets import Dataset, make_dataset

ALL_TRAIN = {"train": 1.0, "val": 0.0, "test": 0.0}


def whole(name: str, **params: object) -> Dataset:
    """The whole set in the training part (unshuffled content, shuffled order)."""
    return make_dataset({"name": name, "split": ALL_TRAIN, **params})


# --------------------------------------------------------------------------- geometry


def test_circle_without_noise_is_separable_by_radius() -> None:
    ds = whole("circle", n_samples=1000)
    r = np.hypot(ds.raw_train[:, 0], ds.raw_train[:, 1])
    inside = ds.y_train[:, 0] == 1
    assert r[inside].max() < 2.5 <= 3.5 <= r[~inside].min()
    assert r.max() <= 5.0


def test_circle_noise_flips_some_labels() -> None:
    ds = whole("circle", n_samples=1000, noise=0.5)
    r = np.hypot(ds.raw_train[:, 0], ds.raw_train[:, 1])
    assert np.any((r < 2.5) != (ds.y_train[:, 0] == 1))


def test_xor_label_is_the_sign_of_x1_x2() -> None:
    ds = whole("xor", n_samples=1000)
    x1, x2 = ds.raw_train.T
    assert np.all(np.abs(ds.raw_train) >= 0.3)  # Playground's padding off the axes
    np.testing.assert_array_equal(ds.y_train[:, 0], (x1 * x2 > 0).astype(float))
    noisy = whole("xor", n_samples=1000, noise=0.5)
    assert np.any(noisy.y_train[:, 0] != (noisy.raw_train[:, 0] * noisy.raw_train[:, 1] > 0))


def test_gaussians_centres_and_variance() -> None:
    ds = whole("gaussians", n_samples=5000, noise=0.25)
    for label, centre in ((1.0, 2.0), (0.0, -2.0)):
        pts = ds.raw_train[ds.y_train[:, 0] == label]
        np.testing.assert_allclose(pts.mean(axis=0), [centre, centre], atol=0.15)
        np.testing.assert_allclose(pts.var(axis=0), [0.5 + 7 * 0.25] * 2, rtol=0.1)


def _angle_residual(x: np.ndarray, phase: float) -> np.ndarray:
    """Angular distance (mod 2π) of each point from the spiral t = 2π · 1.75 · r / 5 + phase."""
    r = np.hypot(x[:, 0], x[:, 1])
    t = np.arctan2(x[:, 0], x[:, 1])  # points are (r sin t, r cos t)
    d = np.mod(t - (2 * math.pi * 1.75 * r / 5 + phase), 2 * math.pi)
    return np.minimum(d, 2 * math.pi - d)


def test_spiral_points_lie_on_two_arms() -> None:
    ds = whole("spiral", n_samples=400)
    pts, y = ds.raw_train, ds.y_train[:, 0]
    far = np.hypot(pts[:, 0], pts[:, 1]) > 1e-9  # r = 0 has no angle
    assert np.all(_angle_residual(pts[(y == 1) & far], 0.0) < 1e-9)
    assert np.all(_angle_residual(pts[(y == 0) & far], math.pi) < 1e-9)
    assert np.hypot(pts[:, 0], pts[:, 1]).max() < 5.0


@pytest.mark.parametrize("k", [3, 4, 5])
def test_spirals_have_k_arms(k: int) -> None:
    ds = whole("spirals", n_samples=300, n_classes=k)
    for c in range(k):
        pts = ds.raw_train[ds.y_train == c]
        far = np.hypot(pts[:, 0], pts[:, 1]) > 1e-9
        assert np.all(_angle_residual(pts[far], 2 * math.pi * c / k) < 1e-9)


def test_moons_without_noise_lie_on_two_unit_half_circles() -> None:
    ds = whole("moons", n_samples=500)
    q = ds.raw_train / 3.0 + (0.5, 0.25)  # undo the centring and scaling
    upper, lower = q[ds.y_train[:, 0] == 0], q[ds.y_train[:, 0] == 1]
    np.testing.assert_allclose(np.hypot(upper[:, 0], upper[:, 1]), 1.0, atol=1e-12)
    np.testing.assert_allclose(np.hypot(lower[:, 0] - 1, lower[:, 1] - 0.5), 1.0, atol=1e-12)
    assert upper[:, 1].min() >= -1e-12 and lower[:, 1].max() <= 0.5 + 1e-12


@pytest.mark.parametrize("k", [3, 4, 5])
def test_blobs_centres_on_radius_4_and_balanced(k: int) -> None:
    ds = whole("blobs", n_samples=3001, n_classes=k)
    counts = np.bincount(ds.y_train, minlength=k)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 3001
    for c in range(k):
        centre = ds.raw_train[ds.y_train == c].mean(axis=0)
        angle = math.pi / 2 + 2 * math.pi * c / k
        np.testing.assert_allclose(centre, [4 * math.cos(angle), 4 * math.sin(angle)], atol=0.15)


def test_reg_plane_without_noise() -> None:
    ds = whole("reg_plane", n_samples=200)
    x1, x2 = ds.raw_train.T
    np.testing.assert_allclose(ds.y_train[:, 0], (x1 + x2) / 10, rtol=0, atol=1e-15)
    assert np.abs(ds.raw_train).max() <= 6


def test_reg_gauss_matches_a_pointwise_loop() -> None:
    bumps = [(-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1)]

    def label(x: float, y: float) -> float:  # Playground's getLabel, written as a loop
        best = 0.0
        for cx, cy, sign in bumps:
            value = sign * min(1.0, max(0.0, 1 - math.dist((x, y), (cx, cy)) / 2))
            if abs(value) > abs(best):
                best = value
        return best

    ds = whole("reg_gauss", n_samples=300)
    expected = [label(a, b) for a, b in ds.raw_train]
    np.testing.assert_allclose(ds.y_train[:, 0], expected, rtol=0, atol=1e-12)
    assert label(4.0, 2.5) == 1.0 and label(0.0, 2.5) == -1.0


@pytest.mark.parametrize("name", ["blobs", "spirals"])
@pytest.mark.parametrize("bad", [2, 6, 3.5, "3", True])
def test_n_classes_is_validated(name: str, bad: object) -> None:
    with pytest.raises(ValueError, match="n_classes"):
        make_dataset({"name": name, "n_classes": bad})
