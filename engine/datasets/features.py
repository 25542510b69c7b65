"""Feature expansion of raw 2-D points, as TensorFlow Playground's input column.

A raw point is ``(x1, x2)``. The network may be fed any non-empty subset of

    x1, x2, x1^2, x2^2, x1*x2, sin(x1), sin(x2)

(Playground's ``INPUTS`` map: X1, X2, X1², X2², X1X2, sin(X1), sin(X2)). With ``x1*x2`` alone a
linear model separates XOR; with ``x1^2`` and ``x2^2`` it separates the circle. The expansion is a
pure function of the raw point, so the decision surface applies it to grid points unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

FEATURES: tuple[str, ...] = ("x1", "x2", "x1^2", "x2^2", "x1*x2", "sin_x1", "sin_x2")
DEFAULT_FEATURES: tuple[str, ...] = ("x1", "x2")

# Each feature writes column ``out`` from the raw columns a = x1 (M,), b = x2 (M,).
_COLUMN: dict[str, Callable[[Array, Array, Array], Any]] = {
    "x1": lambda a, b, out: np.copyto(out, a),
    "x2": lambda a, b, out: np.copyto(out, b),
    "x1^2": lambda a, b, out: np.multiply(a, a, out=out),
    "x2^2": lambda a, b, out: np.multiply(b, b, out=out),
    "x1*x2": lambda a, b, out: np.multiply(a, b, out=out),
    "sin_x1": lambda a, b, out: np.sin(a, out=out),
    "sin_x2": lambda a, b, out: np.sin(b, out=out),
}


def check_features(value: Any) -> tuple[str, ...]:
    """Validate a feature list: a non-empty list of distinct names from :data:`FEATURES`.

    ``None`` means Playground's default ``("x1", "x2")``. The order given is kept: it is the
    column order of the model inputs.
    """
    if value is None:
        return DEFAULT_FEATURES
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ValueError(f"features: expected a list of names from {list(FEATURES)}, got {value!r}")
    if len(value) == 0:
        raise ValueError("features: pick at least one input feature")
    seen: set[str] = set()
    for name in value:
        if not isinstance(name, str) or name not in _COLUMN:
            raise ValueError(f"features: unknown feature {name!r}; choose from {list(FEATURES)}")
        if name in seen:
            raise ValueError(f"features: {name!r} is listed twice")
        seen.add(name)
    return tuple(value)


def expand(raw: Array, features: Sequence[str]) -> Array:
    """Map raw points ``raw`` (M, 2) to model inputs (M, F), one column per name in ``features``.

    Always returns a new C-contiguous float64 array, so callers may modify it in place.
    """
    a = raw[:, 0]
    b = raw[:, 1]
    # Fill a (F, M) block row by row (contiguous writes), then transpose-copy to (M, F).
    cols = np.empty((len(features), raw.shape[0]), dtype=np.float64)
    for i, name in enumerate(features):
        _COLUMN[name](a, b, cols[i])
    return np.ascontiguousarray(cols.T)
