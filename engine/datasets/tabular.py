"""Inline user data: validate ``x`` / ``y`` (JSON lists), naming the bad row and column.

:func:`check_x`, :func:`check_y` and :func:`resolve_task` validate inline data (JSON lists) and
decide the task when it is not given: labels that are all 0/1 → binary; exactly two distinct
integers or texts → binary (the smaller / alphabetically first is class 0); 3–10 distinct integers,
or 3–50 texts → multiclass with labels mapped to 0..K-1 in sorted order; anything else →
regression. The original labels are kept as ``class_names``.

CSV files are parsed into the same ``x`` / ``y`` by :mod:`engine.datasets.csvtable`, which shares
these limits and this task inference.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

MAX_ROWS = 10_000
MAX_COLS = 128
MAX_CLASSES = 50  # an explicit task="multiclass" (or text labels) may have up to this many
INFER_MAX_CLASSES = 10  # integer targets with more distinct values are read as regression


def short_repr(value: Any) -> str:
    """``repr(value)`` cut to 40 characters, for error messages."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_x(x: Any, *, max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS) -> NDArray[np.float64]:
    """Inline inputs: a non-empty list of equal-length rows of finite numbers -> (N, D) float64."""
    if isinstance(x, np.ndarray):
        if x.dtype.kind not in "iuf" or x.ndim != 2:
            raise ValueError(f"x: expected a 2-D array of numbers, got {x.dtype} {x.shape}")
        arr = x.astype(np.float64)
    else:
        if isinstance(x, (str, bytes)) or not isinstance(x, Sequence):
            raise ValueError(f"x: expected a list of rows of numbers, got {short_repr(x)}")
        if len(x) == 0:
            raise ValueError("x: no rows")
        if len(x) > max_rows:
            raise ValueError(f"x: {len(x)} rows, more than the limit of {max_rows}")
        try:
            arr = np.array(x)
            ok = arr.ndim == 2 and arr.dtype.kind in "iuf"
        except (ValueError, TypeError, OverflowError):
            ok = False
        if not ok:
            _find_bad_row(x)
            arr = np.array(x, dtype=np.float64)  # e.g. ints too large for int64
        arr = arr.astype(np.float64, copy=False)
    n, d = arr.shape
    if n == 0 or d == 0:
        raise ValueError(f"x: needs at least one row and one column, got shape {arr.shape}")
    if n > max_rows:
        raise ValueError(f"x: {n} rows, more than the limit of {max_rows}")
    if d > max_cols:
        raise ValueError(f"x: {d} columns, more than the limit of {max_cols}")
    bad = ~np.isfinite(arr)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise ValueError(f"x[{i}][{j}] = {float(arr[i, j])!r} is not a finite number")
    return arr


def _find_bad_row(x: Sequence[Any]) -> None:
    """Raise for the first row or cell that keeps ``x`` from being a numeric matrix."""
    width = None
    for i, row in enumerate(x):
        if isinstance(row, (str, bytes)) or not isinstance(row, Sequence):
            raise ValueError(f"x[{i}]: expected a list of numbers, got {short_repr(row)}")
        if width is None:
            width = len(row)
        elif len(row) != width:
            raise ValueError(f"x[{i}] has {len(row)} values, expected {width} (as x[0])")
        for j, value in enumerate(row):
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
                raise ValueError(f"x[{i}][{j}] = {short_repr(value)} is not a number")


def check_y(y: Any, n: int) -> NDArray[Any]:
    """Inline targets: ``n`` finite numbers (-> float64) or ``n`` non-empty texts (-> str)."""
    if isinstance(y, np.ndarray):
        if y.ndim != 1 or y.dtype.kind not in "iufU":
            raise ValueError(f"y: expected a list of numbers or labels, got {y.dtype} {y.shape}")
        values: list[Any] = y.tolist()
    elif isinstance(y, (str, bytes)) or not isinstance(y, Sequence):
        raise ValueError(f"y: expected a list of numbers or labels, got {short_repr(y)}")
    else:
        values = list(y)
    if len(values) != n:
        raise ValueError(f"y: has {len(values)} values but x has {n} rows")
    if values and all(isinstance(v, str) for v in values):
        labels = [v.strip() for v in values]
        for i, v in enumerate(labels):
            if not v:
                raise ValueError(f"y[{i}] is an empty label")
        return np.array(labels, dtype=str)
    for i, v in enumerate(values):
        if isinstance(v, str):
            raise ValueError(f"y[{i}] = {short_repr(v)} is text but y holds numbers; use one kind")
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)):
            raise ValueError(f"y[{i}] = {short_repr(v)} is not a number or a text label")
    arr = np.array(values, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise ValueError(f"y[{int(bad[0])}] = {values[int(bad[0])]!r} is not a finite number")
    return arr


def _class_name(value: Any) -> str:
    if isinstance(value, str):
        return value
    v = float(value)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


def resolve_task(
    labels: NDArray[Any], task: Any = None
) -> tuple[str, NDArray[Any], list[str] | None]:
    """Decide the task for targets from :func:`check_y` and encode them.

    Returns ``(task, t, class_names)`` with ``t`` int64 class indices (N,) for classification or
    float64 values (N,) for regression; ``class_names[k]`` is the original label of class k.
    """
    if task is not None and task not in ("binary", "multiclass", "regression"):
        raise ValueError(f"task: invalid {task!r}; choose 'binary', 'multiclass' or 'regression'")
    classes, codes = np.unique(labels, return_inverse=True)
    k = len(classes)
    text = labels.dtype.kind == "U"
    integral = text or bool(np.all(np.mod(labels, 1.0) == 0.0))
    zero_one = not text and bool(np.isin(classes, (0.0, 1.0)).all())
    if task is None:
        if zero_one or (integral and k == 2):
            task = "binary"
        elif integral and 3 <= k <= (MAX_CLASSES if text else INFER_MAX_CLASSES):
            task = "multiclass"
        elif text:
            raise ValueError(f"y: {k} distinct text labels; a class task needs 2 to {MAX_CLASSES}")
        else:
            task = "regression"
    if task == "regression":
        if text:
            raise ValueError(
                f"task: 'regression' needs numbers in y, got text {labels[0].item()!r}"
            )
        return task, labels.astype(np.float64), None
    if task == "binary":
        if zero_one:
            return task, labels.astype(np.int64), ["0", "1"]
        if k != 2:
            raise ValueError(f"task: 'binary' needs 2 distinct labels in y, found {k}")
    else:
        if not integral:
            i = int(np.flatnonzero(np.mod(labels, 1.0) != 0.0)[0])
            raise ValueError(
                f"y[{i}] = {labels[i].item()!r}: a multiclass label must be an integer"
            )
        if not 2 <= k <= MAX_CLASSES:
            raise ValueError(f"task: 'multiclass' needs 2 to {MAX_CLASSES} classes, y has {k}")
    return task, codes.astype(np.int64).reshape(-1), [_class_name(c) for c in classes.tolist()]
