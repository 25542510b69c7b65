"""Shuffle, split into train / validation / test, and z-score with training statistics.

Playground shuffles its points and cuts them at ``floor(N * train%)``. Here a split is three
fractions ``{"train", "val", "test"}`` that sum to 1; the counts are

    n_val = floor(N * val + 1/2),   n_test = floor(N * test + 1/2),   n_train = N - n_val - n_test

so the three parts always add up to N, and a zero fraction gives an empty part. Standardisation
(``x' = (x - mean) / std``, population std, ddof = 0) takes ``mean`` and ``std`` from the training
rows only, so validation and test rows carry no information into the model's inputs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

SPLIT_KEYS = ("train", "val", "test")
DEFAULT_SPLIT: dict[str, float] = {"train": 0.7, "val": 0.15, "test": 0.15}


def check_split(value: Any) -> dict[str, float]:
    """Validate split fractions; missing keys count as 0. ``None`` gives :data:`DEFAULT_SPLIT`."""
    if value is None:
        return dict(DEFAULT_SPLIT)
    if not isinstance(value, Mapping):
        raise ValueError(f"split: expected an object with keys {list(SPLIT_KEYS)}, got {value!r}")
    unknown = sorted(str(k) for k in value if k not in SPLIT_KEYS)
    if unknown:
        raise ValueError(f"split: unknown key {unknown[0]!r}; expected {list(SPLIT_KEYS)}")
    out: dict[str, float] = {}
    for key in SPLIT_KEYS:
        frac = value.get(key, 0.0)
        if isinstance(frac, bool) or not isinstance(frac, (int, float)):
            raise ValueError(f"split.{key}: invalid value {frac!r}: must be a number")
        frac = float(frac)
        if not (0.0 <= frac <= 1.0):  # also rejects NaN
            raise ValueError(f"split.{key}: invalid value {frac!r}: must be in [0, 1]")
        out[key] = frac
    total = math.fsum(out.values())
    if abs(total - 1.0) > 1e-9:
        raise ValueError(f"split: fractions must sum to 1, got {total!r} for {out}")
    return out


def split_sizes(n: int, split: Mapping[str, float]) -> tuple[int, int, int]:
    """(n_train, n_val, n_test) for ``n`` rows; ValueError if the training part would be empty."""
    n_val = math.floor(n * split["val"] + 0.5)
    n_test = math.floor(n * split["test"] + 0.5)
    n_train = n - n_val - n_test
    if n_train < 1:
        raise ValueError(
            f"split.train: invalid value {split['train']!r}: leaves no training sample "
            f"out of {n} (val {n_val}, test {n_test})"
        )
    return n_train, n_val, n_test


def split_indices(
    n: int, split: Mapping[str, float], rng: np.random.Generator, shuffle: bool = True
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.intp]]:
    """A seeded shuffle of ``range(n)`` cut into disjoint train, val and test index arrays;
    without ``shuffle`` the rows in their order (the first ``n_train`` train, as Keras's
    ``take``/``skip`` split in the study notes)."""
    n_train, n_val, _ = split_sizes(n, split)
    perm = rng.permutation(n) if shuffle else np.arange(n)
    return perm[:n_train], perm[n_train : n_train + n_val], perm[n_train + n_val :]


def fit_standardizer(x_train: Array) -> tuple[Array, Array]:
    """Column ``mean`` (F,) and ``std`` (F,) of ``x_train`` (N, F), with constant columns' std = 1.

    A constant column has std 0; dividing by it would give inf/NaN, so it keeps scale 1 (and
    becomes ~0 after centring). Rounding can leave a tiny non-zero std for a constant column, so
    "zero" means below 1e-12 relative to the column's magnitude.
    """
    mean = x_train.mean(axis=0)
    std = x_train.std(axis=0)
    std[std <= 1e-12 * np.maximum(1.0, np.abs(mean))] = 1.0
    return mean, std
