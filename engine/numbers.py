"""Numbers leaving the engine: non-finite values become None (JSON's null).

JSON has no NaN or Infinity, and a reader should see "no value" rather than a made-up number,
so every readout, landscape and stored record passes through :func:`finite`. Non-finite
numbers only appear in a run's last, diverged step (its gradients or loss), or in a loss
landscape far from the weights.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def finite(obj: Any, bound: float = math.inf) -> Any:
    """A JSON-ready copy of ``obj`` with every float ``x`` with ``|x| ≥ bound`` (by default:
    every NaN or ±Infinity, as ``|NaN| < ∞`` is false) replaced by None.

    Floats (NumPy's float64 too) come back as they are or None; arrays of any shape become
    nested lists (``ndarray.tolist()``); dicts, lists and tuples are copied with their items
    cleaned (tuples become lists); anything else is returned unchanged.
    """
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind != "f":
            return obj.tolist()
        keep = np.isfinite(obj) if bound == math.inf else np.abs(obj) < bound
        if keep.all():  # the usual case: no object array needed
            return obj.tolist()
        cleaned = obj.astype(object)  # Python floats, which None can stand among
        cleaned[~keep] = None
        return cleaned.tolist()
    if isinstance(obj, float):
        return obj if abs(obj) < bound else None
    if isinstance(obj, dict):
        return {k: finite(v, bound) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [finite(v, bound) for v in obj]
    return obj
