"""The optimizer's path through weight space, kept for loss-landscape plots.

Every ``stride``-th iteration the flattened parameter vector θ (all W, b, γ, β in layer order)
is appended. The first two principal directions of these points are the "PCA directions" of
Li et al. (2018) for 2-D landscape slices, and the page draws the path projected on a slice.

Memory is bounded by ``MAX_BYTES`` a session, whatever the net's size: the buffer holds at most
``capacity`` points; when it is full, a quarter of them are dropped and the stride doubles, so
a run of any length keeps a path from its start to now. Which points go decides what the
drawing looks like. Dropping every other point (the rule before) spends the points evenly in
time and cuts the corners of the run's early, fast part; here the points go whose removal
moves the polyline least (a Visvalingam-style greedy simplification in θ-space), so points stay
where the path bends or moves fast. Since the kept points are not evenly spaced in time, PCA
weighs them by the time they stand for (``engine.inspect.directions.pca_directions`` with steps).

Each kept segment (θ_a, θ_b) carries a bound e_ab on how far the recorded points it replaced
lie from it. Removing θ_i between θ_a and θ_b gives the merged segment

    e_ab = max(e_ai, e_ib) + dist(θ_i, [θ_a, θ_b])

(a point of [θ_a, θ_i] is at most dist(θ_i, [θ_a, θ_b]) from [θ_a, θ_b], by convexity), and the
greedy removes the point with the smallest merged bound. ``error`` is the largest: every
recorded point lies within it of the kept polyline (Euclidean in θ-space), so any projection
P of the path onto a slice moves by at most ‖P‖·``error`` (PCA directions: ‖P‖ = 1).

Points are kept as float32 (half the bytes of float64); :meth:`matrix` gives float64 back. The
rounding moves a point by |θ|·6e-8, far below what a 300-pixel drawing shows (the bench and
tests/unit/engine/test_trajectory.py measure it). A kept point is never changed, only dropped:
app/training/transfer.py names points by their step.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

STORE = np.float32
# 4 MiB of points a session (a digits-mlp net of 13.8k parameters keeps 75, a 100k one 10);
# measured on the presets the drawn path stays well under a pixel from the one drawn from every
# step (bench/bench_memory.py), while 20 sessions of an owner hold 80 MB of paths at most
MAX_BYTES = 4 << 20
# more points draw no better on a 300-pixel plot but cost every surface frame's SVG text
MAX_POINTS = 1000
MIN_POINTS = 8  # PCA needs three; 8 points exceed MAX_BYTES past 131k parameters (not served)


class Trajectory:
    """Shape-preserving thinned record of θ over iterations (see the module docstring)."""

    def __init__(self, theta: Array, capacity: int = MAX_POINTS) -> None:
        point_bytes = max(theta.size, 1) * np.dtype(STORE).itemsize
        self.capacity = max(MIN_POINTS, min(capacity, MAX_BYTES // point_bytes))
        self.stride = 1
        self.steps: list[int] = []
        self.points: list[NDArray[np.float32]] = []
        self.errors: list[float] = []  # errors[i]: bound of the segment from point i to i + 1
        self.record(0, theta)

    @property
    def nbytes(self) -> int:
        return sum(p.nbytes for p in self.points)

    @property
    def error(self) -> float:
        """Largest distance (θ-space) of any recorded point from the kept polyline."""
        return max(self.errors, default=0.0)

    def record(self, iteration: int, theta: Array) -> None:
        """Append θ if ``iteration`` falls on the stride (cheap no-op otherwise)."""
        if iteration % self.stride:
            return
        self.steps.append(iteration)
        self.points.append(theta.astype(STORE))
        self.errors.append(0.0)
        if len(self.points) >= self.capacity:
            self._thin(self.capacity * 3 // 4)
            self.stride *= 2

    def matrix(self) -> Array:
        """Recorded θ as rows, shape (T, n_params), float64."""
        return np.stack(self.points).astype(np.float64)

    def to_now(self, theta: Array, iteration: int) -> tuple[Array, list[int]]:
        """The recorded path as float64 rows and their steps, ending exactly at θ now.

        The last recorded point is up to a stride behind (and float32): θ of ``iteration``
        replaces it or is appended, so the path, and the PCA over its time, reach the present."""
        path, steps = self.matrix(), list(self.steps)
        if steps[-1] == iteration:
            path[-1] = theta
        else:
            path = np.vstack([path, theta[None]])
            steps.append(iteration)
        return path, steps

    def _thin(self, keep: int) -> None:
        """Drop points (never the first or last) until ``keep`` are left, cheapest first."""
        n = len(self.points)
        prev, nxt = list(range(-1, n - 1)), list(range(1, n + 1))
        errors = self.errors
        version = [0] * n

        def merged(i: int) -> float:
            a, b = prev[i], nxt[i]
            return max(errors[a], errors[i]) + _segment_distance(
                self.points[i], self.points[a], self.points[b]
            )

        heap = [(merged(i), i, 0) for i in range(1, n - 1)]
        heapq.heapify(heap)
        gone = [False] * n
        left = n
        while left > keep and heap:
            cost, i, v = heapq.heappop(heap)
            if gone[i] or v != version[i]:
                continue  # stale: its neighbours changed since
            a, b = prev[i], nxt[i]
            gone[i], left = True, left - 1
            errors[a] = cost
            nxt[a], prev[b] = b, a
            for j in (a, b):
                if 0 < j < n - 1:
                    version[j] += 1
                    heapq.heappush(heap, (merged(j), j, version[j]))
        kept = [i for i in range(n) if not gone[i]]
        self.steps = [self.steps[i] for i in kept]
        self.points = [self.points[i] for i in kept]
        self.errors = [errors[i] for i in kept]
        self.errors[-1] = 0.0

    def to_dict(self) -> dict[str, object]:
        return {
            "stride": self.stride,
            "steps": list(self.steps),
            "points": [p.tolist() for p in self.points],
            "errors": list(self.errors),
        }

    def load(self, state: dict[str, object]) -> None:
        self.stride = int(state["stride"])  # type: ignore[call-overload]
        self.steps = [int(s) for s in state["steps"]]  # type: ignore[attr-defined]
        self.points = [np.asarray(p, dtype=STORE) for p in state["points"]]  # type: ignore[attr-defined]
        errors = state.get("errors") or [0.0] * len(self.points)
        self.errors = [float(e) for e in errors]  # type: ignore[attr-defined]


def _segment_distance(
    p: NDArray[np.float32], a: NDArray[np.float32], b: NDArray[np.float32]
) -> float:
    """Euclidean distance (float64) from point p to the segment [a, b]."""
    ab = np.subtract(b, a, dtype=np.float64)
    ap = np.subtract(p, a, dtype=np.float64)
    den = float(ab @ ab)
    t = min(max(float(ap @ ab) / den, 0.0), 1.0) if den > 0 else 0.0
    ap -= t * ab
    return float(np.sqrt(ap @ ap))
