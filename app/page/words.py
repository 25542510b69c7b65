"""Page words and numbers shared by the regions: the page's preferences, the phase in words
(English, the stable form the regions compare; :func:`phase_text` puts it in the page's
language), the counters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from app.page.draw.palette import fmt
from app.page.i18n import N_, t


@dataclass
class UiState:
    """Page-only preferences of a session (they change drawings, never training); kept by
    the session's page feed (app/page/feed.py) while the session exists."""

    view: str = "weights"
    log_scale: bool = False
    show_test: bool = False
    discretize: bool = False
    view_marker: str = ""  # the phase marker when the view was last chosen (frames.shown_view)
    surface: dict[str, Any] | None = None  # the loss surface the page asked for
    surface_version: int = 0
    fixed_scale: bool = False  # the drawing's widths and colours keep a frozen scale
    # the frozen (edges, nodes, biases) peaks per view while fixed_scale (regions.render)
    frozen: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    lesson: Any = None  # the lesson the page follows (app.lessons.progress.LessonState)
    # (generation, step, result) of the gradient check the page ran last (a lesson reads it)
    gradients_checked: tuple[int, int, dict[str, Any]] | None = None
    edge: tuple[int, int, int] | None = None  # (layer, i, j): the weight the explain panels follow


def n_layers(snap: dict[str, Any]) -> int:
    """Layers of the net a snapshot (or a page frame's scalars) shows."""
    return int(snap["n_layers"]) if "n_layers" in snap else len(snap["layers"])


def phase_words(snap: dict[str, Any]) -> tuple[str, str]:
    """(the phase that just ran, the one that runs next), in words."""
    n = n_layers(snap)

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


PHASE_NAMES = {
    "ready": N_("ready"),
    "forward": N_("forward"),
    "loss": N_("loss"),
    "backward": N_("backward"),
    "update": N_("update"),
    "summary": N_("summary"),
}
LAYER_WORDS = re.compile(r"layer (\d+)")


def layer_text(where: str) -> str:
    """``layer 2`` → "layer 2" / "은닉층 2" (the numbered layers are the hidden ones),
    ``output``/``output layer`` → "output layer" / "출력층", ``input`` → "input" / "입력",
    in the language of the render under way."""
    where = where.strip()
    if where == "output":
        return t("output")
    if where.startswith("output"):
        return t("output layer")
    if where == "input":
        return t("input")
    m = LAYER_WORDS.fullmatch(where)
    return t("layer %(n)s") % {"n": m.group(1)} if m else where


def phase_text(words: str) -> str:
    """A phase in words (:func:`phase_words`, ``regions.phase_order``) in the language of the
    render under way: ``forward · layer 2`` → ``순전파 · 은닉층 2``,
    ``backward · output layer`` → ``역전파 · 출력층``."""
    name, _, where = str(words).partition(" · ")
    key = name.strip()
    said = t(PHASE_NAMES[key]) if key in PHASE_NAMES else key
    return f"{said} · {layer_text(where)}" if where else said


def counters(s: dict[str, Any]) -> dict[str, str]:
    """The counters in words. The formula speaks of the epoch under way only: the iterations
    of earlier epochs need not be epochs × ⌈n / B⌉ once the batch size changed mid-run."""
    n, b, ipe = s["n_train"], s["batch_size"], s["iterations_per_epoch"]
    epochs = s["epoch"]
    used, left = s.get("epoch_samples", 0), s.get("iterations_left", ipe)
    return {
        "epoch": str(epochs),
        "iteration": str(s["iteration"]),
        "samples_seen": str(s["samples_seen"]),
        "ipe": str(ipe),
        "ipe_formula": f"⌈{n} / {b}⌉ = "
        + t("%(ipe)s per epoch; epoch %(epoch)s: %(used)s of %(n)s samples used, %(left)s "
            "iterations to go")
        % {"ipe": ipe, "epoch": epochs + 1, "used": used, "n": n, "left": left},
        "batch_loss": fmt(s.get("loss")),
        "lr": fmt(s.get("lr")),
        "grad_norm": fmt(s.get("grad_norm")),
        **second_order(s.get("second_order")),
    }


def second_order(info: dict[str, Any] | None) -> dict[str, str]:
    """The last lbfgs / newton step in numbers (readouts.second_order): its loss evaluations
    and newton's Hessian eigenvalues and condition number; {} for other optimizers."""
    if not info:
        return {}
    out = {"n_evals": str(info.get("n_evals", ""))}
    if "eig_max" in info:
        out.update(
            eig_min=fmt(info.get("eig_min")),
            eig_max=fmt(info.get("eig_max")),
            condition=fmt(info.get("condition")) if info.get("condition") is not None else "∞",
            damping=fmt(info.get("damping")),
        )
    return out
