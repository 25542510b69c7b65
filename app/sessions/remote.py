"""Sessions whose runs train in a worker process: handing trainers over and taking them back.

The manager's half of the protocol in app/training/worker.py. While a session runs remotely its
``remote`` is the worker's handle and ``trainer`` is None; ``returned`` holds the pickled trainer
a worker sent back until someone takes the session's lock and adopts it (:meth:`_settle`).
Worker messages arrive on the pool's receiver threads, which never take a session lock, so a
request waiting under a lock for a worker's reply can never deadlock with them.

Copies of a running trainer (for ``/state``, the surfaces, an export) are asked for, and
unpickled on the receiver thread, in the order the worker sent them, because each leaves out
the trajectory points the ones before it carried (``s.points``, only changed there while the
session is remote). Pages need no copy: the worker sends page frames (app/page/frames.py),
which the receiver thread renders once for all the session's pages (app/page/feed.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from app.core.errors import ApiError, engine_error
from app.core.history import HistoryStore
from app.sessions.session import Session
from app.streaming.demand import Demand
from app.training import messages, transfer
from app.training.backend import Backend, Reply, Runner
from app.training.output import Batch

log = logging.getLogger(__name__)

COPY_SECONDS = 0.02  # reads of a running session share one copy of its trainer this long
LOST_REASON = "the training worker stopped"
# a backend that resumes lost runs (app/training/backend.py) starts one session's run again at
# most this often: a run that kills its runner each time must end up paused, not loop
RESUME_LIMIT, RESUME_WINDOW = 3, 60.0


class RemoteRuns:
    """Mixed into the manager, which provides ``pool``, ``sessions`` and ``load``."""

    pool: Backend
    sessions: dict[str, Session]
    store: HistoryStore
    _stored: Callable[[Any], None]  # app/sessions/recovery.py: wait for a write, 507 if refused
    page_frames: int = 0  # page frames received from workers, and their bytes
    page_bytes: int = 0

    def load(self, session: Session) -> Any:
        raise NotImplementedError

    def run(self, session: Session, steps: int | None, speed: float | None) -> Session:
        raise NotImplementedError

    def _copy(self, s: Session) -> Any:
        """A recent copy of the trainer if the session trains in a worker, else None (after
        adopting a trainer that came back). Call under the lock."""
        self._settle(s)
        handle = s.remote
        if handle is None:
            return None
        held = s.copy
        if held is not None and time.monotonic() - held[0] < COPY_SECONDS:
            return held[1]
        copy = self._fetch_copy(s, handle)
        if copy is not None:
            return copy
        if s.remote is handle and not handle.alive:
            self._runner_lost(s)
        self._settle(s)  # the run ended meanwhile: its trainer is back
        return None

    def _dispatch(self, s: Session) -> None:
        """Hand the session's trainer to a worker to train (call under the lock)."""
        # a run may have ended in its worker since the caller looked (the receiver clears
        # ``remote`` without the lock): take its trainer back first, or there is none to send
        self._settle(s)
        t = s.trainer
        handle = self.pool.pick(s.id)
        demand = s.hub.demand
        spec = messages.RunSpec(s.seq_base, s.generation, s.budget, s.speed, demand, s.cap)
        blob = transfer.dumps(t)
        s.data, s.points, s.trainer, s.copy = t.data, transfer.points_of(t), None, None
        handle.runs.add(s.id)
        s.remote = handle
        handle.post(messages.Start(s.id, blob, spec))
        if s.hub.demand != demand:  # changed while we were here: it may have missed the worker
            handle.post(messages.Want(s.id, s.hub.demand))

    def _local(self, s: Session, stop: Future[Reply] | None = None) -> Any:
        """Bring the trainer back from its worker, stopping the run there (call under the lock;
        ``status`` stays as it is; ``stop``: the stop request, if already sent). Returns the
        trainer."""
        handle = s.remote
        if handle is not None:
            stop = stop or handle.request(messages.Stop, s.id)
            blob, budget = stop.result(timeout=60)
            handle.runs.discard(s.id)
            if blob is not None:
                s.returned, s.remote = blob, None
                s.budget = budget or 0
            elif s.remote is handle and not handle.alive:
                self._lost(s, LOST_REASON)
        return self.load(s)

    def _configure_remote(self, s: Session, changes: dict[str, Any]) -> bool:
        """Apply live changes to the run training in a worker, which goes on training (call
        under the lock); False if no worker trains the session (change the trainer here)."""
        handle = s.remote
        if handle is None:
            return False
        if not changes:  # a new name only
            self._stored(s.emit([], session_row=True, urgent=True))
            return True
        result, _ = handle.request(messages.Configure, s.id, changes).result(timeout=60)
        if result is None:  # the run ended meanwhile: its trainer comes back here
            return False
        kind, value = result
        if kind == "error":
            raise engine_error(ValueError(value))
        s.config = value
        self._stored(s.emit([], session_row=True, urgent=True))
        return True

    def _recall(self, s: Session) -> None:
        """Stop the session's run in its worker and drop its trainer there and here (call under
        the lock: the trainer is about to be rebuilt from the database)."""
        handle = s.remote
        if handle is not None:
            handle.request(messages.Stop, s.id).result(timeout=60)
            handle.runs.discard(s.id)
        s.remote = s.returned = None

    def _fetch_copy(self, s: Session, handle: Runner) -> Any:
        """A copy of the trainer training in ``handle``, or None if the run is no longer there."""
        for full in (False, True):
            try:
                copy, _ = handle.request(
                    messages.Copy, s.id, full, lambda blob: self._adopt_copy(s, blob)
                ).result(timeout=60)
            except KeyError:  # a point we never got (a copy that failed): ask for all
                continue
            return copy
        return None

    def _adopt_copy(self, s: Session, blob: bytes) -> Any:
        """Unpickle a copy (receiver thread) and keep it as the session's latest; KeyError when
        it refers to a trajectory point we do not hold."""
        copy = transfer.loads(blob, s.data, s.points)
        s.points = transfer.points_of(copy)
        s.copy = (time.monotonic(), copy)
        return copy

    def _settle(self, s: Session) -> None:
        """Adopt a trainer a worker sent back (call under the lock)."""
        # remote first: the receiver sets returned, then clears remote; read the other way
        # round, a reader between the two would rebuild from an older checkpoint
        if s.remote is not None:
            return
        blob = s.returned
        if blob is not None:
            s.returned = None
            s.trainer, s.copy = transfer.loads(blob, s.data), None
            s.points = {}

    def _demand_changed(self, s: Session, demand: Demand) -> None:
        handle = s.remote
        if handle is not None:
            handle.post(messages.Want(s.id, demand))

    def _on_worker_message(self, handle: Runner, msg: messages.Slice | messages.Lost) -> None:
        """A worker's batch or lost run (its receiver thread; takes no session lock, so a
        request waiting under a lock for this worker's reply can never deadlock)."""
        sid = msg.sid
        s = self.sessions.get(sid)
        if isinstance(msg, messages.Lost):
            handle.runs.discard(sid)
            if s is not None and s.remote is handle:
                self._lost(s, f"training failed: {msg.error}")
            return
        _, batch, budget, ended, blob, page = msg
        if ended:
            handle.runs.discard(sid)
        if s is None or s.deleted or s.remote is not handle:
            if page is not None:  # taken: the worker may send the next (messages.Drawn)
                handle.drawn([sid])
            return
        s.budget = budget
        if ended:
            s.status, s.reason = ended, "diverged" if ended == "diverged" else "budget"
            s.returned = blob  # before remote: a reader that sees remote None finds it
            s.remote = None
        s.record(batch, status=bool(ended))
        pace = s.pace  # a race's lock-step (app/sessions/races.py)
        if pace is not None:
            pace(s)
        if page is not None:
            self.page_frames += 1
            self.page_bytes += len(page)
            feed = s.page  # app/page/feed.py, once a page watches the session
            if feed is not None and s.data is not None:
                # drawn soon, once for every page of the session, not after the batch's commit
                # (unpickled there: a frame a newer one replaces before its turn never is)
                feed.offer(page, s, self.store, s.data, (handle.drawn, sid))
            else:
                handle.drawn([sid])

    def _on_worker_lost(self, handle: Runner) -> None:
        for s in list(self.sessions.values()):
            if s.remote is handle:
                self._runner_lost(s)

    def _runner_lost(self, s: Session) -> None:
        """The runner of the session's run is gone: pause it, and run it again if the backend
        resumes lost runs (not when a pause or stop found it gone: they stop it anyway)."""
        self._lost(s, LOST_REASON)
        if self.pool.resumes_lost:
            threading.Thread(
                target=self._resume_lost, args=(s,), name="bpp-resume", daemon=True
            ).start()

    def _resume_lost(self, s: Session) -> None:
        """Run again a session whose runner was lost, with the budget and speed it had left
        (its own thread: the rebuild replays the steps stored after the checkpoint). Not if
        anyone changed it meanwhile, nor more than RESUME_LIMIT times in RESUME_WINDOW."""
        with s.lock:
            now = time.monotonic()
            s.resumed = [t for t in s.resumed if now - t < RESUME_WINDOW]
            if s.deleted or s.status != "paused" or s.reason != LOST_REASON:
                return
            if len(s.resumed) >= RESUME_LIMIT:
                log.warning("session %s: runner lost again; left paused", s.id)
                return
            s.resumed.append(now)
            try:
                self.run(s, s.budget, s.speed)
            except ApiError as exc:  # shutting down, a quota, storage: it stays paused
                log.warning("session %s: not resumed: %s", s.id, exc)
            except Exception:
                log.exception("session %s: not resumed", s.id)

    def _lost(self, s: Session, reason: str) -> None:
        """A run whose worker failed: paused at its last checkpoint (rebuilt when next used)."""
        s.remote, s.returned, s.copy, s.trainer = None, None, None, None
        s.status, s.reason = "paused", reason
        s.record(Batch(), status=True)
