"""Gradient clipping by the total norm (torch.nn.utils.clip_grad_norm_).

Clipping bounds the length of a step's gradient without changing its direction, so one steep
batch cannot throw the weights off the loss surface; the trainer applies it between the
backward pass and the update when the config sets ``clip_norm``.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


def clip_grad_norm(grads: list[Array], max_norm: float) -> float:
    """Scale ``grads`` in place so their total 2-norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_``: ``‖g‖ = sqrt(Σ_i ‖g_i‖²)``,
    ``coef = min(max_norm / (‖g‖ + 1e-6), 1)``, ``g_i ← coef · g_i``. Returns ``‖g‖`` before
    clipping. A non-finite norm is returned without scaling (torch would multiply by 0 or NaN):
    the run is diverged either way, and the caller sees the untouched gradients.

    ``grads`` may be one flat (P,) vector or a list of arrays of any shapes.
    """
    if not max_norm > 0:
        raise ValueError(f"clip_grad_norm: invalid max_norm {max_norm!r}: must be > 0")
    total = math.sqrt(sum(float(np.vdot(g, g)) for g in grads))
    coef = max_norm / (total + 1e-6)
    if coef < 1.0 and math.isfinite(total):  # torch clamps coef at 1: a factor 1 changes nothing
        for g in grads:
            g *= coef
    return total
