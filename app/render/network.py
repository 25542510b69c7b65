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
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

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
    layers = snap["layers"]
    n = len(layers)
    span = drawing_width(n) - LEFT - NODE - RIGHT
    cols = [Column("in", "input", len(feature_names), float(LEFT))]
    for i, layer in enumerate(layers):
        label = "output" if i == n - 1 else f"layer {i + 1}"
        cols.append(Column(str(i), label, len(layer["b"]), LEFT + span * (i + 1) / n))
    return cols


def _peak(mats: list[Matrix]) -> float:
    best = max((float(np.max(np.abs(m))) for m in mats if m.size), default=0.0)
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


@dataclass
class Drawing:
    """The numbers of one network drawing, reduced to the units it draws: what a page frame
    carries (a few hundred floats, however large the net) and :func:`draw` turns into SVG.

    ``edges[l]`` is the view's matrix of layer ``l`` cut to (drawn inputs, drawn units),
    ``nodes``/``biases`` the drawn units' values, ``inputs`` the input column's (probe views);
    ``peaks`` (edges, nodes, biases) are the largest magnitudes over *all* units, so widths
    and colours match the full drawing's; ``units``/``caps`` say how many units each column
    has and how many it draws at most (the "+n" marks and sprite tile indices)."""

    view: str
    labels: list[str]
    units: list[int]
    caps: list[int]
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

    def columns(self) -> list[Column]:
        span = drawing_width(self.n_layers) - LEFT - NODE - RIGHT
        xs = [float(LEFT)] + [LEFT + span * (i + 1) / self.n_layers for i in range(self.n_layers)]
        keys = ["in"] + [str(i) for i in range(self.n_layers)]
        return [
            Column(k, lab, u, x, cap)
            for k, lab, u, x, cap in zip(keys, self.labels, self.units, xs, self.caps, strict=True)
        ]


def prepare(
    snap: dict[str, Any],
    feature_names: list[str],
    view: str,
    probe: dict[str, Any] | None,
    computed: set[int] | None = None,
) -> Drawing:
    """The drawing's numbers from a full snapshot (where the trainer is: a worker process).

    ``computed``: while stepping phases, the layers whose numbers in this view the current
    iteration has already produced (None: all); the others are drawn blank, marked
    ``pending`` (their ``data-value`` is 0 and ``data-pending="true"``).
    """
    cols = columns(feature_names, snap)
    edges, nodes, biases, inputs = view_values(snap, view, probe)
    if computed is not None:
        for li in range(len(edges)):
            if li not in computed:
                edges[li] = np.zeros_like(edges[li])
                nodes[li] = np.zeros_like(nodes[li])
                if view in ("gradients", "updates"):
                    biases[li] = np.zeros_like(biases[li])
    peaks = (
        _peak(edges),
        _peak(nodes + ([inputs] if inputs is not None else [])),
        _peak(biases),
    )
    _fit(cols)
    shown = [c.drawn for c in cols]
    return Drawing(
        view=view,
        labels=[c.label for c in cols],
        units=[c.units for c in cols],
        caps=[c.cap for c in cols],
        edges=[e[: shown[i], : shown[i + 1]].tolist() for i, e in enumerate(edges)],
        nodes=[n[: shown[i + 1]].tolist() for i, n in enumerate(nodes)],
        biases=[b[: shown[i + 1]].tolist() for i, b in enumerate(biases)],
        inputs=None if inputs is None else inputs[: shown[0]].tolist(),
        peaks=peaks,
        feature_names=list(feature_names),
        n_layers=len(snap["layers"]),
        last_phase=snap.get("last_phase"),
        computed=computed,
        numbers=view in ("activations", "delta") and probe is not None,
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
    """The whole ``<svg id="network">`` element as text (see :func:`prepare`)."""
    return draw(prepare(snap, feature_names, view, probe, computed), sprite_url, tile)


def draw(d: Drawing, sprite_url: str | None, tile: int) -> str:
    """The ``<svg id="network">`` element of drawing ``d`` (where the page is served)."""
    cols = d.columns()
    view, computed = d.view, d.computed
    edges = [np.asarray(e, dtype=np.float64).reshape(len(e), -1) for e in d.edges]
    nodes = [np.asarray(n, dtype=np.float64) for n in d.nodes]
    biases = [np.asarray(b, dtype=np.float64) for b in d.biases]
    inputs = None if d.inputs is None else np.asarray(d.inputs, dtype=np.float64)
    wpeak, npeak, bpeak = d.peaks
    feature_names = d.feature_names
    n_tiles = sum(c.units for c in cols)
    tallest = max(c.drawn + (1 if c.units > c.drawn else 0) for c in cols)
    height = TOP + tallest * (NODE + GAP) + 10
    hot, meaning = highlight(d.last_phase, d.n_layers)
    view_width = drawing_width(d.n_layers)
    out = [
        f'<svg id="network" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {view_width} {height}" '
        f'role="img" aria-label="network drawing, view {view}" data-view="{view}">'
    ]
    if hot is not None:
        col = next(c for c in cols if c.key == hot)
        out.append(
            f'<rect class="computing {meaning}" x="{col.x - 8:.0f}" y="4" width="{NODE + 16}" '
            f'height="{height - 8}" rx="8"/>'
        )
    out.append('<g class="edges">')
    for li in range(d.n_layers):
        src, dst = cols[li], cols[li + 1]
        for j in range(src.drawn):
            for k in range(dst.drawn):
                m = edges[li]
                v = float(m[j, k]) if j < m.shape[0] and k < m.shape[1] else 0.0
                width = 0.6 + 5.0 * abs(v) / wpeak
                wait = computed is not None and li not in computed
                look = (
                    ' data-pending="true" stroke="#d4d4d4" stroke-dasharray="3 3"'
                    if wait
                    else f' stroke="{diverging(v / wpeak)}"'
                )
                out.append(
                    f'<line class="edge{" pending" if wait else ""}" data-layer="{li}" '
                    f'data-i="{j}" data-j="{k}" data-value="{v:.6g}" x1="{src.x + NODE:.0f}" '
                    f'y1="{src.y(j) + NODE / 2:.0f}" x2="{dst.x:.0f}" '
                    f'y2="{dst.y(k) + NODE / 2:.0f}"{look} stroke-width="{width:.1f}"/>'
                )
    out.append("</g>")
    tile_index = 0
    numbers = d.numbers
    for ci, col in enumerate(cols):
        values = inputs if col.key == "in" else nodes[ci - 1]
        bias = None if col.key == "in" else biases[ci - 1]
        wait = computed is not None and col.key != "in" and int(col.key) not in computed
        pend = (" pending", ' data-pending="true"') if wait else ("", "")
        out.append(f'<g class="column{pend[0]}" data-column="{col.key}"{pend[1]}>')
        out.append(f'<text class="col-label" x="{col.x + NODE / 2:.1f}" y="14">{col.label}</text>')
        for k in range(col.units):
            index = tile_index + k
            if k >= col.drawn:
                break
            b = (float(bias[k]), bpeak) if bias is not None and k < len(bias) else None
            art = (sprite_url, index, tile, n_tiles)
            node = _node(col, k, None if wait else values, npeak, b, art, feature_names)
            out.append(node + (_value_label(col, k, values) if numbers and not wait else ""))
        if col.units > col.drawn:
            more = col.units - col.drawn
            out.append(
                f'<text class="more" x="{col.x + NODE / 2:.1f}" '
                f'y="{col.y(col.drawn) + NODE / 2 + 4:.1f}">+{more}</text>'
            )
        tile_index += col.units
    out.append("</svg>")
    return "".join(out)


def _value_label(col: Column, k: int, values: Matrix | None) -> str:
    """The node's number (activation or δ of the probe example) written under it."""
    if values is None or k >= len(values):
        return ""
    x, y = col.x + NODE / 2, col.y(k) + NODE + 10
    return f'<text class="node-value" x="{x:.1f}" y="{y:.1f}">{fmt(float(values[k]), 2)}</text>'


def _node(
    col: Column,
    k: int,
    values: Matrix | None,
    npeak: float,
    bias: tuple[float, float] | None,
    art: tuple[str | None, int, int, int],
    feature_names: list[str],
) -> str:
    sprite_url, index, tile, n_tiles = art
    x, y = col.x, col.y(k)
    v = float(values[k]) if values is not None and k < len(values) else None
    value_attr = f' data-value="{v:.6g}"' if v is not None else ""
    parts = [
        f'<g class="node" data-layer="{col.key}" data-unit="{k}"{value_attr}>',
    ]
    if sprite_url:
        parts.append(
            f'<svg x="{x:.0f}" y="{y:.0f}" width="{NODE}" height="{NODE}" '
            f'viewBox="{index * tile} 0 {tile} {tile}">'
            f'<image href="{sprite_url}" width="{tile * n_tiles}" height="{tile}"/></svg>'
        )
        parts.append(
            f'<rect class="node-box" x="{x:.0f}" y="{y:.0f}" width="{NODE}" height="{NODE}"/>'
        )
    else:
        fill = diverging((v or 0.0) / npeak)
        parts.append(
            f'<rect class="node-box filled" x="{x:.1f}" y="{y:.1f}" width="{NODE}" '
            f'height="{NODE}" fill="{fill}"/>'
        )
    if col.key == "in":
        name = feature_names[k] if k < len(feature_names) else f"x{k + 1}"
        parts.append(
            f'<text class="feat-label" x="{x - 4:.1f}" y="{y + NODE / 2 + 4:.1f}">'
            f"{escape(name)}</text>"
        )
    elif bias is not None:
        b, bpeak = bias
        parts.append(
            f'<rect class="bias" data-layer="{col.key}" data-j="{k}" data-value="{b:.6g}" '
            f'x="{x - 6:.1f}" y="{y + NODE - 8:.1f}" width="8" height="8" '
            f'fill="{diverging(b / bpeak)}"><title>bias {fmt(b)}</title></rect>'
        )
    parts.append("</g>")
    return "".join(parts)
