"""The network drawing: one ``<svg id="network">`` built from a trainer snapshot.

Columns left to right: the input features, then every layer's units (the last is the output).
Edge ``data-layer=L data-i=j data-j=k`` is ``W[L][j][k]`` (W has shape (fan_in, fan_out)); node
``data-layer=L data-unit=k`` is unit k of layer L (inputs are ``data-layer="in"``). Each edge
and node carries ``data-value``: the number the chosen view shows (app/page/draw/views.py says
which, per view: weights, a_j·w_jk, dL/dw, Δw, the optimizer's state, Δw/g).

Colour is the sign (orange negative, blue positive); width grows with |value| relative to the
largest in the view (or a scale the page froze, see :func:`draw`).

What is drawn: every unit of a column up to ``MAX_DRAWN`` (8, TensorFlow Playground's most),
and the output's up to ``MAX_OUTPUTS`` (the 10 classes of digits, labelled by class). A wider
hidden or output layer shows its ``MAX_DRAWN`` units with the largest |value| in the view
(its own number or any of its edges', each relative to the view's peak: :func:`chosen`), in
index order, and a "+n" mark; the data-* indices stay the real ones. Wider inputs show the
features that vary most over the training set (never a constant pixel).

This module takes the drawing's numbers out of a snapshot (:func:`prepare`, where the trainer
is); app/page/draw/network_layout.py places them and ``templates/regions/network.html`` writes the
SVG (:func:`draw`, where the page is served).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.page import i18n, names, templating
from app.page.draw import network_stencil, views
from app.page.draw.network_layout import (
    LEFT,
    MAX_DRAWN,
    NODE,
    RIGHT,
    Column,
    Drawing,
    Layout,
    drawing_width,
)

VIEWS = views.VIEWS
MAX_OUTPUTS = 10  # an output layer this wide is drawn whole (digits' ten classes)

Matrix = NDArray[np.float64]


def _arr(x: Any) -> Matrix:
    """Nested lists (None for non-finite) as a float array with 0 where not finite."""
    a = np.array(x if x is not None else [], dtype=np.float64)
    if np.isfinite(a).all():  # the usual case, and a fifth of nan_to_num's cost per frame
        return a
    return np.nan_to_num(a, nan=0.0, posinf=0.0, neginf=0.0)


def _state(snap: dict[str, Any], i: int, param: str, key: str | None) -> Matrix | None:
    """Optimizer state ``key`` of layer ``i``'s parameter ``param`` (None: not kept yet)."""
    opt = snap.get("optimizer")
    if not opt or key is None:
        return None
    layers = opt.get("layers") or []
    found = layers[i].get(param, {}).get(key) if i < len(layers) else None
    return None if found is None else _arr(found)


def view_values(
    snap: dict[str, Any], view: str, probe: dict[str, Any] | None
) -> tuple[list[Matrix], list[Matrix], list[Matrix], Matrix | None]:
    """Per layer, the edge matrix (fan_in, fan_out), node vector and bias vector the view
    shows, and the input column's node values (the probe's inputs in probe views).

    Optimizer views (velocity, second moment) read ``snap["optimizer"]`` (readouts' include
    ``optimizer``): 0 before the optimizer made the state; the effective step divides the
    ``updates`` by the ``gradients`` (:func:`views.effective_step`)."""
    edges: list[Matrix] = []
    nodes: list[Matrix] = []
    biases: list[Matrix] = []
    inputs = _arr(probe["input"]) if probe else None
    key = views.state_key(str((snap.get("optimizer") or {}).get("name", "")), view)
    for i, layer in enumerate(snap["layers"]):
        weights = _arr(layer["W"])
        if view in ("activations", "delta") and probe is not None:
            rec = probe["layers"][i]
            if view == "activations":
                prev = inputs if i == 0 else _arr(probe["layers"][i - 1]["a"])
                w = weights * np.asarray(prev)[:, None]
                n = _arr(rec["a"])
            else:
                w, n = _arr(rec["dW"]), _arr(rec["delta"])
        elif view == "gradients" and "dW" in layer:
            w, n = _arr(layer["dW"]), _arr(layer["db"])
        elif view == "updates" and "dW_update" in layer:
            w, n = _arr(layer["dW_update"]), _arr(layer["db_update"])
        elif view == "effective_step" and "dW_update" in layer and "dW" in layer:
            w = views.effective_step(_arr(layer["dW_update"]), _arr(layer["dW"]))
            n = views.effective_step(_arr(layer["db_update"]), _arr(layer["db"]))
        elif view in views.OPTIMIZER_VIEWS and "optimizer" in snap:
            sw, sb = _state(snap, i, "W", key), _state(snap, i, "b", key)
            w = sw if sw is not None else np.zeros_like(weights)
            n = sb if sb is not None else np.zeros(weights.shape[-1])
        else:
            w, n = weights, _arr(layer["b"])
        own_bias = view not in ("weights", "activations", "delta")
        bias = n if own_bias or view == "weights" else _arr(layer["b"])
        edges.append(w.reshape(len(weights), -1))
        nodes.append(n.ravel())
        biases.append(bias.ravel())
    return edges, nodes, biases, inputs


def columns(feature_names: list[str], snap: dict[str, Any]) -> list[Column]:
    """The drawing's columns: inputs, then each layer's units (its ``units`` when a snapshot
    reduced to the drawn units keeps the true count, else the length of its bias)."""
    layers = snap["layers"]
    n = len(layers)
    span = drawing_width(n) - LEFT - NODE - RIGHT
    cols = [Column("in", "input", len(feature_names), float(LEFT))]
    for i, layer in enumerate(layers):
        last = i == n - 1
        units = int(layer.get("units", len(layer["b"])))
        cap = MAX_OUTPUTS if last and units <= MAX_OUTPUTS else MAX_DRAWN
        cols.append(Column(str(i), "output" if last else f"layer {i + 1}", units, 0.0, cap))
        cols[-1].x = LEFT + span * (i + 1) / n
    return cols


def _peak(mats: list[Matrix]) -> float:
    """The largest |value| of all the matrices (1 when all are 0), in one NumPy pass: per-array
    calls cost more than the values of a small net."""
    flat = [m.ravel() for m in mats if m.size]
    best = float(np.abs(np.concatenate(flat)).max()) if flat else 0.0
    return best or 1.0


def _cut(m: Matrix, rows: list[int], cols: list[int]) -> Matrix:
    """``m[rows][:, cols]``; ``m`` itself when they are all its rows and columns in order (a
    small net's every frame: the fancy index costs more than the rest of its drawing)."""
    if rows == list(range(m.shape[0])) and cols == list(range(m.shape[1])):
        return m
    return m[np.ix_(rows, cols)]


def chosen(score: Matrix, cap: int) -> list[int]:
    """The indices of the ``cap`` largest scores, in index order (all when there are fewer;
    ties go to the lower index)."""
    if score.size <= cap:
        return list(range(score.size))
    top = np.argsort(-score, kind="stable")[:cap]
    return sorted(int(k) for k in top)


def _unit_scores(
    li: int, edges: list[Matrix], nodes: list[Matrix], wpeak: float, npeak: float
) -> Matrix:
    """Layer ``li``'s units ranked by their largest |value| in the view: the node's own, or
    any edge into or out of it, each relative to its peak."""
    score = np.abs(nodes[li]) / npeak
    e_in = edges[li]
    if e_in.size:
        score = np.maximum(score, np.abs(e_in).max(axis=0) / wpeak)
    if li + 1 < len(edges) and edges[li + 1].size:
        score = np.maximum(score, np.abs(edges[li + 1]).max(axis=1) / wpeak)
    return score


def informative(x_train: Any, cap: int = MAX_DRAWN) -> list[int]:
    """The ``cap`` input features that vary most over the training set, in index order (for
    digits: the pixels that carry the most; the always-0 corners never)."""
    x = np.asarray(x_train, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] <= cap:
        return list(range(x.shape[1] if x.ndim == 2 else 0))
    return chosen(np.var(x, axis=0), cap)


def input_names(feature_names: list[str], image_shape: Any) -> list[str]:
    """The input column's labels: a pixel as (row, col) of its image, else the feature's name."""
    if image_shape:
        cols = int(image_shape[1])
        return [f"({k // cols},{k % cols})" for k in range(len(feature_names))]
    return list(feature_names)


def prepare(
    snap: dict[str, Any],
    feature_names: list[str],
    view: str,
    probe: dict[str, Any] | None,
    computed: set[int] | None = None,
    inputs_shown: list[int] | None = None,
    class_names: list[str] | None = None,
) -> Drawing:
    """The drawing's numbers from a full snapshot (where the trainer is: a worker process).

    ``computed``: while stepping phases, the layers whose numbers in this view the current
    iteration has already produced (None: all); the others are drawn blank, marked
    ``pending`` (their ``data-value`` is 0 and ``data-pending="true"``).
    ``inputs_shown``: the input features drawn when there are more than fit (:func:`informative`;
    None: the first ones); ``class_names``: the output units' labels (multiclass).
    """
    cols = columns(feature_names, snap)
    edges, nodes, biases, inputs = view_values(snap, view, probe)
    if computed is not None:
        for li in range(len(edges)):
            if li not in computed:
                edges[li] = np.zeros_like(edges[li])
                nodes[li] = np.zeros_like(nodes[li])
                if view not in ("weights", "activations", "delta"):
                    biases[li] = np.zeros_like(biases[li])
    wpeak = _peak(edges)
    npeak = _peak(nodes + ([inputs] if inputs is not None else []))
    peaks = (wpeak, npeak, _peak(biases))
    first = inputs_shown if inputs_shown is not None else list(range(cols[0].units))
    shown = [first[: cols[0].cap]]
    for li in range(len(edges)):
        units, cap = cols[li + 1].units, cols[li + 1].cap
        # a column that fits is drawn whole: no scores to rank its units by (made per frame)
        fits = units <= cap and len(nodes[li]) == units
        shown.append(list(range(units)) if fits else chosen(
            _unit_scores(li, edges, nodes, wpeak, npeak), cap
        ))  # fmt: skip
    opt = str((snap.get("optimizer") or {}).get("name", ""))
    out_names = None
    if class_names and len(class_names) == cols[-1].units and cols[-1].units > 1:
        out_names = [str(class_names[k]) for k in shown[-1]]
    return Drawing(
        view=view,
        labels=[c.label for c in cols],
        units=[c.units for c in cols],
        shown=shown,
        edges=[_cut(e, shown[i], shown[i + 1]).tolist() for i, e in enumerate(edges)],
        nodes=[n[shown[i + 1]].tolist() for i, n in enumerate(nodes)],
        biases=[b[shown[i + 1]].tolist() for i, b in enumerate(biases)],
        inputs=None if inputs is None else inputs[shown[0]].tolist(),
        peaks=peaks,
        feature_names=[feature_names[k] for k in shown[0]],
        n_layers=len(snap["layers"]),
        last_phase=snap.get("last_phase"),
        computed=computed,
        numbers=view in ("activations", "delta") and probe is not None,
        quantity=views.quantity(view, opt),
        out_names=out_names,
        alphas=[_alphas(entry, shown[i + 1]) for i, entry in enumerate(snap["layers"])],
    )


def _alphas(entry: dict[str, Any], shown: list[int]) -> list[float] | None:
    """PReLU's α of a layer's ``shown`` units (one α for the layer: the same for each)."""
    alpha = entry.get("alpha")
    if alpha is None:
        return None
    a = np.asarray(alpha, dtype=np.float64).ravel()
    return [float(a[k] if a.size > 1 else a[0]) for k in shown]


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


def draw(
    d: Drawing,
    sprite_url: str | None,
    tile: int,
    fixed: tuple[float, float, float] | None = None,
    tiles: list[list[int]] | None = None,
) -> str:
    """The ``<svg id="network">`` element of drawing ``d`` and its legend (where the page is
    served): its layout (app/page/draw/network_layout.py) written by
    ``templates/regions/network.html``. ``fixed``: the peaks the page froze ("fixed scale"),
    used instead of the frame's own so that frames compare; ``tiles``: the units the sprite
    has tiles of (its frame's ``shown``; None: all)."""
    lang = i18n.CURRENT.get()

    def render(net: Layout) -> str:  # a new shape's markup (the words made once with it)
        lg = net.legend
        said = names.network_words(
            lang, net.view, lg.edge if lg else "", lg.node if lg else "",
            tuple(column.label.text for column in net.columns),
        )  # fmt: skip
        return templating.region("network", {"net": net, "nw": said})

    return network_stencil.draw(d, (sprite_url, tile, fixed, tiles), (lang,), render)
