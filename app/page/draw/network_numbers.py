"""The network drawing's changing numbers as the page writes them: what a running session's
drawing changes from frame to frame (its values, colours, widths), apart from where they go.

Two readers: app/page/draw/network_layout.py puts them in the layout's records (the template
the stencil of each shape is rendered from), and app/page/draw/network_stencil.py fills a
kept stencil with them directly, frame after frame, without building the records again. Both
take them from here, so a stencil's values are the template's by construction.

Edges (``W[l]`` cut to the drawn units, row-major): the view's value ``%.6g``; a colour of its
sign and size relative to the peak, ``diverging(v / peak)`` ("" while the layer is pending);
a stroke width ``min(0.6 + WIDTH_GAIN·|v|/peak, MAX_STROKE)`` written ``%.1f``.
Nodes: the value ``%.6g`` (None past the column's numbers), a box's fill (``diverging(v /
node peak)``; "" over a sprite tile), the bias (``%.6g``, its colour, its words), the probe's
number under it (``fmt(v, 2)``) and PReLU's α (``%.6g``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from app.page.draw.palette import diverging, diverging_rgb, fmt, formatted, hex_code

WIDTH_GAIN = 5.0  # an edge's stroke is 0.6 + 5·|v|/peak: 5.6 at the view's peak; a frozen
MAX_STROKE = 9.0  # scale lets it grow past that up to this much, then it stays
NUMPY_EDGES = 32  # a layer with this many drawn edges gets its colours from one NumPy call


def edge_numbers(
    matrix: list[list[float]], n_src: int, n_dst: int, wpeak: float, wait: bool
) -> tuple[list[str], list[str], list[str]]:
    """(values, colours, widths) of a layer's ``n_src`` × ``n_dst`` drawn edges, row-major;
    0 past a short matrix's rows and columns (no NumPy round trip for a few edges)."""
    rows = [[*row[:n_dst], *[0.0] * (n_dst - len(row))] for row in matrix[:n_src]]
    flat = [v for row in rows for v in row] + [0.0] * ((n_src - len(rows)) * n_dst)
    values = formatted(flat, "%.6g")
    scale = WIDTH_GAIN / wpeak
    widths = formatted([min(0.6 + abs(v) * scale, MAX_STROKE) for v in flat], "%.1f")
    if wait:
        strokes = [""] * len(flat)
    elif len(flat) < NUMPY_EDGES:  # NumPy's call overhead is more than a few edges cost
        strokes = [diverging(v / wpeak) for v in flat]
    else:  # the same colours as palette.diverging, a layer at once
        rgb = diverging_rgb(np.array(flat, dtype=np.float64) / wpeak).reshape(-1, 3)
        codes = rgb.astype(np.int64)
        strokes = [hex_code(c) for c in (codes[:, 0] << 16 | codes[:, 1] << 8 | codes[:, 2])
                   .tolist()]  # fmt: skip
    return values, strokes, widths


@dataclass
class Shown:
    """What one column shows (its numbers and which units), as :func:`column_numbers` and
    the layout need it."""

    pending: bool  # the view's numbers of this layer are not computed yet this iteration
    values: list[float] | None  # the view's node numbers (None: none, or pending)
    numbers: list[float] | None  # the probe's numbers written under the nodes (None: none)
    bias: list[float] | None
    tile_of: dict[int, int] | None  # a drawn unit's tile in the sprite (None: first + index)
    first_tile: int  # the sprite tile of its first unit
    index: list[int]  # the real indices of the drawn units
    names: list[str] | None  # their labels (inputs' feature names, outputs' classes)
    alpha: list[float] | None = None  # PReLU's α of the drawn units

    def tile(self, k: int) -> int | None:
        """The sprite tile of drawn unit ``k`` (None: drawn since the sprite was made)."""
        real = self.index[k]
        return self.first_tile + real if self.tile_of is None else self.tile_of.get(real)


class NodeNumbers(NamedTuple):
    """A drawn unit's numbers: value (None: none), fill ("" over a sprite tile), bias
    (value, colour, words; None: an input), the probe's number (None: none), α (None)."""

    value: str | None
    fill: str
    bias: tuple[str, str, str] | None
    number: str | None
    alpha: str | None


def column_numbers(
    drawn: int, is_input: bool, shown: Shown, peaks: tuple[float, float], tiled: bool
) -> list[NodeNumbers]:
    """The numbers of a column's ``drawn`` units (``peaks``: the nodes' and the biases')."""
    npeak, bpeak = peaks
    values, numbers, bias = shown.values or [], shown.numbers or [], shown.bias or []
    alphas = shown.alpha
    out: list[NodeNumbers] = []
    for k in range(drawn):
        b = None
        if not is_input and k < len(bias):
            bv = bias[k]
            b = (f"{bv:.6g}", diverging(bv / bpeak), fmt(bv))
        number = fmt(numbers[k], 2) if k < len(numbers) else None
        v = values[k] if k < len(values) else None
        # no sprite, or a unit drawn since the sprite was (no tile in it yet): a filled box
        fill = "" if tiled and shown.tile(k) is not None else diverging((v or 0.0) / npeak)
        alpha = f"{alphas[k]:.6g}" if alphas else None
        out.append(NodeNumbers(None if v is None else f"{v:.6g}", fill, b, number, alpha))
    return out
