"""Per-session event hub and the server-sent-event stream built on it.

The writer thread publishes into a :class:`Hub` only after a batch is committed, so every step a
client sees is already on disk. A hub keeps

* a ring of recent step records (``(seq, json)``), shared by all subscribers: a subscriber is just
  a cursor into it, so a slow reader costs no memory; a reader that fell behind the ring reads
  the missing records from SQLite instead (promises 1 and 4);
* per subscriber, a small bounded deque of weight frames (oldest dropped), filled at the
  subscriber's own cadence (``every`` N steps and/or at most ``fps`` per second); a client slow
  to take the stream's writes gets only the newest of them;
* the latest status, with a version number.

Event ids are the session's step sequence number ``seq`` (equal to the step count until the
first reset), so ``Last-Event-ID`` and ``?after=`` mean "I have every step up to here".

Cursors that the history cannot continue (promise 17: every loop awaits, whatever the cursor):

* past the hub's last step (the history was cut back by a replay that disagreed, or the client
  names a step that never was): the client gets a ``status`` event with ``reason: "rewound"``
  and ``seq`` N, and continues after N — its steps after N are void;
* before the session's full-resolution window (older history is kept downsampled:
  app/sessions/retention.py): a ``status`` event with ``reason: "compacted"`` and ``seq`` N, and the
  stream continues after N.

When the server shuts down (:meth:`Hub.end`), a stream sends what is due and ends without a
``close`` event: the client reconnects (``retry``) to the restarted server.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.streaming.demand import Demand, Frame

FRAME_BURST = 2.0


@dataclass(eq=False)
class Subscriber:
    """One connected stream: what it asked for, and frames waiting for it."""

    owner: str
    every: int
    fps: float
    include: frozenset[str]
    frames: bool
    pages: float = 0.0  # page frames a second this reader draws (a page's stream)
    event: asyncio.Event = field(default_factory=asyncio.Event)  # anything published
    frame_event: asyncio.Event = field(default_factory=asyncio.Event)  # a frame queued
    queue: deque[Frame] = field(default_factory=lambda: deque(maxlen=4))
    tokens: float = 1.0  # frame allowance: fps per second, at most FRAME_BURST saved up
    token_time: float = 0.0

    def take(self, step: int, now: float, forced: bool, paced: float = 0.0) -> bool:
        """Does this subscriber take a frame of ``step`` now? (Spends an allowance if so.)

        ``paced`` is the rate the producer already paces frames at (the hub's demand): a
        subscriber asking for that rate or more takes them all, since the producer keeps the
        average by deadline and a second limit here would only drop the late-then-early pairs.
        """
        if not self.frames:
            return False
        if forced:  # a manual step or edit: always worth drawing
            return True
        if self.every and step % self.every:
            return False
        if not self.fps or (paced and self.fps >= paced):
            return True
        # a token bucket, not a minimum gap: frames are made at the fastest subscriber's rate,
        # paced by deadline, and arrive with jitter; a gap rule would drop the early ones
        self.tokens = min(FRAME_BURST, self.tokens + (now - self.token_time) * self.fps)
        self.token_time = now
        if self.tokens < 1.0:
            return False
        self.tokens -= 1.0
        return True


# The hubs waiting for their loop to wake their subscribers, per loop: one callback wakes them
# all. A callback scheduled from another thread writes to the loop's wake-up pipe under the
# GIL; with 30 learners at 30 frames/s, one a frame and session was a twentieth of the web
# process's time. Hubs that publish while a callback is pending join it, and after a batch
# the loop is not woken again for WAKE_GAP: the wakes of that gap are one batch at its end
# (with 100 learners a batch per publish still cost 8 % of the process's time).
WAKE_GAP = 0.004  # seconds; a frame is delayed by at most this much
_batch_lock = threading.Lock()
_batches: dict[asyncio.AbstractEventLoop, list[Hub]] = {}


def _wake_soon(hub: Hub) -> None:
    with _batch_lock:
        batch = _batches.get(hub.loop)
        if batch is not None:  # a callback is pending, or a gap is running: it takes this one
            batch.append(hub)
            return
        _batches[hub.loop] = [hub]
    try:
        hub.loop.call_soon_threadsafe(_wake_batch, hub.loop)
    except RuntimeError:  # the loop is closed at shutdown
        with _batch_lock:
            _batches.pop(hub.loop, None)


def _wake_batch(loop: asyncio.AbstractEventLoop) -> None:
    """Wake the hubs batched for ``loop`` (on it), then hold the next batch for WAKE_GAP."""
    with _batch_lock:
        hubs = _batches.get(loop)
        if not hubs:  # a gap with no wakes: the next one calls the loop again
            _batches.pop(loop, None)
            return
        _batches[loop] = []  # the gap's wakes gather here
    for hub in hubs:
        hub._wake_all()
    loop.call_later(WAKE_GAP, _wake_batch, loop)


class Hub:
    """Fan-out point of one session; written by the writer thread, read on the event loop."""

    def __init__(self, ring_size: int, last_seq: int, loop: asyncio.AbstractEventLoop) -> None:
        self.lock = threading.Lock()
        self.ring: deque[tuple[int, str]] = deque(maxlen=ring_size)
        self.last_seq = last_seq
        self.status: dict[str, Any] = {"status": "paused"}
        self.status_seq = last_seq
        self.status_version = 0
        self.closed: str | None = None
        self.ending = False  # the server is shutting down: streams end (clients reconnect)
        self.rewinds = 0  # how many times the history was cut back
        self.rewind_seq = last_seq  # ... and to which seq, the last time
        self.window_start = 0  # steps after this are kept at full resolution
        self.subscribers: set[Subscriber] = set()
        self.loop = loop
        self._wake_pending = False
        self._wake_pages = False  # the pending wake is for the pages' streams too
        self.demand = Demand()  # all subscribers' frame wishes taken together
        self.on_demand: Callable[[Demand], None] | None = None  # told when the demand changes
        self.look: Any = None  # how the pages want the session drawn (app/page/frames.Look)

    # ---- subscribing (event loop) ------------------------------------------------------------

    def add(self, sub: Subscriber) -> None:
        with self.lock:
            self.subscribers.add(sub)
        self._recompute()

    def remove(self, sub: Subscriber) -> None:
        with self.lock:
            self.subscribers.discard(sub)
        self._recompute()

    def set_look(self, look: Any) -> None:
        with self.lock:
            self.look = look
        self._recompute()

    def _recompute(self) -> None:
        with self.lock:
            demand = self._wanted()
            changed, self.demand = demand != self.demand, demand
        if changed and self.on_demand is not None:
            self.on_demand(demand)

    def _wanted(self) -> Demand:
        """What this hub's subscribers want together (call under ``lock``)."""
        subs = [s for s in self.subscribers if s.frames]
        everies = [s.every for s in subs if s.every]
        # a subscriber with every=N and fps=0 wants every N-th frame: no time limit then
        timed = [s.fps for s in subs if s.fps] if all(s.fps for s in subs) else []
        return Demand(
            frames=bool(subs),
            every=min(everies) if everies else 0,
            fps=max(timed) if timed else 0.0,
            include=frozenset().union(*(s.include for s in subs)) if subs else frozenset(),
            pages=max((s.pages for s in self.subscribers), default=0.0),
            look=self.look,
        )

    # ---- publishing (writer thread) ------------------------------------------------------------

    def publish(
        self,
        steps: list[tuple[int, str]],
        frame: Frame | None = None,
        status: dict[str, Any] | None = None,
        forced_frame: bool = False,
    ) -> None:
        with self.lock:
            if steps:
                if self.ring and steps[0][0] != self.ring[-1][0] + 1:
                    self.ring.clear()  # keep the ring gap-free; readers fall back to the DB
                self.ring.extend(steps)
                self.last_seq = max(self.last_seq, steps[-1][0])
            if frame is not None:
                self._offer(frame, forced_frame)
            if status is not None:
                self._set_status(status, self.last_seq)
        # a running session's step rows alone change nothing a page draws until its next
        # page frame (which wakes them): 60 needless wakes a second per page otherwise
        self.wake(pages=not steps or status is not None or forced_frame)

    def _offer(self, frame: Frame, forced: bool) -> None:
        """Queue ``frame`` for the subscribers that take it now (call under ``lock``)."""
        now, paced = time.monotonic(), self.demand.fps
        for sub in self.subscribers:
            if sub.take(frame.step, now, forced, paced):
                sub.queue.append(frame)

    def _set_status(self, status: dict[str, Any], seq: int) -> None:
        """A new status, published after the step record ``seq`` (call under ``lock``)."""
        self.status = status
        self.status_seq = seq
        self.status_version += 1

    def close(self, reason: str) -> None:
        with self.lock:
            self.closed = reason
        self.wake()

    def end(self) -> None:
        """The server is going down: every stream ends once it has sent what is due."""
        with self.lock:
            self.ending = True
        self.wake()

    def rewind(self, seq: int, status: dict[str, Any]) -> None:
        """The history was cut back to ``seq`` (call once the cut is committed): readers past
        it are told and continue from there."""
        with self.lock:
            self.ring.clear()
            self.last_seq = seq
            self.rewinds += 1
            self.rewind_seq = seq
            self.status = status
            self.status_seq = seq
            self.status_version += 1
        self.wake()

    def wake(self, pages: bool = True) -> None:
        """Wake every subscriber (the pages' too unless ``pages`` is False); at most one pending
        callback, whatever the publish rate."""
        with self.lock:
            self._wake_pages = self._wake_pages or pages
            if self._wake_pending or not self.subscribers:
                return
            self._wake_pending = True
        _wake_soon(self)

    def _wake_all(self) -> None:
        with self.lock:
            self._wake_pending = False
            pages, self._wake_pages = self._wake_pages, False
            subs = list(self.subscribers)
        for sub in subs:
            if pages or not sub.pages:
                sub.event.set()
            if sub.queue:
                sub.frame_event.set()

    # ---- reading (event loop) ------------------------------------------------------------------

    @property
    def watched(self) -> bool:
        return bool(self.subscribers)

    def forget_recent(self) -> None:
        with self.lock:
            self.ring.clear()

    def holds_recent(self) -> bool:
        return bool(self.ring)

    def read_ring(self, cursor: int, limit: int) -> list[tuple[int, str]] | None:
        """Records after ``cursor`` from the ring, or None when the ring no longer has them."""
        with self.lock:
            if cursor >= self.last_seq:
                return []
            if not self.ring or cursor < self.ring[0][0] - 1 or self.ring[-1][0] != self.last_seq:
                return None
            # the ring is gap-free and ends at last_seq: count from the right end, which is
            # where readers are (a deque walks from its nearer end, O(records wanted))
            n = max(0, min(self.ring[-1][0] - cursor, len(self.ring)))
            newest_first = list(itertools.islice(reversed(self.ring), n))
            return newest_first[::-1][:limit]
