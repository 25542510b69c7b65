"""The :class:`Dataset` a session trains on: split arrays, their names, and how inputs were made.

Model inputs are ``x = standardise(expand(raw))``: ``expand`` is the 2-D feature expansion (only
for 2-D sets) and ``standardise(v) = (v - mean) / std`` with the training rows' statistics (only if
the spec asked for it). :meth:`Dataset.transform` is that map; the split arrays were made by it,
so ``ds.transform(ds.raw_train)`` reproduces ``ds.x_train`` bit for bit and the decision surface
can push grid points through the very same map.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.datasets.features import expand

Array = NDArray[np.float64]


@dataclass(eq=False)
class Dataset:
    """A split data set.

    Shapes (N = rows of a part, F = model inputs, D = raw inputs, K = classes):

    * ``x_train``, ``x_val``, ``x_test``: (N, F) float64 model inputs.
    * ``y_*``: binary (N, 1) float64 in {0, 1}; multiclass (N,) int64 in [0, K);
      regression (N, 1) float64 (standardised if ``target_std`` != 1 or ``target_mean`` != 0:
      original = y * target_std + target_mean).
    * ``raw_*``: (N, 2) raw points for 2-D sets, else None; ``domain`` is their plotting extent
      (x1min, x1max, x2min, x2max).
    * ``mean``, ``std``: (F,) training statistics used by the standardisation, or None.

    ``n_classes`` is 2 for binary, K for multiclass and 0 for regression. ``feature_names`` name
    the F model inputs, ``input_names`` the D raw inputs (the same unless features were expanded).
    Two datasets are equal when every field, arrays included, is equal.
    """

    name: str
    task: str
    n_classes: int
    feature_names: list[str]
    x_train: Array
    y_train: NDArray[Any]
    x_val: Array
    y_val: NDArray[Any]
    x_test: Array
    y_test: NDArray[Any]
    raw_train: Array | None = None
    raw_val: Array | None = None
    raw_test: Array | None = None
    domain: tuple[float, float, float, float] | None = None
    input_names: list[str] = field(default_factory=list)
    target_name: str = "y"
    class_names: list[str] | None = None
    image_shape: tuple[int, int] | None = None
    features: tuple[str, ...] | None = None
    mean: Array | None = None
    std: Array | None = None
    target_mean: float = 0.0
    target_std: float = 1.0
    spec: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def n_features(self) -> int:
        """F, the number of model inputs."""
        return int(self.x_train.shape[1])

    @property
    def sizes(self) -> dict[str, int]:
        """Rows per part: {"train": ..., "val": ..., "test": ...}."""
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}

    def transform(self, raw: Any) -> Array:
        """Raw inputs (M, D) -> model inputs (M, F); always a new array.

        For 2-D sets ``raw`` holds points (x1, x2), e.g. a grid for the decision surface.
        """
        x = np.asarray(raw, dtype=np.float64)
        d = len(self.input_names)
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"transform: expected raw inputs of shape (M, {d}), got {x.shape}")
        return make_inputs(x, self.features, self.mean, self.std)

    def to_spec(self) -> dict[str, Any]:
        """The complete, JSON-safe spec with every default filled in: ``make_dataset`` of it
        rebuilds an equal dataset."""
        out: dict[str, Any] = _plain(self.spec)
        return out

    def describe(self) -> dict[str, Any]:
        """JSON-safe metadata without the arrays (for APIs and page headers)."""
        out: dict[str, Any] = {
            "name": self.name,
            "task": self.task,
            "n_classes": self.n_classes,
            "feature_names": list(self.feature_names),
            "input_names": list(self.input_names),
            "target_name": self.target_name,
            "class_names": None if self.class_names is None else list(self.class_names),
            "sizes": self.sizes,
            "domain": None if self.domain is None else list(self.domain),
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "standardized": self.mean is not None,
            "target_mean": self.target_mean,
            "target_std": self.target_std,
        }
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return all(_same(getattr(self, f.name), getattr(other, f.name)) for f in fields(self))


def make_inputs(
    raw: Array, features: tuple[str, ...] | None, mean: Array | None, std: Array | None
) -> Array:
    """``(expand(raw) - mean) / std`` as a new (M, F) array; each step only if configured."""
    x = expand(raw, features) if features is not None else raw.copy()
    if mean is not None and std is not None:
        x -= mean
        x /= std
    return x


def _same(a: Any, b: Any) -> bool:
    """Structural equality where arrays compare by dtype, shape and every element."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same(u, v) for u, v in zip(a, b, strict=True))
        )
    return bool(a == b)


def _plain(value: Any) -> Any:
    """A deep copy with arrays and tuples turned into lists (JSON-safe)."""
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
