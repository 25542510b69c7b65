"""Directions in weight space for loss-landscape slices.

All directions are flat vectors over θ = (W₀, b₀, [γ₀, β₀], W₁, …) in the order of
``Network.params``. Three kinds:

* ``weight``: the unit vector of one chosen weight, so the slice moves that weight alone;
* ``random``: Gaussian, then *filter-normalised* (Li et al., 2018): for every neuron k of every
  layer the direction's column ``d[:, k]`` is rescaled to ``‖W[:, k]‖ / ‖d[:, k]‖ · d[:, k]``,
  so the slice's scale matches each neuron's own weight scale. Bias, γ and β directions are
  zero, as in the paper (a neuron with all-zero weights keeps a unit-norm direction);
* ``pca``: the first two principal directions of the recorded trajectory θ₀ … θ_T, taken over
  time along it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.layers import param_names

Array = NDArray[np.float64]


def param_slots(layer_params: list[list[Array]]) -> dict[tuple[int, str], tuple[int, Array]]:
    """(layer, name) → (offset in θ, array) for every parameter."""
    slots = {}
    offset = 0
    for i, params in enumerate(layer_params):
        for name, p in zip(param_names(len(params)), params, strict=True):
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


def pca_directions(path: Array, steps: Any = None) -> tuple[Array, Array, Array]:
    """First two principal directions of trajectory rows ``path`` (T, P), and variance ratios.

    Without ``steps`` each row is one sample. With ``steps`` (T,), the iterations the rows were
    recorded at, the rows are a polyline through time (a thinned trajectory keeps more points
    where the path bends: engine/trajectory.py), and the directions are those of a point moving
    along it one segment per its Δ iterations, which approximate those of every step of the
    run. A segment (a, b) contributes its midpoint m = (a + b)/2 with weight Δ and its own
    spread Δ·(b − a)(b − a)ᵀ/12 (a uniform point on it), so the SVD's rows are √Δ·(m − μ) and
    √(Δ/12)·(b − a), with μ = Σ Δ m / Σ Δ.

    Signs, so the same path recorded more or less densely (or a little longer) is drawn the same
    way round: d₁ points the way the run went, d₁·(θ_T − θ₀) ≥ 0; d₂ makes the path, closed by
    its chord, turn counter-clockwise in (d₁, d₂) (signed area ≥ 0). Unlike d₂·(θ_T − θ₀),
    which is near 0 when the run went along d₁, the area keeps its sign when d₂ tilts a little.
    """
    if path.shape[0] < 3:
        raise ValueError(
            "directions: PCA needs a trajectory of at least 3 recorded steps; train first"
        )
    rows = path - path.mean(axis=0)
    if steps is not None:
        dt = np.diff(np.asarray(steps, dtype=np.float64))
        if dt.sum() > 0:
            mid = (path[:-1] + path[1:]) / 2
            mu = dt @ mid / dt.sum()
            spread = (path[1:] - path[:-1]) * np.sqrt(dt / 12)[:, None]
            rows = np.vstack([(mid - mu) * np.sqrt(dt)[:, None], spread])
    _, s, vt = np.linalg.svd(rows, full_matrices=False)
    if s.size < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise ValueError("directions: the trajectory spans fewer than 2 directions; train longer")
    explained = (s**2 / np.sum(s**2))[:2]
    d1 = vt[0] if vt[0] @ (path[-1] - path[0]) >= 0 else -vt[0]
    x, y = ((path - path[0]) @ np.stack([d1, vt[1]], axis=1)).T  # coordinates, (T,) each
    area = float(x @ np.roll(y, -1) - y @ np.roll(x, -1))  # shoelace: twice the signed area
    d2 = vt[1] if area >= 0 else -vt[1]
    return d1.copy(), d2.copy(), explained


def project(path: Array, origin: Array, d1: Array, d2: Array | None) -> Array:
    """Least-squares coordinates (T, 1 or 2) of path points in the slice through ``origin``."""
    basis = d1[:, None] if d2 is None else np.stack([d1, d2], axis=1)
    gram = basis.T @ basis
    coords = np.linalg.solve(gram, basis.T @ (path - origin).T)
    return coords.T
