"""The gradients the loss-surface panel draws at the current point: full batch and mini-batches,
written in the slice's directions.

The page draws what ``GET /api/sessions/{id}/gradient-noise`` answers (the same engine call,
engine/inspect/gradient_noise.py), for the page's own choice of batches:

* when one pass over the training set takes at most ``COVER_UP_TO`` batches, all of them
  (``cover``: they cover the data once, and their size-weighted average is the full gradient);
* otherwise ``BATCHES`` batches drawn from seed 0 (the same batches at every frame, so the
  arrows move only as much as the weights do).

Each gradient g becomes the coefficients of the step direction −g in the slice's basis
(:func:`engine.inspect.gradient_noise.plane_coefficients`): (α, β) on a 2-D slice, the slope
g·d₁ on a 1-D one (there the coefficient of −g is −g·d₁/‖d₁‖², and the slope dL/dα = g·d₁ is
what a tangent shows). The work limit of the REST route holds here too (a net too large for it
gets a sentence instead of arrows).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.api.gradient_noise import work
from app.core.settings import Settings
from engine.inspect.gradient_noise import gradient_noise, plane_coefficients
from engine.trainer import Trainer

Array = NDArray[np.float64]
COVER_UP_TO = 16  # a pass of at most this many batches is drawn whole
BATCHES = 8  # otherwise, this many seeded batches


def choice(t: Trainer) -> tuple[int, bool]:
    """(batches, cover) the page draws for the trainer's data and batch size."""
    per_pass = -(-t.n_train // t.batch_size)
    return (per_pass, True) if per_pass <= COVER_UP_TO else (BATCHES, False)


def noise_on_plane(
    t: Trainer, settings: Settings, d1: Array, d2: Array | None = None
) -> dict[str, Any]:
    """The arrows' numbers on the slice (d₁[, d₂]) through the trainer's weights:

    ``full`` and ``batches`` (coefficients of −g, or for 1-D the slopes g·d₁), ``in_plane``
    (‖projection of g‖ / ‖g‖: how much of the full gradient the plane shows), the engine's
    ``summary``, ``count``, ``batch_size``, ``n_train``, ``cover``, ``exact`` (the batches'
    average equals the full gradient to rounding), ``iteration``; or ``{"error": words}``."""
    batches, cover = choice(t)
    if work(t, batches, cover) > settings.max_noise_work:
        return {"error": "the net and data are too large to draw the gradients live"}
    r = gradient_noise(t, batches, 0, cover)
    full = r["full"]["gradient"]
    rows = r["batches"]
    out: dict[str, Any] = {
        "iteration": r["iteration"],
        "n_train": r["n_train"],
        "batch_size": r["batch_size"],
        "count": len(rows),
        "cover": cover,
        "summary": r["summary"],
        "sizes": [row["size"] for row in rows],
        "cosines": [row["cosine"] for row in rows],
    }
    diff = r["summary"]["average_difference"]
    out["exact"] = bool(cover and math.isfinite(diff) and diff <= 1e-9)
    if d2 is None:
        out["full"] = float(full @ d1)
        out["batches"] = [float(row["gradient"] @ d1) for row in rows]
        shown = abs(out["full"]) / math.sqrt(float(d1 @ d1))
    else:
        out["full"] = plane_coefficients(full, d1, d2)
        out["batches"] = [plane_coefficients(row["gradient"], d1, d2) for row in rows]
        shown = float(np.linalg.norm(out["full"][0] * d1 + out["full"][1] * d2))
    norm = r["full"]["norm"]
    out["in_plane"] = shown / norm if norm > 0 and math.isfinite(shown) else math.nan
    return out
