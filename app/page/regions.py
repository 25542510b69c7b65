"""The page's regions as HTML fragments: one named stream event per region.

Fragments are the region templates ``templates/regions/<name>.html`` that ``index.html``
includes (so the first page and every later update come from the same markup), rendered by
:mod:`app.page.templating` from the numbers :mod:`app.page.draw` computes.
:func:`render` turns a page frame (app/page/frames.py) into the fragments of the regions whose
inputs changed since the feed's last frame (app/page/feed.py keeps them, per session). The
PNG images are kept by the feed and served by URL: no data: URLs under the CSP.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import numpy as np

from app.page import controls, explain_view, i18n, lesson_view, stencil, words
from app.page.controls import encode_config
from app.page.draw import charts, flow_chart, network, scores
from app.page.draw.digits import digits_html
from app.page.draw.palette import fmt
from app.page.frames import CHARTS_SECONDS, CHARTS_SHARE
from app.page.i18n import N_, josa, t
from app.page.render_thread import RENDERER
from app.page.templating import render_block
from engine.stability import Ladder, stable_rate

NONFINITE = re.compile(r"\b-?(nan|inf|infinity)\b", re.IGNORECASE)


def in_words(text: str | None) -> str:
    """Engine messages in words: no 'nan'/'inf' tokens ever reach the page."""
    if not text:
        return ""
    return NONFINITE.sub(
        lambda m: t("infinite") if "inf" in m.group(1).lower() else t("not a number"), text
    )


# the engine's divergence message (engine/trainer.py _diverge): why, where and at what rate;
# the page says it in its language (the rest of the engine's sentence is the alert's own text)
DIVERGED = re.compile(r"^(?P<why>.+?) at iteration (?P<n>\d+) with learning rate (?P<lr>[^:\s]+):")
WHY = {
    "a gradient became infinite or not a number": N_("a gradient became infinite or not a number"),
    "an update step became infinite or not a number": N_(
        "an update step became infinite or not a number"
    ),
}
LOSS_BECAME = re.compile(r"^the loss became (?P<what>.+)$")


def divergence_words(text: str | None) -> str:
    """What the engine said of a divergence, in the page's language: "the loss became not a
    number at iteration 12 with learning rate 10." (no 'nan' token ever)."""
    m = DIVERGED.match(text or "")
    if m is None:
        return in_words(text)
    why = m.group("why")
    became = LOSS_BECAME.match(why)
    if became is not None:
        what = in_words(became.group("what").strip("'"))
        said = t("the loss became %(what)s") % {"what": what, "what_became": josa(what, "이/가")}
    else:
        said = t(WHY[why]) if why in WHY else in_words(why)
    return t("%(why)s at iteration %(n)s with learning rate %(lr)s.") % {
        "why": said,
        "n": m.group("n"),
        "lr": m.group("lr"),
    }


def phase_order(snap: dict[str, Any]) -> list[dict[str, str]]:
    n = words.n_layers(snap)
    names = [("forward", i) for i in range(n)] + [("loss", None)]
    names += [("backward", i) for i in range(n - 1, -1, -1)] + [("update", None)]
    nxt = snap.get("phase") or {}
    stepping = snap.get("last_phase") is not None
    cursor = next(
        (k for k, (p, la) in enumerate(names) if p == nxt.get("phase") and la == nxt.get("layer")),
        0,
    )
    out = []
    for k, (p, la) in enumerate(names):
        label = p if la is None else f"{p} · {'output' if la == n - 1 else f'layer {la + 1}'}"
        state = "done" if stepping and k < cursor else ("next" if k == cursor else "")
        out.append({"name": label, "state": state})
    return out


def changes(old: Any, new: Any, path: str = "") -> str:
    """What differs between two configs, briefly: ``lr 0.03→0.1, batch_size 10→1``."""
    if isinstance(old, dict) and isinstance(new, dict):
        parts = [changes(old.get(k), new.get(k), k) for k in sorted(set(old) | set(new))]
        return ", ".join(p for p in parts if p)
    if old == new:
        return ""
    if isinstance(old, list | dict) or isinstance(new, list | dict):
        return path or "data"
    return f"{path} {fmt_value(old)}→{fmt_value(new)}"


def fmt_value(v: Any) -> str:
    return fmt(v, 3) if isinstance(v, float) else str(v)


def render(frame: Any, public: dict[str, Any], feed: Any, view: Any) -> dict[str, str]:
    """The fragments of ``frame`` (app/page/frames.py) for the session ``public`` (as its
    scripts see it) in the language of ``view`` (a feed's LangView, rendered under
    :func:`app.page.i18n.using`), for the regions whose inputs changed since ``view.memo``
    was noted: the network and counters every frame, the rest when what they show changed."""
    sid, ui, memo, shared = public["id"], feed.ui, view.memo, feed.memo
    out: dict[str, str] = {}

    def due(name: str, key: Any) -> bool:
        if memo.get(name) == key:
            return False
        memo[name] = key
        return True

    out.update(config_regions(public, feed, memo))
    v = feed.image_no
    sprite = f"/api/sessions/{sid}/sprite.png?v={v}" if "sprite" in feed.images else None
    fixed = None
    if ui.fixed_scale:  # frozen when ticked (stream.set_ui); a view first seen since: now
        fixed = ui.frozen.setdefault(frame.drawing.view, frame.drawing.peaks)
    if frame.images is not None and "sprite" in frame.images:  # the units it has tiles of
        shared["sprite_units"] = frame.extras.get("sprite_units")
    tiles = shared.get("sprite_units")
    out["network"] = network.draw(frame.drawing, sprite, frame.tile, fixed, tiles)
    if frame.images is not None and due("output", v):
        # the output picture goes with the heatmaps: a test-set forward pass made it
        out["output"] = output_html(frame, sid, v, "digits" in feed.images)
    if feed.points is not None and due("points", (shared.get("data_key"), ui.show_test)):
        raw, labels, domain = feed.points
        out["points"] = charts.points_svg(raw, labels, domain, frame.task, ui.show_test)
    counters = words.counters(frame.snap)
    # both change with every step: filled into their template's stencil (app/page/stencil.py)
    if due("counters", counters):
        out["counters"] = counters_html("counters", counters)
    if due("epoch_formula", counters["ipe_formula"]):
        out["epoch-formula"] = counters_html("epoch_formula", counters)
    snap = frame.snap
    done, nxt = words.phase_words(snap)
    phase = {"done": done, "next": nxt, "order": phase_order(snap)}
    if due("phase", (done, nxt, words.n_layers(snap))):
        out["phase"] = render_block("phase", {"regions": {"phase": phase}})
    out.update(explain_view.render(frame, feed, due, memo, public["status"] == "running"))
    curves = feed.curves
    curves.chart.marks = [(step, what) for g, step, what in feed.marks if g == curves.generation]
    replayed = frame.extras.get("replay_step")  # a scrubbed-back step (app/page/replay_view.py)
    if replayed is not None:
        curves.chart.marks.append((replayed, "▶ " + t("step %(n)s") % {"n": replayed}))
    cv = None
    now = time.monotonic()
    # a running session's charts at most every CHARTS_SECONDS (frames.py), less often when the
    # sessions drawn would spend over CHARTS_SHARE of the render thread on them; any other
    # change (a mark, the scale, a replayed step, the run's end) draws them at once
    every = RENDERER.interval("charts", CHARTS_SECONDS, CHARTS_SHARE)
    waits = public["status"] == "running" and now - memo.get("charts_at", -1e9) < every
    key = (curves.version, len(feed.marks), ui.log_scale, replayed)
    if not (waits and memo.get("curves", key)[1:] == key[1:]) and due("curves", key):
        memo["charts_at"] = now
        cv = curves_data(curves.chart, ui)
        out["curves"] = render_block("curves", {"regions": {"curves": cv}})
        spent = time.monotonic() - now
    status = {**public, "status": public["status"], "reason": public.get("reason")}
    if due("status", (public["status"], public.get("reason"))):
        out["status"] = render_block("status", {"session": status, "error": None})
    dv = divergence(public, feed) if public["status"] == "diverged" else None
    if due("divergence", json.dumps(dv, sort_keys=True)):
        out["divergence"] = render_block("divergence", {"regions": {"divergence": dv}, "sid": sid})
    out.update(lesson_view.render(frame, public, feed, view, due))
    view.parts.update(counters=counters, phase=phase, divergence=dv)
    if cv is not None:
        t0 = time.monotonic()
        view.parts["curves"] = cv
        # the gradient-flow chart reads the same step records: redrawn with the curves
        view.parts["grad-flow"] = fd = flow_chart.flow_data(curves.chart)
        out["grad-flow"] = render_block("grad_flow", {"regions": {"grad-flow": fd}})
        # the metrics under the output come with the same metrics rows
        view.parts["scores"] = sd = scores.scores_data(curves.chart.latest)
        out["scores"] = render_block("scores", {"regions": {"scores": sd}})
        RENDERER.cost("charts", spent + time.monotonic() - t0)
    return out


def counters_html(region: str, counters: dict[str, str]) -> str:
    """Region ``region`` ("counters" or "epoch_formula") of ``counters`` (words.counters), as
    its template writes it, from the template's stencil for the page's language."""
    return stencil.flat(
        region,
        i18n.CURRENT.get(),
        counters,
        lambda values: render_block(region, {"regions": {"counters": values}}),
    )


def curves_data(curves: charts.Curves, ui: words.UiState) -> dict[str, str]:
    loss_svg, acc_svg = charts.curves_svg(curves, ui.log_scale)
    acc = curves.last("test", "acc")
    return {
        "train": fmt(curves.last("train")),
        "val": fmt(curves.last("val")),
        "test": fmt(curves.last("test")),
        "acc": fmt(acc, 3) if acc is not None else "—",
        "loss_svg": loss_svg,
        "acc_svg": acc_svg,
    }


def divergence(public: dict[str, Any], feed: Any) -> dict[str, Any]:
    """The divergence alert: the rate that diverged and a smaller one tried from the reset's
    start (once per generation and config; see engine/stability.py)."""
    config = public["config"]
    lr = float(config["optimizer"]["lr"])
    key = (public["generation"], json.dumps(config, sort_keys=True))
    if feed.ladder is None or feed.ladder[0] != key:
        feed.ladder = (key, stable_rate(config, lr))
    ladder: Ladder = feed.ladder[1]
    smaller = ladder.offer
    return {
        "words": divergence_words(public.get("divergence")),
        "lr": fmt(lr),
        "smaller": fmt(smaller),
        "checked": ladder.stable is not None,
        "also": ", ".join(fmt(r) for r in ladder.diverged),
        "iterations": ladder.iterations,
        "patch": json.dumps({"config": {"optimizer": {"lr": smaller}}}),
    }


def output_html(pic: Any, sid: str, v: int, digits: bool) -> str:
    """The output region (``regions/output.html``) of this frame."""
    context: dict[str, Any] = {}
    if pic.plane:
        context["decision"] = f"/api/sessions/{sid}/decision.png?v={v}"
    elif pic.task == "regression" and pic.pred is not None:
        pred, true = pic.pred
        context["drawing"] = charts.pred_vs_true(np.asarray(pred), np.asarray(true))
    elif pic.task == "multiclass" and pic.pred is not None:
        context["drawing"] = digits_html(pic, sid, v, digits)
    return render_block("output", context)


def config_regions(session: dict[str, Any], feed: Any, memo: dict[str, Any]) -> dict[str, str]:
    """Control fragments, rebuilt only when the session's config (or a page box they draw
    checked: show test data, discretize, log scale) changed since ``memo`` noted it."""
    ui, config = feed.ui, session["config"]
    boxes = (ui.show_test, ui.discretize, ui.log_scale, ui.view)
    seen = memo.get("config_seen")
    if seen is not None and seen[0] is config and seen[1] == boxes:
        return {}  # the very config object drawn last (a session replaces it on a change)
    memo["config_seen"] = (config, boxes)
    key = (json.dumps(config, sort_keys=True), *boxes)
    if memo.get("config") == key:
        return {}
    memo["config"] = key
    ctx = context_for(session, set(), feed.ui)
    return {
        name.replace("_", "-"): render_block(name, ctx)
        for name in ("data_controls", "layer_controls", "train_controls", "share", "view_menu")
    }


def context_for(
    session: dict[str, Any], hidden: set[str], ui: words.UiState
) -> dict[str, Any]:
    """What the page template needs for the controls; ``ui`` checks the page's own boxes
    (show test data, discretize, log scale) as the server draws them."""
    ctx = controls.page_context(session, session["config"], hidden)
    # the whole experiment: the config, and the page settings that show it (view, boxes)
    ctx["share_url"] = "/?c=" + encode_config(session["config"]) + controls.ui_query(ui)
    ctx["ui"] = ui
    return ctx
