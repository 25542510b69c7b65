"""The page feeds' render thread: one thread drawing the frames workers send.

A worker's receiver thread hands a session's newest page frame to its feed
(app/page/feed.py ``PageFeed.offer``) and names the feed here; this thread draws the feeds
that got a frame, a session at a time, each with its newest frame only (a frame replaced before
its turn costs nothing). Rendering is Python under the GIL wherever it runs; here it neither
delays the receiver threads' reading of the pipes nor the event loop's requests.

The thread also paces the regions nobody reads at frame rate (the explain panels, the charts:
app/page/regions.py, explain_view.py): it keeps what each costs to draw and how many sessions
it draws (:meth:`Renderer.interval`), so that together they take at most a set share of its
time. One learner's charts move 10 times a second; a class of 100 running sessions on two
cores has them every second or two, and its network drawings, the region learners watch move,
keep their frame rate.

And it tells the workers which of their page frames were taken (drawn, or dropped for a newer
one: :meth:`Renderer.taken`), so they make the next (app/training/messages.py ``Drawn``): all
that were taken in TAKEN_SECONDS go in one message per worker, not one per frame.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

log = logging.getLogger(__name__)

WINDOW_SECONDS = 1.0  # the sessions drawn are counted over windows this long
TAKEN_SECONDS = 0.01  # taken frames are told at the latest this long after, when busy

# a frame's worker told it was taken: (the worker's ``drawn``, the session), app/sessions/remote.py
Taken = tuple[Callable[[list[str]], None], str]


class Drawn(Protocol):
    """What the thread draws: a page feed (app/page/feed.py)."""

    sid: str

    def render_pending(self) -> None: ...


class Renderer:
    """One thread drawing the frames workers send, a session at a time, newest frame only."""

    def __init__(self) -> None:
        self.cond = threading.Condition()
        self.waiting: OrderedDict[int, Drawn] = OrderedDict()
        self.thread: threading.Thread | None = None
        self.active = 0  # the sessions drawn in the last window
        self.costs: dict[str, float] = {}  # seconds a region costs to draw, moving averages
        self._window = time.monotonic()  # the current window's start
        self._drawn: set[int] = set()  # ... and the sessions drawn in it
        self._taken: dict[Callable[[list[str]], None], list[str]] = {}  # to tell, per worker
        self._told = time.monotonic()

    def due(self, feed: Drawn) -> None:
        with self.cond:
            self.waiting[id(feed)] = feed
            self._wake()

    def _wake(self) -> None:
        """Start the thread, or wake it (the condition's lock held)."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name="bpp-render", daemon=True)
            self.thread.start()
        self.cond.notify()

    def taken(self, frame: Taken) -> None:
        """A worker's page frame was taken: its worker is told with the others taken by the
        time the thread next waits for work, or within TAKEN_SECONDS while it has work."""
        tell, sid = frame
        with self.cond:
            self._taken.setdefault(tell, []).append(sid)
            if threading.current_thread() is not self.thread:  # it tells them itself
                self._wake()

    def _tell(self, now: float) -> None:
        with self.cond:
            taken, self._taken = self._taken, {}
        self._told = now
        for tell, sids in taken.items():
            tell(sids)

    def cost(self, name: str, seconds: float) -> None:
        """Drawing region ``name`` took ``seconds`` (any thread that draws it says so)."""
        old = self.costs.get(name)
        self.costs[name] = seconds if old is None else 0.8 * old + 0.2 * seconds

    def interval(self, name: str, least: float, share: float) -> float:
        """How often a running session's region ``name`` is redrawn: every ``least`` seconds,
        or less often when every session drawn here redrawing it that often would take more
        than ``share`` of this thread's time: sessions × cost / share."""
        return max(least, self.active * self.costs.get(name, 0.0) / share)

    def _note(self, feed: Drawn) -> None:
        self._drawn.add(id(feed))
        now = time.monotonic()
        if now - self._window >= WINDOW_SECONDS:
            self.active, self._drawn, self._window = len(self._drawn), set(), now

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: self.waiting or self._taken)
                feed = self.waiting.popitem(last=False)[1] if self.waiting else None
            if feed is not None:
                try:
                    feed.render_pending()
                except Exception:  # one session's drawing must not stop the others'
                    log.exception("page frame of %s not drawn", feed.sid)
                self._note(feed)
            now = time.monotonic()
            if feed is None or now - self._told >= TAKEN_SECONDS:
                self._tell(now)

RENDERER = Renderer()
