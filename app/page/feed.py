"""A session's page feed: its frames rendered once, for every page that watches the session.

One :class:`PageFeed` per session (``Session.page``, made on first use, gone with the session)
holds what the playground page shows of it: the page-only preferences (:class:`UiState`), the
loss and accuracy curves, the curve marks of hyper-parameter changes, the latest heatmap PNGs,
and the latest HTML fragment of every region with a version number. :meth:`PageFeed.show`
renders a page frame (app/page/frames.py) into the regions that changed; each connected page
remembers the last version it sent and takes only newer fragments (:meth:`PageFeed.since`), so
two viewers of one session cost one rendering.

Fragments are in one language (app/page/i18n.py), so a feed keeps a :class:`LangView` per
language (its fragments, versions and what each region was last rendered from) and renders a
frame once per language some page watches (:meth:`PageFeed.watch`): one language watching, the
usual case, costs what it always did; one no stream watches yet is brought up to the last frame
when asked (:meth:`PageFeed.ensure`: a first page, the race page's multiples).

Frames come two ways. The worker that trains the session sends them at the rate the pages ask;
its receiver thread only hands them over (:meth:`PageFeed.offer`: it must get back to the pipe,
or the worker blocks writing) and one render thread draws the newest frame of each session
that got one, dropping any a newer one replaced meanwhile (:class:`Renderer`). A session that
no worker trains (paused, stepped by hand) is drawn from its trainer by
:meth:`PageFeed.refresh_local`, in a page's thread, when anything a frame shows has changed.
"""

from __future__ import annotations

import json
import pickle
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from app.page import frames, i18n, regions
from app.page.draw import charts, flow_chart, scores
from app.page.feed_curves import Curves, take_history
from app.page.render_thread import RENDERER, Taken
from app.page.words import UiState
from app.streaming.page_sse import data_lines
from engine.inspect import readouts

IMAGE_SECONDS = 0.25  # heatmaps of a running session are redrawn at most this often
MAX_MARKS = 40
EXPLAIN_REGIONS = ("phase-panel", "chain-rule", "probe-mark")  # app/page/explain_view.py


@dataclass
class LangView:
    """What the pages of one language are shown: (version, region → (version, html, its
    data: lines for the stream, encoded once)), replaced whole by each rendering so pages read
    it without the lock (on the event loop, a lock a render thread holds would stall every
    request); ``memo``: region → what it was last rendered from; ``parts``: the block regions'
    data for the first page; ``pages``: streams watching; ``frame_no``: the feed's frame it
    shows."""

    published: tuple[int, dict[str, tuple[int, str, bytes]]] = (0, {})
    memo: dict[str, Any] = field(default_factory=dict)
    parts: dict[str, Any] = field(default_factory=dict)
    pages: int = 0
    frame_no: int = -1


class PageFeed:
    """What the pages of one session are shown (see the module docstring)."""

    def __init__(self, session_id: str) -> None:
        self.sid = session_id
        self.lock = threading.Lock()  # one rendering at a time (receiver and page threads)
        self.ui = UiState()
        self.curves = Curves(charts.Curves())
        self.marks: list[tuple[int, int, str]] = []  # (generation, step, what changed)
        self.last_config: dict[str, Any] | None = None
        self.images: dict[str, bytes] = {}
        self.image_no = 0
        self.image_at = -1e9  # monotonic time the heatmaps were last drawn
        self.frame: frames.PageFrame | None = None  # the last frame shown
        self.local_key: tuple[Any, ...] = ()  # what the last local frame was made of
        self.views: dict[str, LangView] = {lang: LangView() for lang in i18n.LANGS}
        self.last_lang = i18n.DEFAULT_LANG  # rendered when no stream watches
        self.frame_no = 0  # frames shown
        self.public: dict[str, Any] | None = None  # the session as the last frame showed it
        # what every language shares: the data set drawn (data_key), the sprite's units
        self.memo: dict[str, Any] = {}
        self.ladder: tuple[Any, Any] | None = None  # (key, the smaller rates tried)
        self.points: tuple[Any, ...] | None = None  # (raw, labels, domain) of the data drawn
        # (pickled frame, session, store, data, the worker's frames it stands for) a worker sent,
        # for the render thread; the lock guards it only: an offer between the thread's read
        # and clearing would be lost
        self.pending: tuple[Any, ...] | None = None
        self.pending_lock = threading.Lock()

    # ---- what pages take ---------------------------------------------------------------------

    def view(self, lang: str | None = None) -> LangView:
        """The view of ``lang`` (default: the language of the render under way)."""
        return self.views[i18n.valid(lang) or i18n.CURRENT.get()]

    @property
    def published(self) -> tuple[int, dict[str, tuple[int, str, bytes]]]:
        return self.view().published

    @property
    def parts(self) -> dict[str, Any]:
        return self.view().parts

    @property
    def version(self) -> int:
        return self.published[0]

    def since(self, seen: int, lang: str | None = None) -> tuple[int, list[tuple[str, bytes]]]:
        """The fragments of ``lang`` newer than version ``seen`` as (region, data: lines), and
        the version they bring a page to (never blocks: see :class:`LangView`)."""
        version, fragments = self.view(lang).published
        return version, [(name, data) for name, (v, _, data) in fragments.items() if v > seen]

    def html(self, lang: str | None = None) -> dict[str, str]:
        """Every region's latest fragment in ``lang`` (brought up to the last frame first)."""
        self.ensure(lang)
        return {name: html for name, (_, html, _) in self.view(lang).published[1].items()}

    def watch(self, lang: str, delta: int) -> None:
        """A page stream in ``lang`` starts (+1) or ends (−1): the languages watched are the
        ones each frame is rendered in."""
        with self.lock:
            view = self.view(lang)
            view.pages = max(0, view.pages + delta)
            if delta > 0:
                self.last_lang = i18n.valid(lang) or i18n.DEFAULT_LANG

    def behind(self, lang: str) -> bool:
        """Has a frame been shown that ``lang``'s fragments do not show yet?"""
        return self.frame is not None and self.view(lang).frame_no != self.frame_no

    def ensure(self, lang: str | None = None) -> None:
        """Render the last frame in ``lang`` if its fragments are behind it (a language no
        stream watched until now)."""
        code = i18n.valid(lang) or i18n.CURRENT.get()
        with self.lock:
            if self.frame is None or self.public is None:
                return
            view = self.views[code]
            if view.frame_no != self.frame_no:
                self._render(code, self.frame, self.public)

    def look(self) -> frames.Look:
        ui = self.ui
        return frames.Look(ui.view, ui.view_marker, ui.discretize, ui.edge)

    def pictures_due(self, running: bool) -> bool:
        """Are the heatmaps redrawn with the next frame? While a run streams, edges and numbers
        change every frame but the heatmaps at most IMAGE_SECONDS apart (the page waits for a
        frame's pictures before painting it); a paused session always gets fresh ones."""
        return not running or time.monotonic() - self.image_at >= IMAGE_SECONDS

    def holds_drawn(self) -> bool:
        """Does the feed hold drawings an unload would drop?"""
        return bool(self.images) or self.frame is not None or self.points is not None

    def forget_drawn(self) -> None:
        """Drop what the next frame redraws: pictures, the last frame, fragments, the data
        points drawn (they are the dataset's own arrays: kept here, they would keep the
        dataset an unload drops alive). Preferences, curves and marks stay. The version
        number goes on, so a page never takes an older fragment for a newer one."""
        with self.pending_lock:
            dropped, self.pending = self.pending, None
        for frame in () if dropped is None else dropped[-1]:
            RENDERER.taken(frame)
        with self.lock:
            self.images, self.frame, self.points = {}, None, None
            self.memo, self.local_key = {}, ()
            for view in self.views.values():
                view.memo, view.parts = {}, {}
                view.published = (view.published[0], {})

    # ---- frames from a worker ----------------------------------------------------------------

    def offer(self, frame: bytes, session: Any, store: Any, data: Any, drawn: Taken) -> None:
        """A worker's frame (pickled), drawn soon by the render thread (the newest one, if
        several come before it gets there: one replaced is never unpickled). ``drawn`` tells
        the worker once the frame is taken for drawing (:meth:`Renderer.taken`); one replaced
        is told with the frame that replaced it, so a session waiting its turn holds its
        worker's page frames back (runs.PAGE_CREDIT) instead of swapping them unseen."""
        with self.pending_lock:
            replaced = () if self.pending is None else self.pending[-1]
            self.pending = (frame, session, store, data, [*replaced, drawn])
        RENDERER.due(self)

    def render_pending(self) -> None:
        with self.pending_lock:
            taken, self.pending = self.pending, None
        if taken is None:
            return
        # the worker makes the next frame while this one is drawn and the others wait their turn
        for drawn in taken[-1]:
            RENDERER.taken(drawn)
        frame, session = pickle.loads(taken[0]), taken[1]
        shown = self.frame
        if frame.generation < session.generation or (
            shown is not None
            and shown.generation == frame.generation
            and shown.step > frame.step
        ):
            return  # a run's last frame, overtaken by a reset or a step drawn here since
        self.show(frame, *taken[1:4])

    # ---- frames from the trainer in this process ---------------------------------------------

    def refresh_local(self, session: Any, manager: Any) -> bool:
        """Draw the session from its trainer if anything a frame shows changed (a thread; takes
        the session's lock). False when a worker trains the session: its frames come from
        there."""
        with session.lock:
            if session.remote is not None:
                return False
            t = manager.load(session)
            if session.remote is not None:  # dispatched while loading: a worker draws it
                return False
            phase = t.phase
            key = (
                session.generation,
                # the written status (what public() says), not the one in memory: a run's end
                # is drawn again once written, or the page would keep "running"
                session.shown[:2],
                session.hub.last_seq,
                session.hub.rewinds,
                t.iteration,
                phase["phase"],
                phase["layer"],
                str(t.last_phase),
                float(t.net.theta.sum()),
                json.dumps(session.config, sort_keys=True),
                tuple(vars(self.ui).values()),
            )
            if key == self.local_key:
                return True
            frame = frames.build(t, session.generation, self.look(), self.pictures_due(False))
            data = t.data
            closing = None
            if session.status != "running" and t.iteration:
                at = (session.generation, t.iteration)
                steps = self.curves.chart.steps
                if at != self.curves.settled and not (steps and steps[-1] >= t.iteration):
                    closing = (at, readouts.metrics(t))
        self.show(frame, session, manager.store, data, closing)
        self.local_key = key
        return True

    # ---- rendering -----------------------------------------------------------------------

    def show(
        self,
        frame: frames.PageFrame,
        session: Any,
        store: Any,
        data: Any,
        closing: tuple[tuple[int, int], dict[str, Any]] | None = None,
    ) -> None:
        """Render ``frame`` of ``session`` (whose data set is ``data``) into the regions that
        changed. ``closing``: ((generation, step), full-set metrics) that end the curves of a
        run stopped between two metric rows (training computes them every 0.5 s only)."""
        public = session.public()
        with self.lock:
            take_history(self.curves, session, store, self.ui.lesson is not None)
            if closing is not None:
                self.curves.settled = closing[0]
                self.curves.chart.add({"step": closing[0][1], "metrics": closing[1]}, keep=True)
                self.curves.version += 1
            self._note_config(public)
            if frame.images is not None:
                self.images.update(frame.images)
                self.image_no += 1
                self.image_at = time.monotonic()
            if data is not None and data.domain is not None and (
                self.points is None or self.memo.get("data_key") != frame.data_key
            ):
                raw = {"train": data.raw_train, "test": data.raw_test}
                labels = {"train": data.y_train, "test": data.y_test}
                self.points = (raw, labels, tuple(data.domain))
                self.memo["data_key"] = frame.data_key
            self.frame, self.public = frame, public
            self.frame_no += 1
            watched = [lang for lang, view in self.views.items() if view.pages > 0]
            for lang in watched or [self.last_lang]:
                self._render(lang, frame, public)
        session.hub.wake()

    def _render(self, lang: str, frame: frames.PageFrame, public: dict[str, Any]) -> None:
        """``frame`` into the fragments of ``lang`` that changed (the lock held)."""
        view = self.views[lang]
        with i18n.using(lang):
            out = regions.render(frame, public, self, view)
        view.frame_no = self.frame_no
        version, fragments = view.published
        fresh = dict(fragments)
        for name, html in out.items():
            old = fresh.get(name)
            if old is None or old[1] != html:
                version += 1
                fresh[name] = (version, html, data_lines(html))
        view.published = (version, fresh)

    def _note_config(self, public: dict[str, Any]) -> None:
        """A hyper-parameter change becomes a mark on the curves (the API keeps no such
        history): compared with the config the last frame showed."""
        cfg = public["config"]
        old, self.last_config = self.last_config, cfg
        if old is None or old == cfg:
            return
        mark = (int(public["generation"]), int(public["step"]), regions.changes(old, cfg))
        self.marks.append(mark)
        del self.marks[:-MAX_MARKS]
        self.curves.version += 1


_MAKING = threading.Lock()


def feed_of(session: Any) -> PageFeed:
    """The session's page feed, made on first use (kept in ``session.page``)."""
    feed = session.page
    if feed is None:
        with _MAKING:
            feed = session.page
            if feed is None:
                feed = session.page = PageFeed(session.id)
    return feed


def publish_look(session: Any, feed: PageFeed) -> None:
    """Tell the frames' maker what the pages now want drawn (a worker learns it with the
    session's demand)."""
    session.hub.set_look(feed.look())


def first_page(session: Any, manager: Any, hidden: set[str]) -> dict[str, Any]:
    """The full page of a session: controls from its config and every region pre-rendered, in
    the language of the render under way (:func:`app.page.i18n.using`)."""
    feed = feed_of(session)
    feed.last_lang = i18n.CURRENT.get()
    if not feed.refresh_local(session, manager) and feed.frame is None:
        # a worker trains it and has sent no frame yet: one from a copy of its trainer
        with session.lock:
            t = manager.load(session)
            frame = frames.build(t, session.generation, feed.look(), True)
            data = t.data
        feed.show(frame, session, manager.store, data)
    fragments = feed.html()
    with feed.lock:
        parts = dict(feed.view().parts)
        if "curves" not in parts:
            parts["curves"] = regions.curves_data(feed.curves.chart, feed.ui)
        if "grad-flow" not in parts:
            parts["grad-flow"] = flow_chart.flow_data(feed.curves.chart)
        if "scores" not in parts:
            parts["scores"] = scores.scores_data(feed.curves.chart.latest)
    ctx = regions.context_for(session.public(), hidden, feed.ui)
    ctx["regions"] = {
        "network": fragments.get("network", ""),
        "output": fragments.get("output", ""),
        "points": fragments.get("points", ""),
        **{k.replace("-", "_"): fragments.get(k, "") for k in EXPLAIN_REGIONS},
        **parts,
    }
    return ctx
