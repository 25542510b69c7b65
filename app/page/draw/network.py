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

This module takes the drawing's numbers out of a snapshot (:func:`prepare`, where the trainer
is); app/page/draw/network_layout.py places them and ``templates/regions/network.html`` writes the
SVG (:func:`draw`, where the page is served).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.page import templating
from app.page.draw.network_layout import (
    LEFT,
    MAX_DRAWN,
    NODE,
    RIGHT,
    Column,
    Drawing,
    drawing_width,
    layout,
)

VIEWS = ("weights", "activations", "delta", "gradients", "updates")
MAX_EDGES = 110  # edges drawn at most: keeps a frame well under 32 KB


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
    """The whole ``<svg id="network">`` element as text (see :func:`prepare`; markup: the
    template escaped it)."""
    return draw(prepare(snap, feature_names, view, probe, computed), sprite_url, tile)


def draw(d: Drawing, sprite_url: str | None, tile: int) -> str:
    """The ``<svg id="network">`` element of drawing ``d`` (where the page is served): its
    layout (app/page/draw/network_layout.py) written by ``templates/regions/network.html``."""
    return templating.region("network", {"net": layout(d, sprite_url, tile)})
