"""One loss surface for a race, with every run's path on it.

A race's runs start from one point θ₀ (app/sessions/races.py). The surface is run 0's data loss
(its network, loss and training split, in eval mode as :mod:`engine.inspect.landscape`) on the
plane through θ₀ spanned by d₁, d₂:

    L(α, β) = loss₀(θ₀ + α·d₁ + β·d₂)

It is *one* surface for every run only when the runs share what the loss is made of: the data,
the architecture, the output activation, the loss and the regularization (:data:`SURFACE_KEYS`).
A run that differs in one of them is projected anyway (if its parameters have run 0's shapes)
and reported ``same_surface = False`` with the keys that differ: its own surface is another.

Directions (all in float64):

* ``weights``: the unit vectors of two chosen weights (:func:`directions.weight_direction`);
* ``random``: two filter-normalised Gaussian directions scaled by θ₀'s neurons, seeded;
* ``pca``: the first two right singular vectors of every run's trajectory points stacked,
  minus θ₀, D = [θ_i,t − θ₀] (ΣT, P): the plane through θ₀ that best fits all the runs'
  displacements together (uncentred, since the plane must pass through the common start).

A run's path is its recorded points projected by least squares onto (d₁, d₂) (the directions
are not orthonormal for ``random``): c = (BᵀB)⁻¹Bᵀ(θ − θ₀), B = [d₁ d₂] (P, 2).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
from numpy.typing import NDArray

from engine.inspect import directions as dirs
from engine.inspect.landscape import Slice
from engine.numbers import finite
from engine.trainer import Trainer
from engine.trajectory import Trajectory

Array = NDArray[np.float64]

# config keys whose values make the loss function itself (dropout, optimizer, schedule, batch
# size and seed change the path, not the surface; batch norm adds parameters and changes it)
SURFACE_KEYS = ("dataset", "hidden", "output_activation", "loss", "regularization", "batchnorm")
MODES = ("weights", "random", "pca")
DEFAULT_SPAN = {"weights": 2.0, "random": 1.0, "pca": 1e-3}


@dataclass
class Plane:
    """The plane θ₀ + α·d₁ + β·d₂ and how its directions were chosen (``info``)."""

    origin: Array
    d1: Array
    d2: Array
    info: dict[str, Any] = field(default_factory=dict)

    def project(self, points: Array) -> Array:
        """Least-squares (α, β) of each row of ``points`` (T, P) → (T, 2)."""
        return dirs.project(np.atleast_2d(points), self.origin, self.d1, self.d2)


def differs(base: dict[str, Any], config: dict[str, Any]) -> list[str]:
    """The :data:`SURFACE_KEYS` whose values differ between two full configs."""
    return [k for k in SURFACE_KEYS if base.get(k) != config.get(k)]


def start_of(trainer: Trainer) -> Array:
    """θ₀: the trajectory's first point (recorded at step 0, float32-rounded; see
    engine/trajectory.py), as float64."""
    traj = trainer.trajectory
    if not traj.steps or traj.steps[0] != 0:
        raise ValueError("race: run 0's trajectory does not start at step 0")
    return np.asarray(traj.points[0], dtype=np.float64)


def layer_params_at(trainer: Trainer, theta: Array) -> list[list[Array]]:
    """``trainer``'s parameter arrays (per layer) holding the flat vector ``theta``."""
    out, k = [], 0
    for layer in trainer.net.layers:
        params = []
        for q in layer.params:
            params.append(theta[k : k + q.size].reshape(q.shape).copy())
            k += q.size
        out.append(params)
    return out


def plane(
    trainer: Trainer,
    origin: Array,
    mode: str,
    *,
    seed: int = 0,
    weights: Any = None,
    paths: list[Array] | None = None,
) -> Plane:
    """The plane through ``origin`` (θ₀) for run 0's ``trainer`` by ``mode`` (module docstring);
    ``paths`` are the runs' trajectory points (T_i, P) that PCA stacks."""
    if mode not in MODES:
        raise ValueError(f"directions: invalid {mode!r}: choose one of {MODES}")
    layer_params = layer_params_at(trainer, origin)
    info: dict[str, Any] = {"directions": mode}
    if mode == "weights":
        if not isinstance(weights, list) or len(weights) != 2:
            raise ValueError("weight: give 2 weights as layer:param:index, e.g. 0:W:0,0")
        d1, v1 = dirs.weight_direction(layer_params, weights[0], "weight.0")
        d2, v2 = dirs.weight_direction(layer_params, weights[1], "weight.1")
        if np.array_equal(d1, d2):
            raise ValueError("weight: the two weights must differ")
        info.update(weights=weights, values=[v1, v2])
    elif mode == "random":
        rng = np.random.default_rng(seed)
        d1 = dirs.random_direction(layer_params, rng)
        d2 = dirs.random_direction(layer_params, rng)
        info["seed"] = seed
    else:
        d1, d2, explained = pca_of_runs(origin, paths or [])
        info["explained_variance"] = explained.tolist()
    return Plane(origin, d1, d2, info)


def pca_of_runs(origin: Array, paths: list[Array]) -> tuple[Array, Array, Array]:
    """First two principal directions of every run's displacement θ − θ₀, stacked (uncentred
    SVD of D (ΣT, P)), and their shares of Σσ². Signs: d₁ and d₂ point the way the runs went
    on average (dᵢ · ΣD ≥ 0; for d₂ the largest |component| positive when that is 0)."""
    rows = [p - origin for p in paths if p.shape[0]]
    if not rows:
        raise ValueError("directions: PCA needs the runs' trajectories; train first")
    disp = np.vstack(rows)
    _, s, vt = np.linalg.svd(disp, full_matrices=False)
    if s.size < 2 or s[1] <= 1e-12 * max(s[0], 1e-300):
        raise ValueError("directions: the runs' paths span fewer than 2 directions; train longer")
    total = disp.sum(axis=0)
    out = []
    for v in vt[:2]:
        sign = float(v @ total)
        if abs(sign) <= 1e-12 * float(np.abs(total).sum()):
            sign = float(v[np.argmax(np.abs(v))])
        out.append(v.copy() if sign >= 0 else -v)
    return out[0], out[1], s[:2] ** 2 / float(np.sum(s**2))


def run_path(p: Plane, trainer: Trainer) -> dict[str, Any]:
    """One run on the plane: its recorded points projected, and its current point."""
    path, steps = trainer.trajectory.to_now(trainer.net.theta, trainer.iteration)
    if path.shape[1] != p.origin.shape[0]:
        return {"path": [], "steps": [], "current": None, "projected": False}
    coords = p.project(path)
    return {
        "path": finite(coords),
        "steps": steps,
        "current": finite(coords[-1]),
        "projected": True,
    }


class _AtStart:
    """Run 0's network at θ₀ with its data: what :class:`Slice` reads of a trainer."""

    def __init__(self, trainer: Trainer, origin: Array) -> None:
        self.net = copy.deepcopy(trainer.net)
        for q, v in zip(self.net.params, _split(origin, self.net.params), strict=True):
            q[...] = v
        self.data = trainer.data
        self.iteration = 0
        self.trajectory = Trajectory(origin)


def _split(theta: Array, like: list[Array]) -> list[Array]:
    out, k = [], 0
    for q in like:
        out.append(theta[k : k + q.size].reshape(q.shape))
        k += q.size
    return out


def default_span(mode: str, paths: list[list[list[float]]]) -> float:
    """Half the window: the mode's default, widened so every path fits with a 25% margin."""
    reach = max((abs(v) for path in paths for pt in path for v in pt if v is not None), default=0)
    return max(DEFAULT_SPAN[mode], 1.25 * float(reach))


def grid(trainer: Trainer, p: Plane, span: float, resolution: int) -> dict[str, Any]:
    """Run 0's loss on a ``resolution``² grid of α, β ∈ [−span, span] (row i is β_i)."""
    start = _AtStart(trainer, p.origin)
    ax = np.linspace(-span, span, resolution)
    sl = Slice.along(cast("Trainer", start), p.d1, p.d2, alphas=ax, betas=ax)
    losses = np.concatenate([r for _, r in sl.rows()], axis=0)
    seen = losses[np.isfinite(losses)]
    return {
        "alphas": ax.tolist(),
        "betas": ax.tolist(),
        "losses": finite(losses),
        "min": float(seen.min()) if seen.size else None,
        "max": float(seen.max()) if seen.size else None,
        "range": span,
        "resolution": resolution,
    }
