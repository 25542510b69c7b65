"""The optimizer's path through weight space, kept for loss-landscape plots.

Every ``stride``-th iteration the flattened parameter vector θ (all W, b, γ, β in layer order)
is appended. Memory stays bounded: when the buffer holds ``capacity`` points, every other
point is dropped and the stride doubles, so a long run keeps an evenly spaced path from its
start to now. The first two principal directions of these points are the "PCA directions" of
Li et al. (2018) for 2-D landscape slices.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

MAX_FLOATS = 4_000_000  # ~32 MB of float64 at most for one session's path


class Trajectory:
    """Evenly thinned record of θ over iterations."""

    def __init__(self, theta: Array, capacity: int = 1000) -> None:
        n = theta.size
        self.capacity = max(16, min(capacity, MAX_FLOATS // max(n, 1)))
        self.stride = 1
        self.steps: list[int] = []
        self.points: list[Array] = []
        self.record(0, theta)

    def record(self, iteration: int, theta: Array) -> None:
        """Append θ if ``iteration`` falls on the stride (cheap no-op otherwise)."""
        if iteration % self.stride:
            return
        self.steps.append(iteration)
        self.points.append(theta.copy())
        if len(self.points) > self.capacity:
            self.points = self.points[::2]
            self.steps = self.steps[::2]
            self.stride *= 2

    def matrix(self) -> Array:
        """Recorded θ as rows, shape (T, n_params)."""
        return np.stack(self.points)

    def to_dict(self) -> dict[str, object]:
        return {
            "stride": self.stride,
            "steps": list(self.steps),
            "points": [p.tolist() for p in self.points],
        }

    def load(self, state: dict[str, object]) -> None:
        self.stride = int(state["stride"])  # type: ignore[call-overload]
        self.steps = [int(s) for s in state["steps"]]  # type: ignore[attr-defined]
        self.points = [np.asarray(p, dtype=np.float64) for p in state["points"]]  # type: ignore[attr-defined]
