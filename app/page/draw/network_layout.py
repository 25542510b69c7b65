"""Where each piece of the network drawing goes: the columns' geometry, and the layout of a
:class:`app.page.draw.network.Drawing` as plain records (positions, colours, widths and numbers
formatted as text) that ``templates/regions/network.html`` and ``macros/network.html`` write.
The records are tuples the templates unpack in their field order (a loop over some 400 values
per frame reads tuples faster than it looks fields up by name): a field added or moved here
moves in templates/macros/network.html too."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, NamedTuple

from app.page.draw.network_numbers import Shown, column_numbers, edge_numbers
from app.page.draw.palette import fmt

NODE = 34
GAP = 20  # room for a number (16 units high) under a node
TOP = 28
LEFT, RIGHT = 58, 14  # room for the feature names; for the highlight around the output
COLUMN_STEP = 110  # preferred distance between columns
# the viewBox widths: few, so that the stylesheet can give each a least rendered width (its
# 16-unit text stays >= 13 px on a phone: app.css, #network[data-w])
WIDTHS = (440, 530, 640, 720)
MAX_DRAWN = 8  # units drawn per column at most (TensorFlow Playground's most)


@dataclass
class Column:
    key: str  # "in" or the layer index
    label: str
    units: int
    x: float
    cap: int = MAX_DRAWN
    drawn: int = field(init=False)  # units drawn: read for every node and edge of a frame

    def __post_init__(self) -> None:
        self.drawn = min(self.units, self.cap)

    def y(self, k: int) -> float:
        return TOP + k * (NODE + GAP)


def drawing_width(n_layers: int) -> int:
    """The viewBox width for the input column and ``n_layers`` more: as narrow as the columns
    allow, so the drawing fills a narrow screen (it scales with the width it is given)."""
    wanted = LEFT + NODE + RIGHT + n_layers * COLUMN_STEP
    return next((w for w in WIDTHS if w >= wanted), WIDTHS[-1])


def highlight(last_phase: dict[str, Any] | None, n_layers: int) -> tuple[str | None, str]:
    """(column key to highlight, what the highlight means) for the phase that just ran."""
    if not last_phase:
        return None, ""
    name, layer = last_phase.get("phase"), last_phase.get("layer")
    if name in ("forward", "backward") and layer is not None:
        return str(layer), name
    if name == "loss":
        return str(n_layers - 1), "loss"
    return None, name or ""


@dataclass
class Drawing:
    """The numbers of one network drawing, reduced to the units it draws: what a page frame
    carries (a few hundred floats, however large the net) and :func:`draw` turns into SVG.

    ``shown[c]`` are the real indices of column ``c``'s drawn units (inputs first), in order;
    ``edges[l]`` is the view's matrix of layer ``l`` cut to (drawn inputs, drawn units),
    ``nodes``/``biases`` the drawn units' values, ``inputs`` the input column's (probe views);
    ``peaks`` (edges, nodes, biases) are the largest magnitudes over *all* units, so widths
    and colours match the full drawing's; ``units`` says how many units each column has (the
    "+n" marks); ``feature_names`` label the drawn inputs, ``out_names`` the drawn outputs
    (class names; None: unlabelled); ``quantity`` names the edges' and nodes' numbers;
    ``alphas[l]``: PReLU's α of layer ``l``'s drawn units (None: not a PReLU layer)."""

    view: str
    labels: list[str]
    units: list[int]
    shown: list[list[int]]
    edges: list[list[list[float]]]
    nodes: list[list[float]]
    biases: list[list[float]]
    inputs: list[float] | None
    peaks: tuple[float, float, float]
    feature_names: list[str]
    n_layers: int
    last_phase: dict[str, Any] | None
    computed: set[int] | None
    numbers: bool  # the probe's own numbers are written under the nodes
    quantity: tuple[str, str] = ("", "")
    out_names: list[str] | None = None
    alphas: list[list[float] | None] | None = None

    def columns(self) -> list[Column]:
        span = drawing_width(self.n_layers) - LEFT - NODE - RIGHT
        xs = [float(LEFT)] + [LEFT + span * (i + 1) / self.n_layers for i in range(self.n_layers)]
        keys = ["in"] + [str(i) for i in range(self.n_layers)]
        return [
            Column(k, lab, u, x, len(shown))
            for k, lab, u, x, shown in zip(
                keys, self.labels, self.units, xs, self.shown, strict=True
            )
        ]


class Text(NamedTuple):
    """A piece of text in the drawing: where (formatted) and what."""

    x: str
    y: str
    text: str


# One ``<line class="edge">`` for ``W[layer][i][j]``: (j, the value the view shows, y2, the
# colour of its sign and size ("" while pending), the stroke width). A plain tuple: a frame
# makes one per drawn edge, up to MAX_EDGES, and what the edges of a row or layer share is
# kept once in EdgeRow and EdgeLayer.
Edge = tuple[int, str, str, str, str]


class EdgeRow(NamedTuple):
    """The edges leaving input unit ``i`` of a layer."""

    i: int
    y1: str
    edges: list[Edge]


class EdgeLayer(NamedTuple):
    """The drawn edges of one layer, row by row."""

    layer: int
    x1: str
    x2: str
    pending: bool  # this iteration has not produced its numbers yet: drawn blank
    rows: list[EdgeRow]


class Bias(NamedTuple):
    """A unit's bias square; :data:`NO_BIAS` (value "") for a unit without one (an input)."""

    value: str
    x: str
    y: str
    fill: str
    title: str  # the bias in words for the hover title


# Every node has a Bias, so the template unpacks it with the node instead of reading its
# five fields by name (a tenth of the drawing's template time went to those reads).
NO_BIAS = Bias("", "", "", "", "")


class Node(NamedTuple):
    """``<g class="node">`` of unit ``unit`` of column ``layer`` ("in" for the inputs)."""

    layer: str
    unit: int
    value: str | None  # data-value; None while pending or where the view has no number
    x: str  # formatted: whole pixels over a sprite tile, tenths for a filled box
    y: str
    fill: str  # the filled box's colour (no sprite)
    tile: str  # the viewBox of its sprite tile
    label: Text | None  # an input's feature name, left of it; an output's class, over it
    bias: Bias
    number: Text | None  # the probe's number under it (activations and delta views)
    alpha: str | None = None  # PReLU's α of the unit (data-alpha, for the tooltip)


class ColumnLayout(NamedTuple):
    """A column of units (the template unpacks it in this field order)."""

    key: str
    label: Text
    pending: bool
    nodes: list[Node]
    more: Text | None  # "+n": the units not drawn


class Sprite(NamedTuple):
    """The neuron-output sprite PNG: one ``tile``-pixel square per unit, left to right."""

    href: str
    width: int
    height: int


class Legend(NamedTuple):
    """What colour and width mean in this drawing (written under it, in both languages)."""

    edge: str  # the edges' quantity, e.g. "dL/dw_jk = a_j · δ_k"
    node: str  # the nodes' quantity
    scale: str  # the edge width's scale: the |value| a 5.6-unit stroke stands for
    node_scale: str
    fixed: bool  # the scale is the page's frozen one, not this frame's peak


@dataclass
class Layout:
    """Everything ``regions/network.html`` writes."""

    width: int
    height: int
    view: str
    node: int  # a node's side
    highlight: tuple[str, str, int, int] | None  # (meaning, x, width, height) of the phase box
    sprite: Sprite | None
    edges: list[EdgeLayer]
    columns: list[ColumnLayout]
    legend: Legend | None = None


class _Row(NamedTuple):
    """The y of everything in row ``k`` of any column, as the drawing writes it."""

    box_px: str  # a sprite tile's and its box's top, whole pixels
    box: str  # a filled box's top
    middle: str  # where edges meet the unit
    label: str  # the feature name's baseline; a "+n" mark's in the row after the last drawn
    bias: str
    number: str


@lru_cache(maxsize=64)
def _row(k: int) -> _Row:
    """A unit's y depends on its row only: formatted once per process, not per node and frame."""
    y = TOP + k * (NODE + GAP)
    return _Row(
        f"{y:.0f}",
        f"{y:.1f}",
        f"{y + NODE / 2:.0f}",
        f"{y + NODE / 2 + 5:.1f}",
        f"{y + NODE - 8:.1f}",
        f"{y + NODE + 15:.1f}",
    )


def _edges(cols: list[Column], d: Drawing, wpeak: float, pending: list[bool]) -> list[EdgeLayer]:
    """The drawn edges, layer after layer, row by row (0 past a drawing's matrix), with their
    real indices (``d.shown``). What is the same for a layer's edges (their x, the units' y)
    is formatted once."""
    out: list[EdgeLayer] = []
    for li, matrix in enumerate(d.edges):
        src, dst = cols[li], cols[li + 1]
        wait = pending[li]
        layer = EdgeLayer(li, f"{src.x + NODE:.0f}", f"{dst.x:.0f}", wait, [])
        n_src, n_dst = src.drawn, dst.drawn
        values, strokes, widths = edge_numbers(matrix, n_src, n_dst, wpeak, wait)
        y2 = [_row(k).middle for k in range(n_dst)]
        dst_index = d.shown[li + 1]
        for j in range(n_src):
            at, to = j * n_dst, (j + 1) * n_dst
            drawn: list[Edge] = list(
                zip(dst_index, values[at:to], y2, strokes[at:to], widths[at:to], strict=True)
            )
            layer.rows.append(EdgeRow(d.shown[li][j], _row(j).middle, drawn))
        out.append(layer)
    return out


def _column(
    col: Column, shown: Shown, peaks: tuple[float, float], sprite: tuple[int, bool],
) -> ColumnLayout:  # fmt: skip
    """One column's nodes (pending when the view's numbers are not computed yet): their
    numbers (network_numbers.py) placed. What is the same for every node of the column is
    formatted once."""
    tile, tiled = sprite
    is_input = col.key == "in"
    numbers = column_numbers(col.drawn, is_input, shown, peaks, tiled)
    names = shown.names or []
    x = col.x
    centre = f"{x + NODE / 2:.1f}"
    xs = f"{x:.0f}" if tiled else f"{x:.1f}"
    label_x, bias_x = f"{x - 4:.1f}", f"{x - 6:.1f}"
    nodes: list[Node] = []
    for k, (value, fill, bias, number, alpha) in enumerate(numbers):
        row = _row(k)
        label = None
        if k < len(names):
            label = Text(label_x if is_input else centre, row.label, names[k])
        b = NO_BIAS if bias is None else Bias(bias[0], bias_x, row.bias, bias[1], bias[2])
        under = None if number is None else Text(centre, row.number, number)
        at = shown.tile(k)
        tile_box = f"{at * tile} 0 {tile} {tile}" if tiled and at is not None else ""
        ys = row.box_px if tiled else row.box
        real = shown.index[k]
        nodes.append(Node(col.key, real, value, xs, ys, fill, tile_box, label, b, under, alpha))
    more = None
    if col.units > col.drawn:
        more = Text(centre, _row(col.drawn).label, f"+{col.units - col.drawn}")
    return ColumnLayout(col.key, Text(centre, "18", col.label), shown.pending, nodes, more)


def shown_columns(
    d: Drawing, tiles: list[list[int]] | None
) -> tuple[list[Column], list[bool], list[Shown], int]:
    """The drawing's columns, which layers are pending, what each column shows, and how many
    sprite tiles there are (``tiles``: as for :func:`layout`)."""
    cols = d.columns()
    n_tiles = sum(c.units for c in cols) if tiles is None else sum(len(t) for t in tiles)
    where: list[dict[int, int] | None] = [None] * len(cols)
    if tiles is not None and len(tiles) == len(cols):
        at = 0
        for ci, units in enumerate(tiles):
            where[ci] = {u: at + k for k, u in enumerate(units)}
            at += len(units)
    pending = [d.computed is not None and li not in d.computed for li in range(d.n_layers)]
    shows: list[Shown] = []
    first_tile = 0
    for ci, col in enumerate(cols):
        if col.key == "in":
            shown = Shown(
                False, d.inputs, d.inputs if d.numbers else None, None, where[0], 0,
                d.shown[0], d.feature_names,
            )  # fmt: skip
        else:
            wait = pending[ci - 1]
            values = None if wait else d.nodes[ci - 1]
            names = d.out_names if ci == len(cols) - 1 else None
            shown = Shown(
                wait, values, values if d.numbers else None, d.biases[ci - 1], where[ci],
                first_tile, d.shown[ci], names, d.alphas[ci - 1] if d.alphas else None,
            )  # fmt: skip
        shows.append(shown)
        first_tile += col.units
    return cols, pending, shows, n_tiles


def layout(
    d: Drawing,
    sprite_url: str | None,
    tile: int,
    fixed: tuple[float, float, float] | None = None,
    tiles: list[list[int]] | None = None,
) -> Layout:
    """The drawing ``d`` as records, its units' sprite tiles from ``sprite_url`` (``tile``
    pixels a unit; None: boxes filled with the units' values); ``fixed``: the (edges, nodes,
    biases) peaks to scale by instead of the frame's own (the page's fixed scale); ``tiles``:
    the units the sprite has tiles of, per column, in its order (None: every unit)."""
    cols, pending, shows, n_tiles = shown_columns(d, tiles)
    wpeak, npeak, bpeak = fixed or d.peaks
    tallest = max(c.drawn + (1 if c.units > c.drawn else 0) for c in cols)
    height = TOP + tallest * (NODE + GAP) + 4
    hot, meaning = highlight(d.last_phase, d.n_layers)
    box = None
    if hot is not None:
        col = next(c for c in cols if c.key == hot)
        box = (meaning, f"{col.x - 8:.0f}", NODE + 16, height - 8)
    art = (tile, sprite_url is not None)
    peaks = (npeak, bpeak)
    drawn = [_column(col, shown, peaks, art) for col, shown in zip(cols, shows, strict=True)]
    return Layout(
        width=drawing_width(d.n_layers),
        height=height,
        view=d.view,
        node=NODE,
        highlight=box,
        sprite=Sprite(sprite_url, tile * n_tiles, tile) if sprite_url else None,
        edges=_edges(cols, d, wpeak, pending),
        columns=drawn,
        legend=Legend(*d.quantity, fmt(wpeak, 3), fmt(npeak, 3), fixed is not None),
    )
