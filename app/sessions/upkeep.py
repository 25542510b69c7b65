"""Keeping the manager's sessions within bounds, and stopping them all: idle runs paused, idle
sessions unloaded (their memory given back), trainers in memory kept under a cap, history
compacted, and the graceful shutdown's drain (promises 7, 20, 21, 22).

A mixin of :class:`app.sessions.manager.Manager`, which provides the sessions, the store, the
settings and the training handles.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from typing import Any

from app.core import memory
from app.core.errors import ApiError, quota_error
from app.core.settings import Settings
from app.sessions.retention import Retention
from app.sessions.session import Session
from app.training import messages
from app.training.output import Batch

log = logging.getLogger(__name__)


class Upkeep:
    """Mixed into the manager (see the module docstring)."""

    settings: Settings
    sessions: dict[str, Session]
    retention: Retention
    draining: bool
    _drain_lock: threading.Lock
    _stop: threading.Event

    def pause(self, session: Session, reason: str = "request") -> Session:
        raise NotImplementedError

    def _local(self, s: Session, stop: Future[Any] | None = None) -> Any:
        raise NotImplementedError

    def _settle(self, s: Session) -> None:
        raise NotImplementedError

    def _let_go(self, s: Session) -> None:
        raise NotImplementedError

    def _hand_over(self, sessions: list[Session]) -> None:
        raise NotImplementedError

    leases: Any

    # ---- shutdown ------------------------------------------------------------------------------

    def drain(self, reason: str = "shutdown") -> None:
        """Stop every run, checkpoint every loaded session (runs say ``reason``), then end
        every stream once its last status has gone out. Once; later calls return at once."""
        with self._drain_lock:
            if self.draining:
                return
            self.draining = True
            sessions = list(self.sessions.values())
            # every stop is asked for at once: the workers send the trainers back in parallel
            stops = {s.id: s.remote.request(messages.Stop, s.id) for s in sessions if s.remote}
            writes = [self._park(s, reason, stops.get(s.id)) for s in sessions]
            for write in writes:
                if write is not None:
                    write.done.wait(10)
            self._hand_over(sessions)  # replicas: their runs go on in another one
            for s in sessions:
                s.hub.end()

    def _park(self, s: Session, reason: str, stop: Future[Any] | None) -> Any:
        with s.lock:
            if s.deleted:
                return None
            if s.remote is not None:
                self._local(s, stop)
            running = s.status == "running"
            # web replicas: a run stays running (checkpointed here), for another one to go on
            if running and self.leases is None:
                s.status, s.reason = "paused", reason
            if s.trainer is not None:
                return s.emit([], status=True, checkpoint=True, urgent=True)
            return s.record(Batch(), status=True, urgent=True) if running else None

    # ---- bounds ----------------------------------------------------------------------------------

    def _cull_loop(self) -> None:
        while not self._stop.wait(self.settings.cull_interval_seconds):
            self.cull()
            try:
                self.retention.run(list(self.sessions.values()))
            except ApiError as exc:  # the database cannot be read now (PostgreSQL down)
                log.warning("history compaction skipped: %s", exc)
            except Exception:  # a failed pass is tried again next time
                log.exception("history compaction failed")

    def _make_room(self, loading: Session | None = None) -> None:
        """Keep trainers in memory under ``max_sessions_loaded`` (promise 21): before one more
        is built (for ``loading``, or a new session), unload the least recently used sessions
        that nobody runs or watches, as :meth:`cull` does; a 429 naming the limit if none can be.

        Held in memory: a trainer here, or one training in a worker. Simultaneous loads may
        each find the same room: the cap can be passed by as many trainers as requests build at
        that instant, and the next load unloads back under it.
        """
        cap = self.settings.max_sessions_loaded
        held = [
            s
            for s in list(self.sessions.values())
            if s is not loading
            and (s.trainer is not None or s.remote is not None or s.returned is not None)
        ]
        excess = len(held) + 1 - cap
        if excess <= 0:
            return
        idle = [s for s in held if s.status != "running" and not s.hub.watched]
        wanted = excess
        for s in sorted(idle, key=lambda s: s.last_seen):
            if excess > 0 and self.unload(s, trim=False):
                excess -= 1
        if excess < wanted:
            memory.trim()  # once for all of them
        if excess > 0:
            raise quota_error(
                "sessions",
                "max_sessions_loaded",
                len(held) + 1,
                cap,
                self.settings.cull_interval_seconds,
            )

    def unload(self, session: Session, trim: bool = True) -> bool:
        """Checkpoint a session nobody runs or watches and drop what it holds in this process
        and can rebuild (app/core/memory.py): the trainer (from the checkpoint and the stored steps
        when next used), a worker's copies, trajectory points and dataset, the ring of recent
        records (streams read the database instead) and the page's pictures; a deleted
        session's page preferences too. With ``trim``, the freed heap goes back to the system.
        False if it is busy (a request holds it), runs, is watched, or could not be saved."""
        if not session.lock.acquire(blocking=session.deleted):
            return False  # a request has it: not idle (and waiting could deadlock two loads)
        try:
            self._settle(session)  # a trainer a worker sent back: adopted, to checkpoint it
            if session.remote is not None or session.status == "running":
                return False
            if session.hub.watched and not session.deleted:
                return False
            unsaved = session.dirty and session.trainer is not None and not session.deleted
            if unsaved and not session.emit([], checkpoint=True).wait():
                return False  # not saved (a refusing disk): it stays in memory
            session.trainer, session.copy, session.data, session.points = None, None, None, {}
            session.hub.forget_recent()
        finally:
            session.lock.release()
        feed = session.page
        if feed is not None:  # its drawings are redrawn by the next frame
            feed.forget_drawn()
        if session.deleted:  # and its page preferences, curve marks … go with it
            session.page = None
        if trim:
            memory.trim()
        return True

    def cull(self) -> None:
        """Pause idle runs; checkpoint and unload idle sessions (promise 7)."""
        now = time.monotonic()
        unloaded = False
        for session in list(self.sessions.values()):
            idle = now - session.last_seen > self.settings.idle_seconds
            watched = session.hub.watched
            if watched:
                session.last_seen = now
            elif idle and session.status == "running":
                self.pause(session, reason="idle")
            elif (
                idle
                and session.status != "running"
                and memory.held(session)
                and self.unload(session, trim=False)
            ):
                unloaded = True
                self._let_go(session)  # replicas: its lease freed
        if unloaded:
            memory.trim()  # once for all of them: it walks every heap
