"""The network drawing: one ``<svg id="network">`` built from a trainer snapshot.

Columns left to right: the input features, then every layer's units (the last is the output).
Edge ``data-layer=L data-i=j data-j=k`` is ``W[L][j][k]`` (W has shape (fan_in, fan_out)); node
``data-layer=L data-unit=k`` is unit k of layer L (inputs are ``data-layer="in"``). Each edge
and node carries ``data-value``: the number the chosen view shows.

Views (what edges / nodes show):

* ``weights``: W / the bias b;
* ``activations``: the probe example's a_j·W_jk / its activation a_k;
* ``delta``: the probe's dL/dW_jk = a_j·δ_k / its δ_k = dL/dz_k;
* ``gradients``: the last batch's dL/dW / dL/db (what the optimizer used);
* ``updates``: the last applied Δw / Δb.

Colour is the sign (orange negative, blue positive); width grows with |value| relative to the
largest in the view. Wide layers draw their first ``MAX_DRAWN - 1`` units and a "+n" mark.

This module computes the drawing (:func:`layout`: positions, colours, widths and the numbers as
text); ``templates/regions/network.html`` and ``templates/macros/network.html`` write the SVG.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from app.page import templating
from app.render.palette import diverging, fmt

VIEWS = ("weights", "activations", "delta", "gradients", "updates")
NODE = 34
GAP = 14
TOP = 24
LEFT, RIGHT = 40, 14  # room for the feature names; for the highlight around the output
COLUMN_STEP = 110  # preferred distance between columns
MIN_WIDTH, MAX_WIDTH = 420, 720  # a phone shows ~350 px: a narrow drawing scales up less
MAX_DRAWN = 9
MAX_EDGES = 110  # edges drawn at most: keeps a frame well under 32 KB


@dataclass
class Column:
    key: str  # "in" or the layer index
    label: str
    units: int
    x: float
    cap: int = MAX_DRAWN

    @property
    def drawn(self) -> int:
        return self.units if self.units <= self.cap else self.cap - 1

    def y(self, k: int) -> float:
        return TOP + k * (NODE + GAP)


Matrix = NDArray[np.float64]


def _arr(x: Any) -> Matrix:
    """Nested lists (None for non-finite) as a float array with 0 where not finite."""
    a = np.array(x if x is not None else [], dtype=np.float64)
    if np.isfinite(a).all():  # the usual case, and a fifth of nan_to_num's cost per frame
        return a
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def view_values(
    snap: dict[str, Any], view: str, probe: dict[str, Any] | None
) -> tuple[list[Matrix], list[Matrix], list[Matrix], Matrix | None]:
    """Per layer, the edge matrix (fan_in, fan_out), node vector and bias vector the view
    shows, and the input column's node values (the probe's inputs in probe views)."""
    edges: list[Matrix] = []
    nodes: list[Matrix] = []
    biases: list[Matrix] = []
    inputs = _arr(probe["input"]) if probe else None
    for i, layer in enumerate(snap["layers"]):
        if view in ("activations", "delta") and probe is not None:
            rec = probe["layers"][i]
            if view == "activations":
                prev = inputs if i == 0 else _arr(probe["layers"][i - 1]["a"])
                w = _arr(layer["W"]) * np.asarray(prev)[:, None]
                n = _arr(rec["a"])
            else:
                w, n = _arr(rec["dW"]), _arr(rec["delta"])
        elif view == "gradients" and "dW" in layer:
            w, n = _arr(layer["dW"]), _arr(layer["db"])
        elif view == "updates" and "dW_update" in layer:
            w, n = _arr(layer["dW_update"]), _arr(layer["db_update"])
        else:
            w, n = _arr(layer["W"]), _arr(layer["b"])
        bias = n if view in ("gradients", "updates", "weights") else _arr(layer["b"])
        edges.append(w.reshape(len(layer["W"]), -1))
        nodes.append(n.ravel())
        biases.append(bias.ravel())
    return edges, nodes, biases, inputs


def drawing_width(n_layers: int) -> int:
    """The viewBox width for the input column and ``n_layers`` more: as narrow as the columns
    allow, so the drawing fills a narrow screen (it scales with the width it is given)."""
    wanted = LEFT + NODE + RIGHT + n_layers * COLUMN_STEP
    return min(max(wanted, MIN_WIDTH), MAX_WIDTH)


def columns(feature_names: list[str], snap: dict[str, Any]) -> list[Column]:
    """The drawing's columns. A layer's unit count is its ``units`` when the snapshot has one
    (a snapshot reduced to the drawn units keeps the true count for the "+n" mark and the
    sprite tile indices), else the length of its bias."""
    layers = snap["layers"]
    n = len(layers)
    span = drawing_width(n) - LEFT - NODE - RIGHT
    cols = [Column("in", "input", len(feature_names), float(LEFT))]
    for i, layer in enumerate(layers):
        label = "output" if i == n - 1 else f"layer {i + 1}"
        units = int(layer.get("units", len(layer["b"])))
        cols.append(Column(str(i), label, units, LEFT + span * (i + 1) / n))
    return cols


def _peak(mats: list[Matrix]) -> float:
    """The largest |value| of all the matrices (1 when all are 0), in one NumPy pass: per-array
    calls cost more than the values of a small net."""
    flat = [m.ravel() for m in mats if m.size]
    best = float(np.abs(np.concatenate(flat)).max()) if flat else 0.0
    return best or 1.0


def _fit(cols: list[Column]) -> None:
    """Lower the per-column cap until the drawn edges fit the frame budget."""
    cap = MAX_DRAWN
    while cap > 3:
        for c in cols:
            c.cap = cap
        if sum(a.drawn * b.drawn for a, b in zip(cols, cols[1:], strict=False)) <= MAX_EDGES:
            return
        cap -= 1


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


# The drawing's records. The templates unpack them in their field order (a loop over 400
# values per frame reads tuples faster than it looks fields up by name): a field added or
# moved here moves in templates/macros/network.html too.


class Text(NamedTuple):
    """A piece of text in the drawing: where (formatted) and what."""

    x: str
    y: str
    text: str


class Edge(NamedTuple):
    """``<line class="edge">`` for ``W[layer][i][j]``; numbers already formatted."""

    layer: int
    i: int
    j: int
    value: str  # data-value: the number the view shows
    x1: str
    y1: str
    x2: str
    y2: str
    stroke: str  # the colour of the value's sign and size ("" while pending)
    width: str
    pending: bool  # this iteration has not produced the number yet: drawn blank


class Bias(NamedTuple):
    value: str
    x: str
    y: str
    fill: str
    title: str  # the bias in words for the hover title


class Node(NamedTuple):
    """``<g class="node">`` of unit ``unit`` of column ``layer`` ("in" for the inputs)."""

    layer: str
    unit: int
    value: str | None  # data-value; None while pending or where the view has no number
    x: str  # formatted: whole pixels over a sprite tile, tenths for a filled box
    y: str
    fill: str  # the filled box's colour (no sprite)
    tile: str  # the viewBox of its sprite tile
    label: Text | None  # an input's feature name, left of it
    bias: Bias | None
    number: Text | None  # the probe's number under it (activations and delta views)


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


@dataclass
class Layout:
    """Everything ``regions/network.html`` writes."""

    width: int
    height: int
    view: str
    node: int  # a node's side
    highlight: tuple[str, str, int, int] | None  # (meaning, x, width, height) of the phase box
    sprite: Sprite | None
    edges: list[Edge]
    columns: list[ColumnLayout]


def _edges(
    cols: list[Column], edges: list[Matrix], wpeak: float, pending: list[bool]
) -> list[Edge]:
    """The drawn edges, layer after layer, row by row (0 past a snapshot's matrix). What is
    the same for a layer's edges (their x, the units' y) is formatted once."""
    out: list[Edge] = []
    for li, m in enumerate(edges):
        src, dst = cols[li], cols[li + 1]
        wait = pending[li]
        rows = m[: src.drawn, : dst.drawn].tolist()
        x1, x2 = f"{src.x + NODE:.0f}", f"{dst.x:.0f}"
        y2 = [f"{dst.y(k) + NODE / 2:.0f}" for k in range(dst.drawn)]
        for j in range(src.drawn):
            y1 = f"{src.y(j) + NODE / 2:.0f}"
            row = rows[j] if j < len(rows) else []
            for k in range(dst.drawn):
                v = row[k] if k < len(row) else 0.0
                stroke = "" if wait else diverging(v / wpeak)
                width = f"{0.6 + 5.0 * abs(v) / wpeak:.1f}"
                out.append(Edge(li, j, k, f"{v:.6g}", x1, y1, x2, y2[k], stroke, width, wait))
    return out


@dataclass
class _Shown:
    """What one column shows, as :func:`_column` needs it."""

    pending: bool  # the view's numbers of this layer are not computed yet this iteration
    values: Matrix | None  # the view's node numbers (None: none, or pending)
    numbers: Matrix | None  # the probe's numbers written under the nodes (None: not written)
    bias: Matrix | None
    first_tile: int  # the sprite tile of its first unit


def _column(
    col: Column, shown: _Shown, peaks: tuple[float, float], sprite: tuple[int, bool],
    feature_names: list[str],
) -> ColumnLayout:  # fmt: skip
    """One column's nodes (pending when the view's numbers are not computed yet). What is the
    same for every node of the column is formatted once."""
    npeak, bpeak = peaks
    tile, tiled = sprite
    values = [] if shown.values is None else shown.values.tolist()
    numbers = [] if shown.numbers is None else shown.numbers.tolist()
    bias = [] if shown.bias is None else shown.bias.tolist()
    x = col.x
    centre = f"{x + NODE / 2:.1f}"
    xs = f"{x:.0f}" if tiled else f"{x:.1f}"
    label_x, bias_x = f"{x - 4:.1f}", f"{x - 6:.1f}"
    nodes: list[Node] = []
    for k in range(col.drawn):
        y = col.y(k)
        label = b = number = None
        if col.key == "in":
            name = feature_names[k] if k < len(feature_names) else f"x{k + 1}"
            label = Text(label_x, f"{y + NODE / 2 + 4:.1f}", name)
        elif k < len(bias):
            bv = bias[k]
            b = Bias(f"{bv:.6g}", bias_x, f"{y + NODE - 8:.1f}", diverging(bv / bpeak), fmt(bv))
        if k < len(numbers):
            number = Text(centre, f"{y + NODE + 10:.1f}", fmt(numbers[k], 2))
        v = values[k] if k < len(values) else None
        value = None if v is None else f"{v:.6g}"
        ys = f"{y:.0f}" if tiled else f"{y:.1f}"
        fill = "" if tiled else diverging((v or 0.0) / npeak)
        tile_box = f"{(shown.first_tile + k) * tile} 0 {tile} {tile}"
        nodes.append(Node(col.key, k, value, xs, ys, fill, tile_box, label, b, number))
    more = None
    if col.units > col.drawn:
        y = col.y(col.drawn) + NODE / 2 + 4
        more = Text(centre, f"{y:.1f}", f"+{col.units - col.drawn}")
    return ColumnLayout(col.key, Text(centre, "14", col.label), shown.pending, nodes, more)


def layout(
    snap: dict[str, Any],
    feature_names: list[str],
    view: str,
    probe: dict[str, Any] | None,
    sprite_url: str | None,
    tile: int,
    computed: set[int] | None = None,
) -> Layout:
    """The drawing of ``snap`` in ``view`` as data (arguments as :func:`network_svg`)."""
    cols = columns(feature_names, snap)
    edges, nodes, biases, inputs = view_values(snap, view, probe)
    pending = [computed is not None and li not in computed for li in range(len(edges))]
    for li, wait in enumerate(pending):
        if wait:
            edges[li] = np.zeros_like(edges[li])
            nodes[li] = np.zeros_like(nodes[li])
            if view in ("gradients", "updates"):
                biases[li] = np.zeros_like(biases[li])
    wpeak = _peak(edges)
    npeak = _peak(nodes + ([inputs] if inputs is not None else []))
    bpeak = _peak(biases)
    _fit(cols)
    n_tiles = sum(c.units for c in cols)
    tallest = max(c.drawn + (1 if c.units > c.drawn else 0) for c in cols)
    height = TOP + tallest * (NODE + GAP) + 10
    hot, meaning = highlight(snap.get("last_phase"), len(snap["layers"]))
    box = None
    if hot is not None:
        col = next(c for c in cols if c.key == hot)
        box = (meaning, f"{col.x - 8:.0f}", NODE + 16, height - 8)
    numbers = view in ("activations", "delta") and probe is not None  # the probe's own numbers
    drawn: list[ColumnLayout] = []
    art = (tile, sprite_url is not None)
    first_tile = 0
    for ci, col in enumerate(cols):
        if col.key == "in":
            shown = _Shown(False, inputs, inputs if numbers else None, None, 0)
        else:
            wait = pending[ci - 1]
            values = None if wait else nodes[ci - 1]
            shown = _Shown(wait, values, values if numbers else None, biases[ci - 1], first_tile)
        drawn.append(_column(col, shown, (npeak, bpeak), art, feature_names))
        first_tile += col.units
    return Layout(
        width=drawing_width(len(snap["layers"])),
        height=height,
        view=view,
        node=NODE,
        highlight=box,
        sprite=Sprite(sprite_url, tile * n_tiles, tile) if sprite_url else None,
        edges=_edges(cols, edges, wpeak, pending),
        columns=drawn,
    )


def network_svg(
    snap: dict[str, Any],
    feature_names: list[str],
    view: str,
    probe: dict[str, Any] | None,
    sprite_url: str | None,
    tile: int,
    computed: set[int] | None = None,
) -> str:
    """The whole ``<svg id="network">`` element as text (markup: the template escaped it).

    ``computed``: while stepping phases, the layers whose numbers in this view the current
    iteration has already produced (None: all); the others are drawn blank, marked
    ``pending`` (their ``data-value`` is 0 and ``data-pending="true"``).
    """
    net = layout(snap, feature_names, view, probe, sprite_url, tile, computed)
    return templating.region("network", {"net": net})
