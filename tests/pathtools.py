"""Helpers for the trajectory tests and bench: a run recorded at every step, and the path the
page draws on a fresh 2-D PCA map, in units of the 300-unit drawing
(app/page/draw/loss_surface.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.sparse.linalg import svds

from engine.inspect.landscape import Slice
from engine.trainer import Trainer

PLOT = 300 - 2 * 28  # the plot's side in the 300-unit drawing


def every_step(config: dict[str, Any], steps: int) -> tuple[Trainer, np.ndarray]:
    """Train ``steps`` steps recording θ after each: (the trainer, (steps + 1, n) float64)."""
    t = Trainer(config)
    full = np.empty((steps + 1, t.net.theta.size))
    full[0] = t.net.theta
    for i in range(1, steps + 1):
        t.step(1)
        full[i] = t.net.theta
    return t, full


def distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Euclidean distance of each row of ``points`` to the polyline through ``line``'s rows."""
    a, ab = line[:-1], np.diff(line, axis=0)
    den = np.maximum((ab * ab).sum(axis=1), 1e-300)
    out = np.empty(len(points))
    for k, p in enumerate(points):
        t = np.clip(((p - a) * ab).sum(axis=1) / den, 0.0, 1.0)
        out[k] = np.sqrt((((a + t[:, None] * ab) - p) ** 2).sum(axis=1)).min()
    return out


def hausdorff(x: np.ndarray, y: np.ndarray) -> float:
    """Largest distance between two polylines (vertex to polyline, both ways)."""
    return float(max(distance_to_polyline(x, y).max(), distance_to_polyline(y, x).max()))


def drawn_pca(path: np.ndarray) -> np.ndarray:
    """The page's PCA drawing of ``path`` (rows, one per step; the last is θ now), computed
    independently of the engine: a plain SVD over every row, d₁ along the run, d₂ so the path
    closed by its chord turns counter-clockwise, framed by 1.25 × its extent around θ now."""
    _, s, vt = svds(path - path.mean(axis=0), k=2)  # ARPACK: the two largest, in some order
    vt = vt[np.argsort(-s)]
    d1 = vt[0] * np.sign(vt[0] @ (path[-1] - path[0]))
    x, y = (path - path[0]) @ d1, (path - path[0]) @ vt[1]
    d2 = vt[1] * np.sign(x @ np.roll(y, -1) - y @ np.roll(x, -1))
    coords = (path - path[-1]) @ np.stack([d1, d2], axis=1)
    return coords * PLOT / (2 * 1.25 * np.abs(coords).max())


def drawn_by_engine(trainer: Trainer) -> np.ndarray:
    """The path the page draws on a fresh 2-D PCA map of the trainer (its bounded record)."""
    info = Slice(trainer, {"kind": "2d", "directions": "pca", "resolution": 3}).info
    return np.asarray(info["path"]) * PLOT / (2 * info["range"])
