"""The page's regions as HTML fragments: one named stream event per region.

Fragments are the region templates ``templates/regions/<name>.html`` that ``index.html``
includes (so the first page and every later update come from the same markup), rendered by
:mod:`app.page.templating` from the numbers :mod:`app.render` computes.
:class:`PageState` remembers what one page was last sent, so only changed regions go out.
PNG images are kept per session (latest only) and served by URL: no data: URLs under the CSP.
"""

from __future__ import annotations

import copy
import json
import re
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from app.page import templating
from app.render import charts, controls, view
from app.render.palette import fmt
from engine.stability import Ladder, stable_rate

IMAGES: OrderedDict[tuple[str, str], bytes] = OrderedDict()
MAX_IMAGES = 600  # (session, kind) pairs kept; the oldest are dropped
MARKS: dict[str, list[tuple[int, int, str]]] = {}  # session → (generation, step, what changed)
LAST_CONFIG: dict[str, Any] = {}
MAX_MARKS = 40
NONFINITE = re.compile(r"\b-?(nan|inf|infinity)\b", re.IGNORECASE)


IMAGE_SECONDS = 0.25


@dataclass
class PageState:
    """What one connected page has: its curves, and the last fragment of each region."""

    curves: charts.Curves = field(default_factory=charts.Curves)
    generation: int = -1
    rewinds: int = 0  # the hub's rewinds when the curves were loaded
    cursor: int = 0  # the last step record (seq) taken into the curves
    key: tuple[Any, ...] = ()  # fingerprint of the last frame (see page_stream.state_key)
    data_key: str | None = None
    config_json: str = ""
    image_no: int = 0
    image_at: float = -1e9  # monotonic time the heatmaps were last drawn
    image_kinds: frozenset[str] = frozenset()
    last: dict[str, str] = field(default_factory=dict)
    ui: view.UiState = field(default_factory=view.UiState)
    show_test: bool | None = None
    points: Any = None  # (raw, labels, domain) of the current data, once gathered
    drawn: Any = None  # the session's trainer copy the last frame looked at
    settled: tuple[int, int] = (-1, -1)  # (generation, step) of the curves' closing point
    ladder: tuple[Any, Ladder] | None = None  # (key, the smaller rates tried) after divergence


def store_image(session_id: str, kind: str, data: bytes) -> None:
    key = (session_id, kind)
    IMAGES[key] = data
    IMAGES.move_to_end(key)
    while len(IMAGES) > MAX_IMAGES:
        IMAGES.popitem(last=False)


def forget(session_id: str, deleted: bool = False) -> None:
    """Drop what the page layer keeps of a session: its pictures (redrawn by the next frame),
    and once ``deleted`` also its curve marks, last config and page preferences."""
    for key in list(IMAGES):  # a copy taken at once: frames in other threads add pictures
        if key[0] == session_id:
            IMAGES.pop(key, None)
    if deleted:
        MARKS.pop(session_id, None)
        LAST_CONFIG.pop(session_id, None)
        view.UI.pop(session_id, None)


def render_block(name: str, context: dict[str, Any]) -> str:
    """The fragment of region ``name`` (``templates/regions/<name>.html``, which index.html
    includes), rendered with ``context``."""
    return templating.region(name, context)


def words(text: str | None) -> str:
    """Engine messages in words: no 'nan'/'inf' tokens ever reach the page."""
    if not text:
        return ""
    return NONFINITE.sub(
        lambda m: "infinite" if "inf" in m.group(1).lower() else "not a number", text
    )


def phase_order(snap: dict[str, Any]) -> list[dict[str, str]]:
    n = len(snap["layers"])
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


def note_config(session: dict[str, Any]) -> None:
    """Remember a hyper-parameter change as a mark on the curves (per session, shared by its
    pages; the API keeps no such history). Called with every frame's session."""
    sid, cfg = session["id"], copy.deepcopy(session["config"])
    old = LAST_CONFIG.get(sid)
    LAST_CONFIG[sid] = cfg
    if old is None or old == cfg:
        return
    marks = MARKS.setdefault(sid, [])
    marks.append((int(session["generation"]), int(session["step"]), changes(old, cfg)))
    del marks[:-MAX_MARKS]


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


def marks_of(sid: str, generation: int) -> list[tuple[int, str]]:
    return [(step, label) for g, step, label in MARKS.get(sid, []) if g == generation]


def images_due(st: PageState, status: str) -> bool:
    """Are the heatmaps redrawn in this page's next frame? (Ask before :func:`view.gather`.)

    While a run streams, edges and numbers go out every frame but the heatmaps at most
    IMAGE_SECONDS apart: the page waits for a frame's pictures before painting it, so fresh
    PNGs each frame would cap the painted rate (and the decision surface behind them costs
    several snapshots). A paused session always gets fresh pictures."""
    return status != "running" or time.monotonic() - st.image_at >= IMAGE_SECONDS


def live_regions(pic: view.Picture, st: PageState, sid: str) -> dict[str, str]:
    """Fragments that change while training (network, output, counters, curves, phase …).
    The heatmaps are redrawn when ``pic`` was gathered with images."""
    note_config(pic.session)
    st.curves.marks = marks_of(sid, int(pic.session["generation"]))
    if pic.images:
        imgs = view.render_images(pic, st.ui)
        st.image_no += 1
        st.image_at = time.monotonic()
        st.image_kinds = frozenset(imgs)
        for kind, data in imgs.items():
            store_image(sid, kind, data)
    v = st.image_no
    sprite = f"/api/sessions/{sid}/sprite.png?v={v}" if "sprite" in st.image_kinds else None
    out = {"network": view.network_svg(pic, st.ui, sprite)}
    if pic.plane or pic.images:
        # predictions over the test set (digits, regression) cost a forward pass and a large
        # fragment: redrawn with the heatmaps, not every frame
        out["output"] = output_html(pic, sid, v, "digits" in st.image_kinds)
    if pic.points is not None or st.show_test != st.ui.show_test:
        if pic.points is not None:
            st.points = pic.points
        if st.points is not None:
            raw, labels, domain = st.points
            out["points"] = charts.points_svg(raw, labels, domain, pic.task, st.ui.show_test)
        st.show_test = st.ui.show_test
        st.data_key = pic.data_key
    out["counters"] = render_block("counters", {"regions": {"counters": view.counters(pic)}})
    done, nxt = view.phase_words(pic.snap)
    phase = {"done": done, "next": nxt, "order": phase_order(pic.snap)}
    out["phase"] = render_block("phase", {"regions": {"phase": phase}})
    loss_svg, acc_svg = view.curves_svg(st.curves, st.ui)
    c = st.curves
    cv = {
        "train": fmt(c.last("train")),
        "val": fmt(c.last("val")),
        "test": fmt(c.last("test")),
        "acc": fmt(c.last("test", "acc"), 3) if c.last("test", "acc") is not None else "—",
        "loss_svg": loss_svg,
        "acc_svg": acc_svg,
    }
    out["curves"] = render_block("curves", {"regions": {"curves": cv}})
    s = pic.session
    s_words = dict(s, status=s["status"], reason=s.get("reason"))
    out["status"] = render_block("status", {"session": s_words, "error": None})
    dv = None
    if s["status"] == "diverged":
        lr = float(s["config"]["optimizer"]["lr"])
        ladder = offer_for(s, st)
        smaller = ladder.offer
        dv = {
            "words": words(s.get("divergence")),
            "lr": fmt(lr),
            "smaller": fmt(smaller),
            "checked": ladder.stable is not None,
            "also": ", ".join(fmt(r) for r in ladder.diverged),
            "iterations": ladder.iterations,
            "patch": json.dumps({"config": {"optimizer": {"lr": smaller}}}),
        }
    out["divergence"] = render_block("divergence", {"regions": {"divergence": dv}, "sid": sid})
    return out


def offer_for(session: dict[str, Any], st: PageState) -> Ladder:
    """The smaller rate to offer after a divergence, tried from the reset's start (once per
    generation and config; see engine/stability.py)."""
    config = session["config"]
    key = (session["generation"], json.dumps(config, sort_keys=True))
    if st.ladder is None or st.ladder[0] != key:
        st.ladder = (key, stable_rate(config, float(config["optimizer"]["lr"])))
    return st.ladder[1]


def output_html(pic: view.Picture, sid: str, v: int, digits: bool) -> str:
    """The output region (``regions/output.html``) of this picture."""
    context: dict[str, Any] = {}
    if pic.plane:
        context["decision"] = f"/api/sessions/{sid}/decision.png?v={v}"
    elif pic.task == "regression" and pic.pred is not None:
        context["drawing"] = charts.pred_vs_true(*pic.pred)
    elif pic.task == "multiclass" and pic.pred is not None:
        from app.render.digits import digits_html

        context["drawing"] = digits_html(pic, sid, v, digits)
    return render_block("output", context)


def config_regions(
    session: dict[str, Any], st: PageState, hidden: set[str] | None = None
) -> dict[str, str]:
    """Control fragments, rebuilt only when the session's config changed."""
    cfg_json = json.dumps(session["config"], sort_keys=True)
    if cfg_json == st.config_json:
        return {}
    st.config_json = cfg_json
    ctx = context_for(session, hidden or set(), st.ui)
    return {
        name.replace("_", "-"): render_block(name, ctx)
        for name in ("data_controls", "layer_controls", "train_controls", "share")
    }


def context_for(
    session: dict[str, Any], hidden: set[str], ui: view.UiState
) -> dict[str, Any]:
    """What the page template needs for the controls; ``ui`` checks the page's own boxes
    (show test data, discretize, log scale) as the server draws them."""
    from app.routes.pages import encode_config

    ctx = controls.page_context(session, session["config"], hidden)
    ctx["share_url"] = "/?c=" + encode_config(session["config"])
    ctx["ui"] = ui
    return ctx
