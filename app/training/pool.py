"""The training worker processes (app/training/worker.py), seen from the web process.

Each :class:`Handle` owns one worker process and its pipe: a sender thread writes queued
messages (so no caller, the event loop included, ever blocks on a full pipe), and a receiver
thread reads the worker's messages in order and hands batches to the session manager. Requests
that want an answer (``stop``, ``copy``) get a :class:`~concurrent.futures.Future`; a request
may name a ``decode`` function for the reply, which then runs on the receiver thread, in order
with the worker's other messages (copies refer to what earlier ones carried:
app/training/transfer.py).

Workers start on first use from a fork server that has already imported the engine, so a
worker is up in milliseconds and never inherits the web process's threads or sockets. A run
goes to the worker with the fewest runs. If a worker dies, its runs are reported lost (the
manager pauses them at their last checkpoint) and the next run starts a fresh worker.
"""

from __future__ import annotations

import itertools
import logging
import multiprocessing
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.core.settings import Settings
from app.training import messages, runs, worker
from app.training.backend import Reply

log = logging.getLogger(__name__)



def _context() -> Any:
    ctx = multiprocessing.get_context("forkserver")
    # "__main__" first: the fork server imports the main module once, so the workers forked
    # from it do not each import it again (the usual multiprocessing rule applies: a script
    # that starts the app guards its code with ``if __name__ == "__main__":``)
    ctx.set_forkserver_preload(
        ["__main__", "app.training.worker", "engine.trainer", "engine.datasets"]
    )
    return ctx


class Handle:
    """One worker process."""

    def __init__(
        self,
        index: int,
        options: runs.Options,
        on_message: Callable[[Handle, messages.Slice | messages.Lost], None],
        on_lost: Callable[[Handle], None],
    ) -> None:
        ctx = _context()
        self.conn, child = ctx.Pipe(duplex=True)
        self.process = ctx.Process(
            target=worker.main, args=(child, options), name=f"bpp-train-{index}", daemon=True
        )
        self.process.start()
        child.close()
        self.runs: set[str] = set()  # sessions running here (for placing new runs)
        self.alive = True
        self._on_message, self._on_lost = on_message, on_lost
        self._out: queue.SimpleQueue[messages.ToWorker | None] = queue.SimpleQueue()
        self._pending: dict[int, tuple[Future[Reply], Callable[[bytes], Any] | None]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()
        for target, name in ((self._send_loop, "send"), (self._receive_loop, "receive")):
            threading.Thread(target=target, name=f"bpp-train-{index}-{name}", daemon=True).start()

    def post(self, msg: messages.ToWorker) -> None:
        self._out.put(msg)

    def request(
        self,
        kind: type[messages.Request],
        sid: str,
        arg: Any = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Future[Reply]:
        """Ask the worker (:class:`~app.training.messages.Stop`, ``Copy`` with ``arg`` = whole,
        ``Configure`` with ``arg`` = the changes); the future holds its reply."""
        fut: Future[Reply] = Future()
        with self._lock:
            if not self.alive:
                fut.set_result((None, None))
                return fut
            req = next(self._ids)
            self._pending[req] = (fut, decode)
        self.post(kind(sid, req) if arg is None else kind(sid, req, arg))
        return fut

    def close(self, timeout: float = 5.0) -> None:
        self.post(messages.Quit())
        self._out.put(None)
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout)

    def _send_loop(self) -> None:
        while True:
            msg = self._out.get()
            if msg is None:
                return
            msgs = [msg]
            while True:  # whatever queued meanwhile goes in the same write
                try:
                    more = self._out.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    self._out.put(None)
                    break
                msgs.append(more)
            try:
                self.conn.send(msgs)
            except OSError:
                return  # the worker is gone; the receiver reports it

    def _receive_loop(self) -> None:
        try:
            while True:
                for msg in self.conn.recv():
                    if isinstance(msg, messages.Reply):
                        self._resolve(*msg)
                    else:
                        self._on_message(self, msg)
        except (EOFError, OSError):
            pass
        except Exception:
            log.exception("training worker message failed")
            # its runs are reported lost below: the process must not train on unheard
            self.process.kill()
        finally:
            with self._lock:
                self.alive = False
                pending, self._pending = self._pending, {}
            for fut, _ in pending.values():
                fut.set_result((None, None))
            self._on_lost(self)

    def _resolve(self, req: int, blob: bytes | None, budget: int | None) -> None:
        with self._lock:
            fut, decode = self._pending.pop(req, (None, None))
        if fut is None:
            return
        if blob is None or decode is None:
            fut.set_result((blob, budget))
            return
        try:
            fut.set_result((decode(blob), budget))
        except Exception as exc:  # the requester sees it (e.g. KeyError: ask for everything)
            fut.set_exception(exc)


class Pool:
    """Up to ``settings.workers`` worker processes, started on demand."""

    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[Handle, messages.Slice | messages.Lost], None],
        on_lost: Callable[[Handle], None],
    ) -> None:
        self.size = settings.workers
        self.options = runs.Options(
            slice_s=settings.slice_ms / 1000,
            round_s=settings.round_ms / 1000,
            metrics_interval_s=settings.metrics_interval_ms / 1000,
            checkpoint_s=settings.checkpoint_seconds,
            nice=settings.worker_nice,
            replay_every=settings.replay_every,
            replay_bytes=settings.replay_mb * 2**20,
        )
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

    def pick(self) -> Handle:
        """The live worker with the fewest runs, starting one while below ``size``."""
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
