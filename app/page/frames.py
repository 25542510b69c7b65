"""What a page frame contains, and making one from a trainer, where the trainer is.

A page frame is what the playground page's live regions show of one moment of a session, as
numbers: the counters and the phase, the network drawing cut to the units it draws
(:class:`app.page.draw.network.Drawing`), and, at their own slower rate, the heatmaps as PNG
bytes and the output panel's predictions. The training worker of a running session makes one at
the rate the session's pages ask (app/training/worker.py) and sends it pickled: a few hundred
bytes to a few kilobytes whatever the size of the net, instead of the whole trainer. The web
process makes one from the trainer itself when no worker trains the session. Turning a frame
into HTML happens once per session and frame, for all its viewers (app/page/feed.py).
"""

from __future__ import annotations

import json
import pickle
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.page.draw import images, network, views
from engine.inspect import readouts
from engine.inspect.chain import chain, probe_trace
from engine.inspect.decision import decision_surface
from engine.inspect.phase_numbers import phase_numbers

# the explain panels' numbers (phase panel, chain rule) of a running session: computed and
# drawn this often at most (nobody reads numbers changing 30 times a second; they cost about
# as much as the rest of a frame in the worker and three times the network's drawing: at
# 0.2 s they took a fifth of the web process's time with 30 learners running)
EXPLAIN_SECONDS = 0.5
# a running session's loss curves, gradient-flow chart and scores: redrawn this often at most
# (new step records come with every frame; the charts move smoothly at 10 a second, and the
# three cost as much as the network's drawing); the frame that ends a run always draws them
CHARTS_SECONDS = 0.1
# ... and at most this share of the web process's render thread, all sessions' together
# (app/page/render_thread.py: with 100 running sessions the charts and the panels, at their
# own intervals, took over half of it, and the network drawing got 3–5 frames a second)
CHARTS_SHARE = 0.15
EXPLAIN_SHARE = 0.15
DECISION_RES = 64  # the decision heatmap's pixels a side
NEURON_RES = 16  # each node's tile in the sprite
# a drawing with more tiles than this gets them at TF Playground's 10 × 10 (a tile's PNG costs
# ~1.8 bytes a pixel: 57 tiles of 16 × 16 would take most of a frame's 32 kB)
MANY_TILES, FEW_PIXELS = 24, 10
DIGITS_SHOWN = 24
# the snapshot's scalars a frame keeps (counters and phase; the arrays go in the drawing)
SCALARS = (
    "status", "divergence", "iteration", "epoch", "samples_seen", "iterations_per_epoch",
    "epoch_samples", "iterations_left", "batch_size", "n_train", "phase", "last_phase", "loss",
    "penalty", "lr", "grad_norm", "second_order",
)  # fmt: skip
# the snapshot parts each network view draws from (the others are not computed); the probe
# example's trace only in its own views (the input column shows its features in all)
NEEDS = {
    "weights": frozenset(),
    "gradients": frozenset({"gradients"}),
    "updates": frozenset({"updates"}),
    "activations": frozenset({"probe"}),
    "delta": frozenset({"probe"}),
    "velocity": frozenset({"optimizer"}),
    "second_moment": frozenset({"optimizer"}),
    "effective_step": frozenset({"updates", "gradients"}),
}
# while stepping phases, the view that shows what the phase just produced
PHASE_VIEW = {
    "forward": "activations",
    "loss": "activations",
    "backward": "delta",
    "update": "weights",
}


@dataclass(frozen=True)
class Look:
    """What a session's pages want drawn that only the frame's maker can apply: the network
    view chosen (and the phase it was chosen at, see :func:`shown_view`) and whether the
    output heatmap shows classes rather than probabilities."""

    view: str = "weights"
    view_marker: str = ""
    discretize: bool = False
    edge: tuple[int, int, int] | None = None  # the weight the explain panels follow


@dataclass
class PageFrame:
    """One moment of a session as its page draws it (see the module docstring)."""

    generation: int
    snap: dict[str, Any]  # SCALARS, plus n_layers
    drawing: network.Drawing
    task: str
    data_key: str  # the data set (and generation) the points and heatmaps belong to
    plane: bool  # 2-D data: the output is a heatmap over the input plane
    images: dict[str, bytes] | None = None  # PNGs redrawn with this frame (None: keep the old)
    tile: int = NEURON_RES  # pixels of one node's tile in the sprite
    pred: Any = None  # regression: (pred, true); digits: (shown, pred, true, confusion)
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def step(self) -> int:
        return int(self.snap["iteration"])

    def encode(self) -> bytes:
        return pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL)


def phase_marker(snap: dict[str, Any], generation: int) -> str:
    """Which phase step the session is at: changes with every phase and iteration."""
    return json.dumps([generation, snap.get("iteration"), snap.get("last_phase")], sort_keys=True)


def shown_view(snap: dict[str, Any], generation: int, look: Look) -> str:
    """The view the drawing uses: while stepping phases, what the phase just produced
    (activations, δ and dL/dw, new weights), unless the user chose a view since that phase."""
    last = snap.get("last_phase")
    if not last or look.view_marker == phase_marker(snap, generation):
        return look.view
    return PHASE_VIEW.get(str(last.get("phase")), look.view)


def computed_layers(snap: dict[str, Any], view: str) -> set[int] | None:
    """Layers whose numbers in ``view`` this iteration has produced so far (None: all)."""
    last = snap.get("last_phase")
    n = len(snap["layers"])
    if not last or last.get("phase") == "update":
        return None
    name, layer = last.get("phase"), last.get("layer")
    if view == "activations":
        return set(range(layer + 1)) if name == "forward" and layer is not None else None
    if view in ("delta", "gradients", "effective_step"):
        if name == "backward" and layer is not None:
            return set(range(layer, n))
        return set()
    return None


def labels(data: Any) -> tuple[list[str], list[int] | None, list[str] | None]:
    """What the drawing says of data set ``data``: its inputs' labels (a pixel's (row, col)),
    the inputs drawn when there are more than fit (those that vary most), the class names."""
    names = network.input_names(list(data.feature_names), data.image_shape)
    shown = network.informative(data.x_train) if len(names) > network.MAX_DRAWN else None
    classes = list(data.class_names or []) if data.task == "multiclass" else None
    return names, shown, classes


def data_key(t: Any, generation: int) -> str:
    return json.dumps(t.config["dataset"], sort_keys=True) + f"|{generation}"


def build(
    t: Any, generation: int, look: Look, pictures: bool, explain: bool = True
) -> PageFrame:
    """The page frame of trainer ``t`` now; ``pictures``: with the heatmaps (the decision
    surface of 2-D data, several times the cost of the rest) or the output panel's
    predictions of other data, which the page redraws at a slower rate."""
    at = {"iteration": t.iteration, "last_phase": t.last_phase}
    view = shown_view(at, generation, look)
    if view not in views.available(t.config["optimizer"]):  # e.g. velocity after a switch
        view = "weights"
    # arrays, not nested lists: only the drawn units are copied out (network.prepare)
    full = readouts.snapshot(t, NEEDS.get(view, NEEDS["weights"]), arrays=True)
    data = t.data
    # the other views need only the probe example's features (for the input column)
    probe = full.get("probe") or {"input": data.x_train[readouts.probe_index(t)]}
    names, shown, classes = labels(data)
    drawing = network.prepare(
        full, names, view, probe, computed_layers(full, view), shown, classes
    )
    snap = {k: full.get(k) for k in SCALARS}
    snap["n_layers"] = len(full["layers"])
    frame = PageFrame(
        generation=generation,
        snap=snap,
        drawing=drawing,
        task=data.task,
        data_key=data_key(t, generation),
        plane=data.domain is not None,
    )
    if explain:  # a running session's frames carry them EXPLAIN_SECONDS apart (worker.py)
        frame.extras["explain"] = explain_extras(t, look.edge)
    if pictures:
        _pictures(t, frame, look)
    return frame


def explain_extras(t: Any, edge: tuple[int, int, int] | None) -> dict[str, Any]:
    """The phase panel's and the chain-rule inspector's numbers (app/page/explain_view.py) for
    the weight ``edge`` (layer, i, j), or the output layer's w[0][0] when the page chose none
    or chose one of a former net: one probe trace shared by both."""
    traced = probe_trace(t)
    layer, i, j = edge or (None, None, None)
    try:
        ch = chain(t, layer, i, j, traced)
    except ValueError:
        ch = chain(t, traced=traced)
    pn = phase_numbers(t, ch["layer"], ch["i"], ch["j"], traced=traced)
    probe: dict[str, Any] = {"index": traced[0]}
    data = t.data
    if data.task == "regression" and (data.target_std != 1.0 or data.target_mean != 0.0):
        # the engine trains on the standardised target: the page names the original too
        probe["y_original"] = float(traced[2][0, 0]) * data.target_std + data.target_mean
    return {"chain": ch, "phase_numbers": pn, "probe": probe}


def _pictures(t: Any, frame: PageFrame, look: Look) -> None:
    data = t.data
    if data.domain is not None:
        units = frame.drawing.shown
        res = NEURON_RES if sum(len(s) for s in units) <= MANY_TILES else FEW_PIXELS
        surface = decision_surface(t, DECISION_RES, res)
        assert surface is not None  # data with a domain (2-D) has one
        scale = 1.0
        if data.task == "regression":
            ys = np.asarray(data.y_train, dtype=np.float64)
            scale = float(np.max(np.abs(ys))) if ys.size else 1.0
        # tiles of the drawn units only: a wide net's every unit would be a 200 kB sprite
        drawn = {
            "features": surface["features"],
            "neurons": [np.asarray(n)[units[i + 1]] for i, n in enumerate(surface["neurons"])],
        }
        frame.tile = int(surface["neuron_resolution"])
        frame.images = {
            "decision": images.decision_png(surface, look.discretize, scale),
            "sprite": images.sprite_png(images.tiles(drawn, units[0])),
        }
        frame.extras["sprite_units"] = [list(s) for s in units]
    elif data.task == "regression" and data.x_test.shape[0]:
        out = t.net.evaluate(data.x_test)[-1][1]
        frame.pred = (np.asarray(out)[:, 0].tolist(), np.asarray(data.y_test)[:, 0].tolist())
        frame.images = {}
    elif data.task == "multiclass" and data.x_test.shape[0]:
        z = t.net.evaluate(data.x_test)[-1][0]
        pred = np.argmax(z, axis=1)
        true = np.asarray(data.y_test).astype(int)
        k = data.n_classes
        confusion = np.zeros((k, k), dtype=int)
        np.add.at(confusion, (true, pred), 1)
        frame.images = {}
        shown = None
        if data.image_shape is not None:
            rows = np.asarray(data.x_test[:DIGITS_SHOWN], dtype=np.float64)
            tiles = [images.scaled(r.reshape(data.image_shape) - r.mean()) for r in rows]
            frame.images["digits"] = images.sprite_png(tiles)
            shown = [None] * len(rows)  # the images themselves travel as the PNG
        frame.pred = (
            shown,
            pred[:DIGITS_SHOWN].tolist(),
            true[:DIGITS_SHOWN].tolist(),
            confusion.tolist(),
        )
        frame.extras["image_shape"] = data.image_shape
    else:
        frame.images = {}
