"""CSV user tables: parse a file's text into inputs and a target, naming the bad row and column.

:func:`load_csv` reads text with Python's ``csv`` module. Rows are numbered as a spreadsheet shows
them: the first line of the file is row 1 (the header, if any), blank lines count but are skipped.
The first row is a header when one of its cells is text where the row below holds a number. The
target column may hold numbers or, for classification, text labels (``setosa``, ``yes``) — all of
them text; every other column must be finite numbers.

:func:`inspect_csv` reads the same text without a target: each column's name, whether it is
numeric, its distinct values, the columns that can be the target and a few rows to preview — what
a user needs to pick the target. Over ``max_rows`` / ``max_cols`` both raise :class:`TableLimit`
(a ValueError naming the limit).

The size limits and the task inference are those of inline data (:mod:`engine.datasets.tabular`).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.datasets.tabular import MAX_CLASSES, MAX_COLS, MAX_ROWS, resolve_task, short_repr


class TableLimit(ValueError):
    """A table over a size limit; ``limit`` is the parameter's name (``"max_rows"`` or
    ``"max_cols"``), ``maximum`` its value."""

    def __init__(self, message: str, limit: str, maximum: int) -> None:
        super().__init__(message)
        self.limit = limit
        self.maximum = maximum


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def load_csv(
    text: str | bytes,
    target: str | int | None = None,
    *,
    max_rows: int = MAX_ROWS,
    max_cols: int = MAX_COLS,
) -> tuple[NDArray[np.float64], NDArray[Any], list[str]]:
    """Parse a CSV table into inputs ``x`` (N, D) float64 and a target ``y`` (N,).

    ``target`` picks the target column by header name or 0-based index (negative counts from the
    end); None means the last column. ``y`` is float64, or a str array when the target column is
    all text labels. Returns ``(x, y, names)`` with ``names`` = the D input column names followed
    by the target's name (``"column 3"`` style names when the file has no header).
    """
    table = _read_table(text, max_rows, max_cols)
    names, label = table.names, table.label
    ti = _target_index(target, names)
    inputs = [j for j in range(len(names)) if j != ti]
    x = _numeric_block(table.cells, inputs, table.rows, label)
    y = _target_column(table.cells, ti, table.rows, label[ti])
    return x, y, [names[j] for j in inputs] + [names[ti]]


def inspect_csv(
    text: str | bytes,
    *,
    max_rows: int = MAX_ROWS,
    max_cols: int = MAX_COLS,
    preview: int = 5,
) -> dict[str, Any]:
    """The columns of a CSV table, checked as :func:`load_csv` checks them, before a target is
    chosen: a column is numeric (finite numbers, none empty) or text (no cell a number, none
    empty); at most one column may be text, and then it is the only possible target.

    Returns ``{"rows", "header", "columns": [{"name", "numeric", "distinct", "task"}],
    "targets", "target", "preview"}``: ``task`` is what :func:`resolve_task` infers with that
    column as the target (None when it cannot be one), ``targets`` lists the names
    :func:`load_csv` accepts as ``target``, ``target`` is the suggested one (the text column,
    else the last), ``preview`` the first ``preview`` data rows as text. A bad cell raises a
    ValueError naming its row and column.
    """
    table = _read_table(text, max_rows, max_cols)
    names, label, rows, cells = table.names, table.label, table.rows, table.cells
    text_cols: list[int] = []
    for j in range(len(names)):
        column = [row[j] for row in cells]
        if any(column) and not any(_is_number(c) for c in column):
            for i, cell in enumerate(column):
                if not cell:
                    raise ValueError(f"CSV: row {rows[i]}, {label[j]} is empty")
            if text_cols:
                raise ValueError(
                    f"CSV: row {rows[0]}, {label[j]}: {short_repr(column[0])} is not a number; "
                    f"only one column (the target) may hold text, and {label[text_cols[0]]} does"
                )
            text_cols.append(j)
        else:
            _numeric_block(cells, [j], rows, label)
    tasks: dict[int, str] = {}
    for j in text_cols or range(len(names)):
        column = [row[j] for row in cells]
        if j in text_cols:
            labels: NDArray[Any] = np.array(column, dtype=str)
            k = len(set(column))
            if not 2 <= k <= MAX_CLASSES:
                raise ValueError(
                    f"CSV: {label[j]} holds text, so it must be the target, but it has {k} "
                    f"distinct labels; a class target needs 2 to {MAX_CLASSES}"
                )
        else:
            labels = np.array([float(c) for c in column])
        tasks[j] = resolve_task(labels)[0]
    columns = [
        {
            "name": name,
            "numeric": j not in text_cols,
            "distinct": len({row[j] for row in cells}),
            "task": tasks.get(j),
        }
        for j, name in enumerate(names)
    ]
    targets = [names[j] for j in tasks]
    return {
        "rows": len(cells),
        "header": table.has_header,
        "columns": columns,
        "targets": targets,
        "target": targets[0] if text_cols else names[-1],
        "preview": [list(row) for row in cells[:preview]],
    }


@dataclass
class _Table:
    """Data rows of a CSV file, all ``len(names)`` cells wide, with their spreadsheet numbers."""

    rows: list[int]
    cells: list[list[str]]
    names: list[str]
    label: list[str]  # how messages name each column: "column 'age'" or "column 3"
    has_header: bool


def _read_table(text: str | bytes, max_rows: int, max_cols: int) -> _Table:
    records = _records(_decode(text), max_rows)
    width = len(records[0][1])
    if width < 2:
        raise ValueError(f"CSV: needs at least 2 columns (inputs and a target), found {width}")
    if width > max_cols:
        raise TableLimit(
            f"CSV: {width} columns, more than the limit of {max_cols}", "max_cols", max_cols
        )
    for number, cells in records:
        if len(cells) != width:
            raise ValueError(f"CSV: row {number} has {len(cells)} columns, expected {width}")

    first = records[0][1]
    second = records[1][1] if len(records) > 1 else None
    has_header = any(
        cell and not _is_number(cell) and (second is None or _is_number(second[j]))
        for j, cell in enumerate(first)
    )
    if has_header:
        names = [cell or f"column {j + 1}" for j, cell in enumerate(first)]
        for j, name in enumerate(names):
            if names.index(name) != j:
                raise ValueError(
                    f"CSV: row {records[0][0]}: column name {name!r} is used twice "
                    f"(columns {names.index(name) + 1} and {j + 1})"
                )
        records = records[1:]
        if not records:
            raise ValueError("CSV: the file has a header row but no data rows")
    else:
        names = [f"column {j + 1}" for j in range(width)]
    if len(records) > max_rows:
        raise _too_many_rows(max_rows)
    return _Table(
        rows=[number for number, _ in records],
        cells=[c for _, c in records],
        names=names,
        label=[f"column {n!r}" if has_header else n for n in names],
        has_header=has_header,
    )


def _too_many_rows(max_rows: int) -> TableLimit:
    return TableLimit(f"CSV: more than {max_rows} data rows (the limit)", "max_rows", max_rows)


def _decode(text: Any) -> str:
    if isinstance(text, (bytes, bytearray, memoryview)):
        raw = bytes(text)
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise ValueError(
                f"CSV: the file is not UTF-8 text (byte 0x{raw[err.start]:02x} at offset "
                f"{err.start}); save it as 'CSV UTF-8'"
            ) from None
    elif not isinstance(text, str):
        raise ValueError(f"CSV: expected text or bytes, got {type(text).__name__}")
    return text.removeprefix("\ufeff")  # Excel's byte-order mark


def _records(text: str, max_rows: int) -> list[tuple[int, list[str]]]:
    """Non-blank rows as (spreadsheet row number, stripped cells), at most max_rows + 1 of them."""
    first_line = next((line for line in io.StringIO(text) if line.strip()), None)
    if first_line is None:
        raise ValueError("CSV: the file is empty")
    # Comma unless the first line has none; then tab or semicolon (European spreadsheets).
    delimiter = next((d for d in (",", "\t", ";") if d in first_line), ",")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, skipinitialspace=True)
    out: list[tuple[int, list[str]]] = []
    number = 0
    try:
        for number, cells in enumerate(reader, start=1):
            stripped = [c.strip() for c in cells]
            if not any(stripped):
                continue
            if len(out) > max_rows:  # header + max_rows data rows already read
                raise _too_many_rows(max_rows)
            out.append((number, stripped))
    except csv.Error as err:
        raise ValueError(f"CSV: row {number + 1}: {err}") from None
    if not out:
        raise ValueError("CSV: the file is empty")
    return out


def _target_index(target: Any, names: list[str]) -> int:
    width = len(names)
    if target is None:
        return width - 1
    if isinstance(target, bool) or not isinstance(target, (int, str)):
        raise ValueError(f"target: expected a column name or index, got {short_repr(target)}")
    if isinstance(target, int):
        if not -width <= target < width:
            raise ValueError(f"target: column index {target} is out of range for {width} columns")
        return target % width
    if target not in names:
        raise ValueError(f"target: unknown column {target!r}; columns are {names}")
    return names.index(target)


def _numeric_block(
    cells: list[list[str]], cols: list[int], rows: list[int], label: list[str]
) -> NDArray[np.float64]:
    """The given columns as an (N, len(cols)) float64 array; ValueError at the first bad cell."""
    block = np.array([[row[j] for j in cols] for row in cells], dtype=str)
    try:
        values = block.astype(np.float64)
    except ValueError:
        # Find the first offending cell in reading order for the message.
        for i, row in enumerate(cells):
            for j in cols:
                _cell_number(row[j], rows[i], label[j])
        values = np.array([[float(row[j]) for j in cols] for row in cells], dtype=np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        i, k = (int(v) for v in np.argwhere(bad)[0])
        cell = cells[i][cols[k]]
        raise ValueError(f"CSV: row {rows[i]}, {label[cols[k]]}: {cell!r} is not a finite number")
    return values


def _cell_number(cell: str, row: int, label: str) -> float:
    if not cell:
        raise ValueError(f"CSV: row {row}, {label} is empty")
    try:
        return float(cell)
    except ValueError:
        raise ValueError(f"CSV: row {row}, {label}: {short_repr(cell)} is not a number") from None


def _target_column(cells: list[list[str]], j: int, rows: list[int], label: str) -> NDArray[Any]:
    column = [row[j] for row in cells]
    numeric = [_is_number(c) for c in column]
    if not any(numeric) and all(column):
        return np.array(column, dtype=str)  # text class labels
    values = np.array([_cell_number(c, rows[i], label) for i, c in enumerate(column)])
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"CSV: row {rows[i]}, {label}: {column[i]!r} is not a finite number")
    return values

