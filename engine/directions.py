"""Directions in weight space for loss-landscape slices.

All directions are flat vectors over θ = (W₀, b₀, [γ₀, β₀], W₁, …) in the order of
``Network.params``. Three kinds:

* ``weight``: the unit vector of one chosen weight, so the slice moves that weight alone;
* ``random``: Gaussian, then *filter-normalised* (Li et al., 2018): for every neuron k of every
  layer the direction's column ``d[:, k]`` is rescaled to ``‖W[:, k]‖ / ‖d[:, k]‖ · d[:, k]``,
  so the slice's scale matches each neuron's own weight scale. Bias, γ and β directions are
  zero, as in the paper (a neuron with all-zero weights keeps a unit-norm direction);
* ``pca``: the first two principal directions of the recorded trajectory θ₀ … θ_T.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]
PARAM_NAMES = ("W", "b", "gamma", "beta")


def param_slots(layer_params: list[list[Array]]) -> dict[tuple[int, str], tuple[int, Array]]:
    """(layer, name) → (offset in θ, array) for every parameter."""
    slots = {}
    offset = 0
    for i, params in enumerate(layer_params):
        for name, p in zip(PARAM_NAMES, params, strict=False):
            slots[(i, name)] = (offset, p)
            offset += p.size
    return slots


def weight_direction(layer_params: list[list[Array]], spec: Any, field: str) -> tuple[Array, float]:
    """Unit vector on one weight ``{"layer", "param", "index"}``; returns (d, current value)."""
    if not isinstance(spec, dict):
        raise ValueError(f"{field}: expected {{'layer': i, 'param': 'W', 'index': [j, k]}}")
    slots = param_slots(layer_params)
    key = (spec.get("layer"), spec.get("param", "W"))
    if key not in slots:
        raise ValueError(f"{field}: no parameter {key[1]!r} in layer {key[0]!r}")
    offset, p = slots[key]
    index = spec.get("index", [0] * p.ndim)
    if (
        not isinstance(index, (list, tuple))
        or len(index) != p.ndim
        or any(
            isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n
            for i, n in zip(index, p.shape, strict=True)
        )
    ):
        raise ValueError(f"{field}.index: {index!r} is outside {key[1]} of shape {list(p.shape)}")
    n_total = sum(q.size for params in layer_params for q in params)
    d = np.zeros(n_total)
    flat = offset + int(np.ravel_multi_index(tuple(index), p.shape))
    d[flat] = 1.0
    return d, float(p[tuple(index)])


def random_direction(layer_params: list[list[Array]], rng: np.random.Generator) -> Array:
    """A filter-normalised Gaussian direction (see module docstring)."""
    parts = []
    for params in layer_params:
        W = params[0]
        d = rng.standard_normal(W.shape)
        d_norm = np.linalg.norm(d, axis=0)
        w_norm = np.linalg.norm(W, axis=0)
        scale = np.where(w_norm > 0, w_norm, 1.0) / np.where(d_norm > 0, d_norm, 1.0)
        parts.append((d * scale).ravel())
        parts.extend(np.zeros(p.size) for p in params[1:])
    return np.concatenate(parts)


def pca_directions(path: Array) -> tuple[Array, Array, Array]:
    """First two principal directions of trajectory rows ``path`` (T, P), and variance ratios."""
    if path.shape[0] < 3:
        raise ValueError(
            "directions: PCA needs a trajectory of at least 3 recorded steps; train first"
        )
    centered = path - path.mean(axis=0)
    _, s, vt = np.linalg.svd(centered, full_matrices=False)
    if s.size < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise ValueError("directions: the trajectory spans fewer than 2 directions; train longer")
    explained = (s**2 / np.sum(s**2))[:2]
    return vt[0].copy(), vt[1].copy(), explained


def project(path: Array, origin: Array, d1: Array, d2: Array | None) -> Array:
    """Least-squares coordinates (T, 1 or 2) of path points in the slice through ``origin``."""
    basis = d1[:, None] if d2 is None else np.stack([d1, d2], axis=1)
    gram = basis.T @ basis
    coords = np.linalg.solve(gram, basis.T @ (path - origin).T)
    return coords.T
