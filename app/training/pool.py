"""The training worker processes (app/training/worker.py), seen from the web process.

Each :class:`Handle` owns one worker process and its pipe: a sender thread writes queued
messages (so no caller, the event loop included, ever blocks on a full pipe), and a receiver
thread reads the worker's messages in order and hands batches to the session manager; requests
get futures (app/training/channel.py, which the Ray backend shares).

Workers start on first use from a fork server that has already imported the engine, so a
worker is up in milliseconds and never inherits the web process's threads or sockets. A run
goes to the worker with the fewest runs. If a worker dies, its runs are reported lost (the
manager pauses them at their last checkpoint) and the next run starts a fresh worker.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
from collections.abc import Callable
from typing import Any

from app.core.settings import Settings
from app.training import messages, runs, worker
from app.training.channel import Channel


def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    # "__main__" first: the fork server imports the main module once, so the workers forked
    # from it do not each import it again (the usual multiprocessing rule applies: a script
    # that starts the app guards its code with ``if __name__ == "__main__":``)
    ctx.set_forkserver_preload(
        ["__main__", "app.training.worker", "engine.trainer", "engine.datasets"]
    )
    return ctx


class Handle(Channel):
    """One worker process and its pipe (app/training/channel.py: the threads and requests)."""

    def __init__(
        self,
        index: int,
        options: runs.Options,
        on_message: Callable[[Handle, messages.Slice | messages.Lost], None],
        on_lost: Callable[[Handle], None],
    ) -> None:
        super().__init__(on_message, on_lost)
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=worker.main, args=(child, options), name=f"bpp-train-{index}", daemon=True
        )
        self.process.start()
        child.close()
        self._start(f"bpp-train-{index}")

    def close(self, timeout: float = 5.0) -> None:
        self.post(messages.Quit())
        self._end_sending()
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)

    def _send(self, msgs: list[messages.ToWorker]) -> None:
        self.conn.send(msgs)

    def _receive(self) -> list[Any]:
        msgs: list[Any] = self.conn.recv()
        return msgs

    def _abort(self) -> None:
        self.process.kill()


def worker_options(settings: Settings) -> runs.Options:
    """What a worker needs of the settings (picklable), wherever it runs."""
    return runs.Options(
        slice_s=settings.slice_ms / 1000,
        round_s=settings.round_ms / 1000,
        metrics_interval_s=settings.metrics_interval_ms / 1000,
        checkpoint_s=settings.checkpoint_seconds,
        nice=settings.worker_nice,
        replay_every=settings.replay_every,
        replay_bytes=settings.replay_mb * 2**20,
    )


class Pool:
    """Up to ``settings.workers`` worker processes, started on demand."""

    resumes_lost = False  # a dead worker's runs pause (app/training/backend.py)

    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[Handle, messages.Slice | messages.Lost], None],
        on_lost: Callable[[Handle], None],
    ) -> None:
        self.size = settings.workers
        self.options = worker_options(settings)
        self.handles: list[Handle] = []
        self._on_message, self._on_lost = on_message, on_lost
        self._lock = threading.Lock()
        self._started = itertools.count()
        self._closed = False

    @property
    def running(self) -> int:
        return sum(len(h.runs) for h in self.handles)

    def warm(self, n: int) -> None:
        """Start up to ``n`` workers now rather than on first use (a background thread)."""

        def start() -> None:
            with self._lock:
                while not self._closed and len(self.handles) < min(n, self.size):
                    index = next(self._started)
                    self.handles.append(
                        Handle(index, self.options, self._on_message, self._on_lost)
                    )

        if n:
            threading.Thread(target=start, name="bpp-train-warm", daemon=True).start()

    def pick(self, sid: str) -> Handle:
        """The live worker with the fewest runs, starting one while below ``size`` (any run
        goes to any worker: ``sid`` does not matter here)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the training pool is closed")
            self.handles = [h for h in self.handles if h.alive]
            if len(self.handles) < self.size and all(h.runs for h in self.handles):
                index = next(self._started)
                self.handles.append(Handle(index, self.options, self._on_message, self._on_lost))
            return min(self.handles, key=lambda h: len(h.runs))

    def close(self) -> None:
        with self._lock:
            self._closed = True
            handles, self.handles = self.handles, []
        for h in handles:
            h.close()
