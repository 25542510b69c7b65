"""The bounded trajectory: its memory, its error bound, and the path the page draws from it.

The drawing is checked against an independent truth: every step of a real run recorded here,
its principal directions by a plain SVD over all steps, drawn the way the page draws a fresh
2-D PCA map (tests/pathtools.py).
"""

from __future__ import annotations

import numpy as np
import pytest
from pathtools import distance_to_polyline, drawn_by_engine, drawn_pca, every_step, hausdorff

from app.core.settings import Settings
from app.sessions.presets import PRESETS
from engine.trajectory import Trajectory

FEW_MB = 4 << 20  # "a few MB" a session, whatever the net's size


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


@pytest.mark.parametrize(
    ("preset", "steps"),
    [("digits-mlp", 1_000), pytest.param("circle-playground", 20_000, marks=pytest.mark.slow)],
)
def test_the_drawn_path_is_the_one_of_every_step(preset: str, steps: int) -> None:
    t, full = every_step(PRESETS[preset]["config"], steps)
    assert len(t.trajectory.points) <= steps / 10  # the bounded record was thinned
    deviation = hausdorff(drawn_by_engine(t), drawn_pca(full))
    assert deviation < 0.5, f"{preset}: the path moved {deviation:.2f} units of 300"
