"""Seeded 2-D toy data: TensorFlow Playground's six sets plus moons, blobs and K-arm spirals.

Every generator has the signature ``f(n, noise, rng, ...) -> (x, t)`` with raw points ``x`` (n, 2)
float64 in about [-6, 6]² and targets ``t`` (n,): int64 class labels (0/1, or 0..K-1) for
classification, float64 values for regression. Classes are generated one after another (the
caller shuffles); class sizes differ by at most one.

``noise`` follows Playground's slider divided by 100 (Playground offers 0–50 %, i.e. 0–0.5 here;
up to 1.0 is allowed and extrapolates the same formulas). Following Playground, ``circle``,
``xor`` and the regression sets put the noise on the *label* (a point keeps its place but is
labelled as if it sat at ``x + u * noise``, ``u ~ U(-r, r)``), while ``gaussians``, ``spiral``,
``moons`` and ``blobs`` move the points themselves.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
Labels = NDArray[np.int64]

DOMAIN = (-6.0, 6.0, -6.0, 6.0)  # Playground draws x1, x2 in [-6, 6]


def class_sizes(n: int, k: int) -> list[int]:
    """Split ``n`` points into ``k`` classes whose sizes differ by at most one (larger first)."""
    return [n // k + (1 if c < n % k else 0) for c in range(k)]


def _labels(sizes: list[int]) -> Labels:
    return np.repeat(np.arange(len(sizes), dtype=np.int64), sizes)


def _gauss_std(noise: float) -> float:
    # Playground maps noise 0..0.5 linearly to a variance of 0.5..4 (slope 7).
    return math.sqrt(0.5 + 7.0 * noise)


def circle(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Labels]:
    """Label 1 inside radius 2.5 (|x| ~ U(0, 2.5)), label 0 in the ring |x| ~ U(3.5, 5).

    The label is 1 iff ``|x + e| < 2.5`` with ``e ~ U(-5, 5)² * noise``; noise 0 leaves a clean gap.
    """
    radius = 5.0
    sizes = class_sizes(n, 2)  # sizes[0] inside, sizes[1] in the ring
    r = np.concatenate(
        [rng.uniform(0.0, radius * 0.5, sizes[0]), rng.uniform(radius * 0.7, radius, sizes[1])]
    )
    angle = rng.uniform(0.0, 2.0 * math.pi, n)
    x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    shifted = x + rng.uniform(-radius, radius, (n, 2)) * noise
    inside = np.hypot(shifted[:, 0], shifted[:, 1]) < radius * 0.5
    return x, inside.astype(np.int64)


def xor(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Labels]:
    """Points uniform in the four quadrants (kept 0.3 off the axes); label 1 iff x1 * x2 >= 0."""
    x = rng.uniform(-5.0, 5.0, (n, 2))
    x += np.where(x > 0, 0.3, -0.3)  # Playground's padding keeps a visible cross-shaped gap
    shifted = x + rng.uniform(-5.0, 5.0, (n, 2)) * noise
    return x, (shifted[:, 0] * shifted[:, 1] >= 0).astype(np.int64)


def gaussians(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Labels]:
    """Two isotropic Gaussians: label 1 around (2, 2), label 0 around (-2, -2).

    Variance per axis ``0.5 + 7 * noise`` (Playground: 0.5 at 0 % noise, 4 at 50 %).
    """
    sizes = class_sizes(n, 2)
    std = _gauss_std(noise)
    x = np.concatenate([rng.normal(2.0, std, (sizes[0], 2)), rng.normal(-2.0, std, (sizes[1], 2))])
    return x, 1 - _labels(sizes)


def _spiral_arms(sizes: list[int], noise: float, rng: np.random.Generator) -> Array:
    """Arm k: for i < n_k, r = 5 i / n_k, t = 1.75 * 2π i / n_k + 2π k / K,
    point (r sin t, r cos t) + U(-1, 1)² * noise (Playground's spiral with K arms)."""
    k = len(sizes)
    parts = []
    for arm, size in enumerate(sizes):
        frac = np.arange(size, dtype=np.float64) / max(size, 1)
        r = 5.0 * frac
        t = 1.75 * 2.0 * math.pi * frac + 2.0 * math.pi * arm / k
        parts.append(np.column_stack([r * np.sin(t), r * np.cos(t)]))
    x = np.concatenate(parts)
    x += rng.uniform(-1.0, 1.0, x.shape) * noise
    return x


def spiral(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Labels]:
    """Playground's two interleaved spirals (2 × 1.75 turns); the arm starting at angle 0 is 1."""
    sizes = class_sizes(n, 2)
    return _spiral_arms(sizes, noise, rng), 1 - _labels(sizes)


def spirals(n: int, noise: float, rng: np.random.Generator, n_classes: int) -> tuple[Array, Labels]:
    """``n_classes`` interleaved spiral arms, arm k rotated by 2π k / K; label = arm index."""
    sizes = class_sizes(n, n_classes)
    return _spiral_arms(sizes, noise, rng), _labels(sizes)


def moons(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Labels]:
    """Two interleaving half circles, scaled by 3 and centred on the origin.

    Label 0: (cos s, sin s); label 1: (1 - cos s, 1/2 - sin s), s ~ U(0, π); then
    ``3 * (p - (1/2, 1/4))`` plus Gaussian jitter of std ``1.5 * noise`` per axis.
    """
    sizes = class_sizes(n, 2)
    s = rng.uniform(0.0, math.pi, n)
    c, si = np.cos(s), np.sin(s)
    upper = slice(0, sizes[0])
    lower = slice(sizes[0], n)
    x = np.empty((n, 2), dtype=np.float64)
    x[upper, 0] = c[upper]
    x[upper, 1] = si[upper]
    x[lower, 0] = 1.0 - c[lower]
    x[lower, 1] = 0.5 - si[lower]
    x -= (0.5, 0.25)
    x *= 3.0
    x += rng.normal(0.0, 1.5 * noise, (n, 2))
    return x, _labels(sizes)


def blobs(n: int, noise: float, rng: np.random.Generator, n_classes: int) -> tuple[Array, Labels]:
    """``n_classes`` Gaussian blobs centred on the circle of radius 4, class k at angle
    π/2 + 2π k / K, with the per-axis variance of :func:`gaussians` (``0.5 + 7 * noise``)."""
    sizes = class_sizes(n, n_classes)
    angle = math.pi / 2 + 2.0 * math.pi * np.arange(n_classes) / n_classes
    centres = 4.0 * np.column_stack([np.cos(angle), np.sin(angle)])
    x = np.repeat(centres, sizes, axis=0)
    x += rng.normal(0.0, _gauss_std(noise), (n, 2))
    return x, _labels(sizes)


def _uniform_with_shift(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    x = rng.uniform(-6.0, 6.0, (n, 2))
    return x, x + rng.uniform(-6.0, 6.0, (n, 2)) * noise


def plane(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Playground's "reg-plane": x ~ U(-6, 6)², target (x1 + x2) / 10 at the label-noised point."""
    x, shifted = _uniform_with_shift(n, noise, rng)
    return x, (shifted[:, 0] + shifted[:, 1]) / 10.0


# Playground's "reg-gauss" bumps: (centre x1, centre x2, sign).
_BUMPS = np.array(
    [[-4.0, 2.5, 1.0], [0.0, 2.5, -1.0], [4.0, 2.5, 1.0],
     [-4.0, -2.5, -1.0], [0.0, -2.5, 1.0], [4.0, -2.5, -1.0]]
)  # fmt: skip


def gauss_bumps(n: int, noise: float, rng: np.random.Generator) -> tuple[Array, Array]:
    """Playground's "reg-gauss": six cones of radius 2 with signs ±1.

    Bump j gives ``s_j * clip(1 - d_j / 2, 0, 1)`` with d_j the distance to its centre; the target
    is the bump value of largest magnitude (first one on ties), at the label-noised point.
    """
    x, s = _uniform_with_shift(n, noise, rng)
    d = np.hypot(s[:, None, 0] - _BUMPS[:, 0], s[:, None, 1] - _BUMPS[:, 1])  # (n, 6)
    values = _BUMPS[:, 2] * np.clip(1.0 - d / 2.0, 0.0, 1.0)
    best = np.argmax(np.abs(values), axis=1)
    return x, values[np.arange(n), best]
