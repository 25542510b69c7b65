"""Small real data sets that scikit-learn ships inside its wheel (nothing is downloaded).

* **digits** — UCI optical handwritten digits as used by the Keras-MLP lesson: 1797 images of
  8 × 8 pixels with integer intensities 0..16, ten classes. Pixels are divided by 16 so inputs lie
  in [0, 1]; ``x`` is (1797, 64) in row-major pixel order (``image = x.reshape(8, 8)``).
* **diabetes** — Efron et al. (2004): 442 patients, 10 baseline variables (age, sex, bmi, bp,
  s1..s6) in their original units, target = disease progression one year later (25..346).

scikit-learn is imported lazily (it takes about a second) and each table is read once per
process; the cached arrays are read-only, so callers always index or copy them.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Table:
    """A fixed table: inputs ``x`` (N, D) float64, targets ``t`` (N,) and their names."""

    x: NDArray[np.float64]
    t: NDArray[np.int64] | NDArray[np.float64]
    input_names: tuple[str, ...]
    target_name: str
    class_names: tuple[str, ...] | None = None
    image_shape: tuple[int, int] | None = None


def _frozen(a: NDArray[Any]) -> NDArray[Any]:
    a = np.ascontiguousarray(a)
    a.flags.writeable = False
    return a


@lru_cache(maxsize=1)
def digits() -> Table:
    """8 × 8 digit images as (1797, 64) inputs in [0, 1] and int64 labels 0..9."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = np.asarray(bunch.data, dtype=np.float64) / 16.0
    t = np.asarray(bunch.target, dtype=np.int64)
    return Table(
        x=_frozen(x),
        t=_frozen(t),
        input_names=tuple(f"px_{r}_{c}" for r in range(8) for c in range(8)),
        target_name="digit",
        class_names=tuple(str(d) for d in range(10)),
        image_shape=(8, 8),
    )


@lru_cache(maxsize=1)
def diabetes() -> Table:
    """Diabetes progression: (442, 10) inputs in original units and a float64 target."""
    from sklearn.datasets import load_diabetes

    bunch = load_diabetes(scaled=False)
    return Table(
        x=_frozen(np.asarray(bunch.data, dtype=np.float64)),
        t=_frozen(np.asarray(bunch.target, dtype=np.float64)),
        input_names=tuple(str(name) for name in bunch.feature_names),
        target_name="progression",
    )
