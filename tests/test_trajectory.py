"""The bounded trajectory: its memory, its error bound, and the path the page draws from it.

The drawing is checked against an independent truth: every step of a real run recorded here,
its principal directions by a plain SVD over all steps, drawn the way the page draws a fresh
2-D PCA map (engine/landscape.py frames the path with a 25 % margin on a 300-unit plot).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.linalg import svds

from app.presets import PRESETS
from app.settings import Settings
from engine.landscape import Slice
from engine.trainer import Trainer
from engine.trajectory import Trajectory

FEW_MB = 4 << 20  # "a few MB" a session, whatever the net's size
PLOT = 300 - 2 * 28  # the plot's side in the 300-unit drawing (app/render/surface.py)


def random_walk(n: int, steps: int, seed: int = 0) -> np.ndarray:
    """A path with a drift that turns (a curve) plus noise in every coordinate, (steps + 1, n)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, steps + 1)[:, None]
    a, b = rng.standard_normal(n), rng.standard_normal(n)
    return np.cumsum(0.02 * rng.standard_normal((steps + 1, n)), axis=0) + np.sin(3 * t) * a + t * b


@pytest.mark.parametrize("n", [25, 13_802, Settings().max_params])
def test_a_sessions_path_stays_within_a_few_mb(n: int) -> None:
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(n)
    traj = Trajectory(theta)
    steps = 5_000 if n < 1000 else 300
    most = 0
    for i in range(1, steps + 1):
        theta = theta + 0.01 * rng.standard_normal(n)
        traj.record(i, theta)
        most = max(most, sum(p.nbytes for p in traj.points))
    assert most <= FEW_MB, f"{n} parameters: the path held {most / 2**20:.1f} MiB"
    assert len(traj.points) >= 5 and traj.steps[0] == 0  # still a path from the start
    assert traj.steps[-1] > steps - 2 * traj.stride


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of ``points`` to the polyline through ``line``'s rows."""
    a, ab = line[:-1], np.diff(line, axis=0)
    den = np.maximum((ab * ab).sum(axis=1), 1e-300)
    out = np.empty(len(points))
    for k, p in enumerate(points):
        t = np.clip(((p - a) * ab).sum(axis=1) / den, 0.0, 1.0)
        out[k] = np.sqrt((((a + t[:, None] * ab) - p) ** 2).sum(axis=1)).min()
    return out


def test_every_recorded_point_is_within_the_error_bound() -> None:
    path = random_walk(50, 6_000)
    traj = Trajectory(path[0], capacity=40)
    recorded = [0]
    for i in range(1, len(path)):
        traj.record(i, path[i])
        if traj.steps[-1] == i:
            recorded.append(i)
    assert traj.stride >= 32  # it was thinned five times or more
    kept = traj.matrix()
    far = distance_to_polyline(path[recorded], kept).max()
    rounding = 1e-6 * np.abs(path).max() * np.sqrt(path.shape[1])  # float32 storage
    assert traj.error > 0 and far <= traj.error + rounding


def hausdorff(x: np.ndarray, y: np.ndarray) -> float:
    """Largest distance between two polylines (vertex to polyline, both ways)."""
    return float(max(distance_to_polyline(x, y).max(), distance_to_polyline(y, x).max()))


def drawn_full_path(full: np.ndarray) -> np.ndarray:
    """The page's PCA drawing of every step, in plot units: d₁ along the run, d₂ so the path
    closed by its chord turns counter-clockwise, framed by 1.25 × its extent around θ now."""
    _, s, vt = svds(full - full.mean(axis=0), k=2)  # ARPACK: the two largest, as (s, vt) rows
    vt = vt[np.argsort(-s)]
    d1 = vt[0] * np.sign(vt[0] @ (full[-1] - full[0]))
    x, y = (full - full[0]) @ d1, (full - full[0]) @ vt[1]
    d2 = vt[1] * np.sign(x @ np.roll(y, -1) - y @ np.roll(x, -1))
    coords = (full - full[-1]) @ np.stack([d1, d2], axis=1)
    return coords * PLOT / (2 * 1.25 * np.abs(coords).max())


@pytest.mark.parametrize(
    ("preset", "steps"), [("digits-mlp", 1_000), ("circle-playground", 20_000)]
)
def test_the_drawn_path_is_the_one_of_every_step(preset: str, steps: int) -> None:
    t = Trainer(PRESETS[preset]["config"])
    full = np.empty((steps + 1, t.net.theta.size))
    full[0] = t.net.theta
    for i in range(1, steps + 1):
        t.step(1)
        full[i] = t.net.theta
    assert len(t.trajectory.points) <= steps / 10  # the bounded record was thinned
    result = Slice(t, {"kind": "2d", "directions": "pca", "resolution": 3}).info
    drawn = np.asarray(result["path"]) * PLOT / (2 * result["range"])
    deviation = hausdorff(drawn, drawn_full_path(full))
    assert deviation < 0.5, f"{preset}: the path moved {deviation:.2f} units of 300"
