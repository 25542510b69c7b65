"""The page feeds' render thread: one thread drawing the frames workers send.

A worker's receiver thread hands a session's newest page frame to its feed
(app/page/feed.py ``PageFeed.offer``) and names the feed here; this thread draws the feeds
that got a frame, a session at a time, each with its newest frame only (a frame replaced before
its turn costs nothing). Rendering is Python under the GIL wherever it runs; here it neither
delays the receiver threads' reading of the pipes nor the event loop's requests.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)


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

    def due(self, feed: Drawn) -> None:
        with self.cond:
            self.waiting[id(feed)] = feed
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="bpp-render", daemon=True)
                self.thread.start()
            self.cond.notify()

    def _run(self) -> None:
        while True:
            with self.cond:
                while not self.waiting:
                    self.cond.wait()
                _, feed = self.waiting.popitem(last=False)
            try:
                feed.render_pending()
            except Exception:  # one session's drawing must not stop the others'
                log.exception("page frame of %s not drawn", feed.sid)


RENDERER = Renderer()
