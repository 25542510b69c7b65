"""What the page shows of one session at one moment: gathered under the session's lock, then
rendered (SVG text and PNG bytes) outside it.

:func:`gather` copies the numbers (a snapshot with the gradients, updates and probe views, the
decision surface of 2-D data when the heatmaps are redrawn, predictions for the output panel)
while holding ``session.lock`` briefly; :mod:`app.render.regions` turns them into the region
fragments the page stream sends.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from app.render import charts, images, network
from app.render.palette import fmt
from engine.inspect import readouts
from engine.inspect.decision import decision_surface

DECISION_RES = 64
NEURON_RES = 16
DIGITS_SHOWN = 24


@dataclass
class UiState:
    """Page-only preferences of a session (they change drawings, never training)."""

    view: str = "weights"
    log_scale: bool = False
    show_test: bool = False
    discretize: bool = False
    view_marker: str = ""  # the phase marker when the view was last chosen (see shown_view)
    surface: dict[str, Any] | None = None  # the loss surface the page asked for
    surface_version: int = 0


# a session's page preferences, shared by its pages; kept while the session exists (an unload
# keeps them: they cannot be rebuilt), dropped when it is deleted (app/render/regions.forget)
UI: dict[str, UiState] = {}


def ui_of(session_id: str) -> UiState:
    return UI.setdefault(session_id, UiState())


@dataclass
class Picture:
    session: dict[str, Any]
    snap: dict[str, Any]
    task: str
    feature_names: list[str]
    data_key: str
    plane: bool = False  # 2-D data: the output is a heatmap over the input plane
    images: bool = False  # gathered for redrawn heatmaps (the decision surface, when ``plane``)
    surface: dict[str, Any] | None = None
    points: tuple[dict[str, Any], dict[str, Any], tuple[float, float, float, float]] | None = None
    target_scale: float = 1.0
    pred: Any = None  # regression: (pred, true); digits: (images, pred, true, confusion)
    extras: dict[str, Any] = field(default_factory=dict)


def gather(
    session: Any,
    manager: Any,
    data_key_seen: str | None,
    want_images: bool = True,
    pushed_ok: bool = False,
) -> Picture:
    """Copy what the page needs out of the trainer (takes the session's lock).

    ``want_images``: the heatmaps are redrawn this frame, so compute the decision surface of
    2-D data (the costliest part: several times the snapshot), or the test-set predictions of
    other data (the output picture goes with the heatmaps). 2-D data the page has not seen
    yet (``data_key_seen`` differs) always gets them: the old heatmaps would not fit it.
    ``pushed_ok``: a page's frame, which draws the newest pushed copy (``Manager.load``).
    """
    with session.lock:
        t = manager.load(session, pushed_ok=pushed_ok)
        snap = readouts.snapshot(t, frozenset({"gradients", "updates", "probe"}))
        data = t.data
        key = json.dumps(t.config["dataset"], sort_keys=True) + f"|{session.generation}"
        pic = Picture(
            session=session.public(),
            snap=snap,
            task=data.task,
            feature_names=list(data.feature_names),
            data_key=key,
        )
        pic.images = want_images
        if data.domain is not None:
            pic.plane = True
            pic.images = want_images or key != data_key_seen
            if pic.images:
                pic.surface = decision_surface(t, DECISION_RES, NEURON_RES)
            if key != data_key_seen:
                raw = {"train": data.raw_train, "test": data.raw_test}
                labels = {"train": data.y_train, "test": data.y_test}
                pic.points = (raw, labels, tuple(data.domain))
            if data.task == "regression":
                ys = np.asarray(data.y_train, dtype=np.float64)
                pic.target_scale = float(np.max(np.abs(ys))) if ys.size else 1.0
        elif not want_images:
            pass  # the output picture below is redrawn at the heatmaps' cadence
        elif data.task == "regression" and data.x_test.shape[0]:
            out = t.net.evaluate(data.x_test)[-1][1]
            pic.pred = (np.asarray(out)[:, 0].copy(), np.asarray(data.y_test)[:, 0].copy())
        elif data.task == "multiclass" and data.x_test.shape[0]:
            z = t.net.evaluate(data.x_test)[-1][0]
            pred = np.argmax(z, axis=1)
            true = np.asarray(data.y_test).astype(int)
            k = data.n_classes
            confusion = np.zeros((k, k), dtype=int)
            np.add.at(confusion, (true, pred), 1)
            shown = None
            if data.image_shape is not None:
                shown = np.asarray(data.x_test[:DIGITS_SHOWN], dtype=np.float64).copy()
            pic.pred = (shown, pred[:DIGITS_SHOWN].copy(), true[:DIGITS_SHOWN].copy(), confusion)
            pic.extras["image_shape"] = data.image_shape
    return pic


def image_version(pic: Picture) -> str:
    s = pic.snap
    return f"{pic.session['generation']}-{s['iteration']}-{abs(hash(str(s['layers'][0]['W'])))}"


def render_images(pic: Picture, ui: UiState) -> dict[str, bytes]:
    """PNG files of this picture: ``decision``, ``sprite`` (2-D data) or ``digits``; none when
    it was gathered without images."""
    out: dict[str, bytes] = {}
    if not pic.images:
        return out
    if pic.surface is not None:
        out["decision"] = images.decision_png(pic.surface, ui.discretize, pic.target_scale)
        n_in = len(pic.feature_names)
        out["sprite"] = images.sprite_png(images.tiles(pic.surface, list(range(n_in))))
    elif pic.pred is not None and pic.task == "multiclass" and pic.pred[0] is not None:
        shape = pic.extras["image_shape"]
        shown = pic.pred[0]
        tiles = [images.scaled(row.reshape(shape) - row.mean()) for row in shown]
        out["digits"] = images.sprite_png(tiles)
    return out


PHASE_VIEW = {
    "forward": "activations",
    "loss": "activations",
    "backward": "delta",
    "update": "weights",
}


def phase_marker(snap: dict[str, Any], generation: int) -> str:
    """Which phase step the session is at: changes with every phase and iteration."""
    return json.dumps([generation, snap.get("iteration"), snap.get("last_phase")], sort_keys=True)


def shown_view(pic: Picture, ui: UiState) -> str:
    """The view the drawing uses: while stepping phases, what the phase just produced
    (activations, δ and dL/dw, new weights), unless the user chose a view since that phase."""
    last = pic.snap.get("last_phase")
    if not last or ui.view_marker == phase_marker(pic.snap, pic.session["generation"]):
        return ui.view
    return PHASE_VIEW.get(str(last.get("phase")), ui.view)


def computed_layers(snap: dict[str, Any], view: str) -> set[int] | None:
    """Layers whose numbers in ``view`` this iteration has produced so far (None: all)."""
    last = snap.get("last_phase")
    n = len(snap["layers"])
    if not last or last.get("phase") == "update":
        return None
    name, layer = last.get("phase"), last.get("layer")
    if view == "activations":
        return set(range(layer + 1)) if name == "forward" and layer is not None else None
    if view in ("delta", "gradients"):
        if name == "backward" and layer is not None:
            return set(range(layer, n))
        return set()
    return None


def network_svg(pic: Picture, ui: UiState, sprite_url: str | None) -> str:
    probe = pic.snap.get("probe")
    shown = shown_view(pic, ui)
    return network.network_svg(
        pic.snap,
        pic.feature_names,
        shown,
        probe,
        sprite_url,
        images_tile(pic),
        computed_layers(pic.snap, shown),
    )


def images_tile(pic: Picture) -> int:
    return int(pic.surface["neuron_resolution"]) if pic.surface is not None else NEURON_RES


def phase_words(snap: dict[str, Any]) -> tuple[str, str]:
    """(the phase that just ran, the one that runs next), in words."""
    n = len(snap["layers"])

    def words(p: dict[str, Any] | None) -> str:
        if not p or p.get("phase") is None:
            return "ready"
        name, layer = p["phase"], p.get("layer")
        if name in ("forward", "backward") and layer is not None:
            where = "output layer" if layer == n - 1 else f"layer {layer + 1}"
            return f"{name} · {where}"
        return str(name)

    done = words(snap.get("last_phase"))
    nxt = words(snap.get("phase"))
    if snap.get("last_phase") is None:
        done = "ready"
    return done, nxt


PHASE_KO = {
    "ready": "준비",
    "forward": "순전파",
    "loss": "손실",
    "backward": "역전파",
    "update": "업데이트",
}
LAYER_WORDS = re.compile(r"layer (\d+)")


def phase_ko(words: str) -> str:
    """The Korean of a phase in words (:func:`phase_words`, ``regions.phase_order``):
    ``forward · layer 2`` → ``순전파 · 은닉층 2`` (the numbered layers are the hidden ones),
    ``backward · output layer`` → ``역전파 · 출력층``; "" for words it does not know.
    The page shows it beside the English (the template filter ``phase_ko``), so the stream's
    fragments keep their English parts."""
    name, _, where = str(words).partition(" · ")
    ko = PHASE_KO.get(name.strip(), "")
    if not ko or not where:
        return ko
    if where.startswith("output"):
        return f"{ko} · 출력층"
    m = LAYER_WORDS.fullmatch(where.strip())
    return f"{ko} · 은닉층 {m.group(1)}" if m else ko


def counters(pic: Picture) -> dict[str, str]:
    s = pic.snap
    n, b = s["n_train"], s["batch_size"]
    epochs = s["epoch"]
    return {
        "epoch": str(epochs),
        "iteration": str(s["iteration"]),
        "samples_seen": str(s["samples_seen"]),
        "ipe": str(s["iterations_per_epoch"]),
        "ipe_formula": f"⌈{n} / {b}⌉ = {s['iterations_per_epoch']} per epoch; "
        f"× {epochs} epochs = {s['iterations_per_epoch'] * epochs} iterations",
        "ipe_formula_ko": f"에포크당 {s['iterations_per_epoch']}회; 에포크 {epochs}회 = "
        f"이터레이션 {s['iterations_per_epoch'] * epochs}회",
        "batch_loss": fmt(s.get("loss")),
        "lr": fmt(s.get("lr")),
        "grad_norm": fmt(s.get("grad_norm")),
    }


def curves_svg(curves: charts.Curves, ui: UiState) -> tuple[str, str]:
    loss = charts.line_chart("loss-chart", curves.steps, curves.loss, ui.log_scale, curves.marks)
    if curves.steps and not any(v is not None for series in curves.acc.values() for v in series):
        return loss, ""  # regression: no accuracy to chart (an empty "no data yet" box misleads)
    acc = charts.line_chart(
        "acc-chart",
        curves.steps,
        curves.acc,
        False,
        curves.marks,
        fixed=(0.0, 1.0),
        size=(380, 110),
    )
    return loss, acc
