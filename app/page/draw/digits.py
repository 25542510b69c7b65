"""The output panel for image data (8×8 digits): sample images with predictions, and the
confusion matrix of the test set, as SVG over one sprite PNG.

This module places the images and cells; ``templates/macros/digits.html`` writes them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from app.page import templating

COLS = 8
CELL = 34
CONFUSION_CELL = 22


class Sample(NamedTuple):
    """One test image (its tile of the sprite) and the class the network predicted."""

    x: int
    y: int
    tile: str  # the viewBox of its tile
    ok: bool  # predicted right
    label_x: float
    label_y: int
    predicted: int


@dataclass
class Grid:
    width: int
    height: int
    size: int  # an image's side
    href: str  # the sprite PNG
    sheet_width: int
    tile: int
    samples: list[Sample] = field(default_factory=list)


class Cell(NamedTuple):
    x: int
    y: int
    fill: str  # blue on the diagonal (right), orange off it
    opacity: str
    actual: int
    predicted: int
    examples: int  # test examples of this true and predicted class


class Row(NamedTuple):
    """A true class: its labels (left of its row, above its column) and its cells."""

    digit: int
    row_label_y: int
    column_label_x: int
    cells: list[Cell]


@dataclass
class Confusion:
    cell: int
    size: int
    accuracy: str
    accuracy_words: str  # "84.2%"
    rows: list[Row]


def grid(pic: Any, sid: str, v: int) -> Grid:
    shown, pred, true, _ = pic.pred
    n = len(shown)
    rows = -(-n // COLS)
    tile = int(pic.extras["image_shape"][0])
    href = f"/api/sessions/{sid}/digits.png?v={v}"
    out = Grid(COLS * CELL, rows * (CELL + 12), CELL - 4, href, tile * n, tile)
    for k in range(n):
        x, y = (k % COLS) * CELL, (k // COLS) * (CELL + 12)
        ok = int(pred[k]) == int(true[k])
        box = f"{k * tile} 0 {tile} {tile}"
        out.samples.append(Sample(x + 2, y, box, ok, x + CELL / 2, y + CELL + 8, int(pred[k])))
    return out


def confusion(m: np.ndarray) -> Confusion:
    k = m.shape[0]
    cell = CONFUSION_CELL
    peak = max(int(m.max()), 1)
    acc = float(np.trace(m)) / max(int(m.sum()), 1)
    rows = []
    for i in range(k):
        cells = [
            Cell(
                24 + j * cell,
                20 + i * cell,
                "#0072b2" if i == j else "#e69f00",
                f"{0.08 + 0.92 * (m[i, j] / peak):.2f}",
                i,
                j,
                int(m[i, j]),
            )
            for j in range(k)
        ]
        rows.append(Row(i, 24 + i * cell + 15, 24 + i * cell + 8, cells))
    return Confusion(cell, 24 + k * cell, f"{acc:.4f}", f"{acc:.1%}", rows)


def digits_html(pic: Any, sid: str, v: int, has_sprite: bool) -> str:
    """The sample images (when their sprite was drawn) and the confusion matrix (markup)."""
    shown, _, _, matrix = pic.pred
    samples = grid(pic, sid, v) if has_sprite and shown is not None else None
    return templating.macro("macros/digits.html", "digits")(samples, confusion(np.asarray(matrix)))


def confusion_svg(m: np.ndarray) -> str:
    return templating.macro("macros/digits.html", "confusion")(confusion(m))
