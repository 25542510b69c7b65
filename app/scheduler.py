"""A bounded pool of training threads sharing the running sessions fairly.

Running sessions wait in one FIFO; a worker takes the head, gives it one time slice (a few
milliseconds of ``Trainer.step``), and puts it back at the tail — round-robin, so 100 sessions
each get one slice per round whatever their speed. A session that asked for a slower speed, or
whose slice ended early, sleeps in a heap until its wake time. Training never runs on the event
loop (promise 6): the loop only enqueues and reads.

The slice shrinks as more sessions run so that one round stays near ``round_ms``: every stream
then gets fresh steps several times a second (the bench's frames/s figure).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
MIN_SLICE = 0.0005  # below this the fixed per-slice costs dominate


class Scheduler(Generic[T]):
    """Round-robin over ready items; ``work(item, slice_seconds)`` returns when to run it next:
    ``0.0`` = at once (tail of the queue), ``t > 0`` = at monotonic time ``t``, ``None`` = stop."""

    def __init__(
        self,
        work: Callable[[T, float], float | None],
        workers: int,
        slice_s: float,
        round_s: float,
    ) -> None:
        self._work = work
        self._slice = slice_s
        self._round = round_s
        self._cond = threading.Condition()
        self._ready: deque[T] = deque()
        self._sleeping: list[tuple[float, int, T]] = []
        self._queued: set[int] = set()  # ids of items in the ready queue, the heap or a worker
        self._poked: set[int] = set()  # added again while queued: run once more even if done
        self._tie = itertools.count()
        self._stopping = False
        self._threads = [
            threading.Thread(target=self._loop, name=f"bpp-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    def add(self, item: T) -> None:
        """Make ``item`` runnable (no-op if it already is)."""
        with self._cond:
            if id(item) in self._queued:
                self._poked.add(id(item))
                self._cond.notify()
                return
            self._queued.add(id(item))
            self._ready.append(item)
            self._cond.notify()

    @property
    def active(self) -> int:
        with self._cond:
            return len(self._queued)

    def stop(self) -> None:
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for thread in self._threads:
            thread.join(timeout=5)

    def _slice_for(self, n: int) -> float:
        return max(MIN_SLICE, min(self._slice, self._round / max(1, n)))

    def _next(self) -> tuple[T, float] | None:
        with self._cond:
            while not self._stopping:
                now = time.monotonic()
                while self._sleeping and self._sleeping[0][0] <= now:
                    self._ready.append(heapq.heappop(self._sleeping)[2])
                if self._ready:
                    item = self._ready.popleft()
                    self._poked.discard(id(item))
                    return item, self._slice_for(len(self._queued))
                timeout = self._sleeping[0][0] - now if self._sleeping else None
                self._cond.wait(timeout)
            return None

    def _loop(self) -> None:
        while True:
            picked = self._next()
            if picked is None:
                return
            item, slice_s = picked
            try:
                wake = self._work(item, slice_s)
            except Exception:  # one broken session must not kill a worker
                log.exception("training slice failed")
                wake = None
            with self._cond:
                if wake is None and id(item) in self._poked and not self._stopping:
                    self._poked.discard(id(item))
                    self._ready.append(item)
                    self._cond.notify()
                elif wake is None or self._stopping:
                    self._queued.discard(id(item))
                elif wake <= time.monotonic():
                    self._ready.append(item)
                    self._cond.notify()
                else:
                    heapq.heappush(self._sleeping, (wake, next(self._tie), item))
                    self._cond.notify()
