"""One runner's two directions, whatever carries them: queued sends, ordered receipt, requests.

A :class:`Channel` is the part of a runner (app/training/backend.py) that does not depend on
where its trainers train: a sender thread writes queued messages in lists (whatever queued
meanwhile goes in one write, so no caller, the event loop included, ever blocks on the
transport), and a receiver thread reads the runner's messages in order and hands them to the
session manager. Requests that want an answer (``stop``, ``copy``, ``configure``) get a
:class:`~concurrent.futures.Future`; a request may name a ``decode`` function for the reply,
which then runs on the receiver thread, in order with the runner's other messages (copies refer
to what earlier ones carried: app/training/transfer.py). When the transport fails, the runner is
lost: pending requests get ``(None, None)`` and ``on_lost`` hears it.

Subclasses supply the transport: :meth:`_send` (a list of messages), :meth:`_receive` (the next
list), the errors that mean "gone" (:attr:`GONE`) and :meth:`_abort` (make sure the other end
stops training: its runs are about to be reported lost), and may free what is left in
:meth:`_gone`. Today's two: a worker process's pipe
(app/training/pool.py) and a Ray actor (app/training/ray_backend.py).
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, ClassVar

from app.training import messages
from app.training.backend import Reply

log = logging.getLogger(__name__)

FromRunner = messages.Slice | messages.Lost


class Channel:
    """The messages to and from one runner (see the module docstring)."""

    GONE: ClassVar[tuple[type[BaseException], ...]] = (EOFError, OSError)

    def __init__(
        self,
        on_message: Callable[[Any, FromRunner], None],
        on_lost: Callable[[Any], None],
    ) -> None:
        self.runs: set[str] = set()  # sessions running here (for placing new runs)
        self.alive = True
        self._on_message, self._on_lost = on_message, on_lost
        self._out: queue.SimpleQueue[messages.ToWorker | None] = queue.SimpleQueue()
        self._pending: dict[int, tuple[Future[Reply], Callable[[bytes], Any] | None]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count()

    def _start(self, name: str) -> None:
        """Start the sender and receiver threads (once the transport exists)."""
        for target, role in ((self._send_loop, "send"), (self._receive_loop, "receive")):
            threading.Thread(target=target, name=f"{name}-{role}", daemon=True).start()

    # ---- the transport (subclasses) ------------------------------------------------------------

    def _send(self, msgs: list[messages.ToWorker]) -> None:
        raise NotImplementedError

    def _receive(self) -> list[Any]:
        raise NotImplementedError

    def _abort(self) -> None:
        raise NotImplementedError

    def _gone(self) -> None:
        """The receiver stopped listening (lost or closed): free what is left of the runner."""

    # ---- the protocol ----------------------------------------------------------------------------

    def post(self, msg: messages.ToWorker) -> None:
        self._out.put(msg)

    def drawn(self, sids: list[str]) -> None:
        self.post(messages.Drawn(tuple(sids)))

    def request(
        self,
        kind: type[messages.Request],
        sid: str,
        arg: Any = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Future[Reply]:
        """Ask the runner (:class:`~app.training.messages.Stop`, ``Copy`` with ``arg`` = whole,
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

    def _end_sending(self) -> None:
        """Let the sender thread finish once what is queued is sent."""
        self._out.put(None)

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
                self._send(msgs)
            except self.GONE:
                return  # the runner is gone; the receiver reports it

    def _receive_loop(self) -> None:
        try:
            while True:
                for msg in self._receive():
                    if isinstance(msg, messages.Reply):
                        self._resolve(*msg)
                    else:
                        self._on_message(self, msg)
        except self.GONE:
            pass
        except Exception:
            log.exception("training runner message failed")
            # its runs are reported lost below: the runner must not train on unheard
            self._abort()
        finally:
            self._gone()
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
