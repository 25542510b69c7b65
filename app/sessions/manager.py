"""The session manager: creating, driving, persisting and recovering training sessions.

Background runs train in worker processes (app/sessions/remote.py, app/training/pool.py,
app/training/worker.py); reads of a running session get a copy. Requests that drive a session
(step, edit, reset) run in Starlette's thread pool and take the session's lock; nothing here
runs on the event loop.

Restart recovery (promise 16): every saved session is listed again as ``paused``; its trainer is
rebuilt from the latest checkpoint and the steps stored after it on first use, and continues
bit-identically (app/sessions/recovery.py). A change the database refuses is a 507 and is undone
there. A graceful shutdown (:meth:`Manager.drain`) stops every run, checkpoints it with reason
``shutdown`` and ends every stream (promise 20).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from typing import Any

from app.core.errors import ApiError, Conflict, NotFound, engine_error, quota_error
from app.core.history import HistoryStore, open_store
from app.core.limits import build_trainer, check_config, check_optimizer, restore_trainer
from app.core.settings import Settings
from app.sessions.documents import Documents
from app.sessions.keyframes import Keyframe, every_for, step_keyed
from app.sessions.recovery import Recovery, step_sharing
from app.sessions.remote import RemoteRuns
from app.sessions.replicas import Replicas
from app.sessions.retention import Retention
from app.sessions.session import Session
from app.sessions.upkeep import Upkeep
from app.streaming.fanout import fanouts
from app.training import keyframe, messages
from app.training.backend import Backend
from app.training.backends import make_backend
from engine.config import LIVE_KEYS, merge_config
from engine.inspect import readouts


class Manager(RemoteRuns, Recovery, Replicas, Upkeep, Documents):
    """All sessions of this process, indexed by id."""

    def __init__(self, settings: Settings, loop: asyncio.AbstractEventLoop) -> None:
        self.settings = settings
        self.loop = loop
        self.sessions: dict[str, Session] = {}
        self.lock = threading.Lock()
        self.draining = False
        self._drain_lock = threading.Lock()
        self._start_repairs()
        # the three seams (app/core/history.py, app/training/backend.py,
        # app/streaming/fanout.py): the store is SQLite's or PostgreSQL's (open_store), the
        # training backend local workers or Ray actors (make_backend)
        self.store: HistoryStore = open_store(settings, on_failed=self._write_failed)
        self.retention = Retention(self.store, settings)
        self.fanout_link, self._make_hub = fanouts(settings.fanout)  # link: None, or Redis's
        self._open_sessions()  # every stored one (one process), or none yet (replicas)
        self.pool: Backend = make_backend(settings, self._on_worker_message, self._on_worker_lost)
        self.pool.warm(settings.warm_workers)
        self._stop = threading.Event()
        self._culler = threading.Thread(target=self._cull_loop, name="bpp-culler", daemon=True)
        self._culler.start()
        self._start_keeper()  # replicas: the leases renewed, dead replicas' runs taken over

    # ---- lifecycle -----------------------------------------------------------------------------

    def _new_session(self, **kw: Any) -> Session:
        hub = self._make_hub(
            kw["id"], self.settings.ring_size, self.store.max_seq(kw["id"]), self.loop
        )
        session = Session(hub=hub, store=self.store, **kw)
        hub.status = session.status_payload()
        hub.on_demand = lambda demand: self._demand_changed(session, demand)
        return session

    def close(self) -> None:
        """Drain (if not yet), stop the workers and the repairs, and flush the database."""
        self.drain()
        self._stop.set()
        self._stop_repairs()
        self.pool.close()
        self.store.close()
        if self.fanout_link is not None:
            self.fanout_link.close()

    # ---- lookup ---------------------------------------------------------------------------

    def get(self, session_id: str, owner: str | None) -> Session:
        session = self.sessions.get(session_id)
        # a foreign session is indistinguishable from a missing one (promise 10)
        if session is None or owner is None or not secrets.compare_digest(session.owner, owner):
            raise NotFound()
        session.last_seen = time.monotonic()
        return session

    def owned(self, owner: str | None) -> list[Session]:
        if owner is None:
            return []
        if self.leases is not None:
            return self.stored_of(owner)
        return sorted(
            (s for s in self.sessions.values() if s.owner == owner), key=lambda s: s.created
        )

    def load(self, session: Session) -> Any:
        """The session's trainer, rebuilt from its checkpoint if needed (call under its lock).

        While the session trains in a worker this is a copy (how recent: ``RemoteRuns._copy``):
        read it, never change it (:meth:`_local` brings the trainer itself back)."""
        copy = self._copy(session)
        if copy is not None:
            return copy
        if session.trainer is None:
            self._make_room(session)
            session.trainer = self._rebuild(session)
            session.refresh_counters()
        return session.trainer

    # ---- creating and deleting ------------------------------------------------------------

    def create(
        self, owner: str, config: dict[str, Any], name: str | None, trainer: Any = None
    ) -> Session:
        self._writable()
        retry = self.settings.cull_interval_seconds
        mine, stored = self.counts(owner)  # replicas: as stored, else held here
        if mine >= self.settings.max_sessions_per_owner:
            raise quota_error(
                "sessions",
                "max_sessions_per_owner",
                mine + 1,
                self.settings.max_sessions_per_owner,
                retry,
            )
        most = self.settings.max_sessions_total
        if stored >= most:
            raise quota_error("sessions", "max_sessions_total", stored + 1, most, retry)
        if trainer is None:
            trainer = build_trainer(config, self.settings)  # validates: a 422 unloads nothing
        self._make_room()
        session_id = secrets.token_urlsafe(18)  # 144 bits
        fence = self._take_new(session_id)  # replicas: its lease and fencing token
        session = self._new_session(
            id=session_id,
            owner=owner,
            name=name or f"session {mine + 1}",
            config=trainer.config,
            status="diverged" if trainer.status == "diverged" else "paused",
            generation=0,
            seq_base=0,
            counters={},
            created=time.time(),
        )
        session.trainer = trainer
        with session.lock:
            self._stored(
                session.emit(
                    [], session_row=True, checkpoint=True, event="event", status=True, urgent=True
                )
            )
        self._claim_new(session, fence)
        with self.lock:
            self.sessions[session_id] = session
        return session

    def delete(self, session: Session) -> None:
        with session.lock:
            self._local(session)
            session.deleted = True
            session.status = "deleted"
            with self.lock:
                self.sessions.pop(session.id, None)
            hub = session.hub
            write = self.store.submit(
                self.store.guarded(session, self.store.delete_session(session.id)),
                after=lambda: hub.close("deleted"),
                urgent=True,
                frees=True,  # tried on a full disk too: it gives room back
            )
            if not write.wait():  # still stored: it stays
                session.deleted, session.status = False, "paused"
                with self.lock:
                    self.sessions[session.id] = session
                self._stored(write)
        self.unload(session)

    # ---- driving ---------------------------------------------------------------------------

    def step(
        self,
        session: Session,
        count: int | None,
        unit: str | None,
        phase: str | None,
        include: frozenset[str],
    ) -> dict[str, Any]:
        with session.lock:
            self._writable()
            if session.status == "running":
                raise Conflict("session is running; pause it before stepping", field="status")
            t = self._local(session)
            if t.status == "diverged":
                raise Conflict("session diverged; reset it or change the config", field="status")
            done: dict[str, Any] | None = None
            every = every_for(t, self.settings)
            keys: list[Keyframe] = []  # replay's periodic keyframes (app/sessions/keyframes.py)
            if phase is not None:
                expected = t.phase["phase"]
                if phase not in (expected, "next"):
                    raise Conflict(
                        f"phase: the next phase is {expected!r}, not {phase!r}", field="phase"
                    )
                done = t.step_phase()
                records = list(t.history) if done["iteration_done"] else []
                if records and t.iteration % every == 0 and t.status == "ok":
                    keys = [(t.iteration, "step", keyframe.encode(t))]
            else:
                n = t.iterations_left if unit == "epoch" else count or 1
                records, keys = step_keyed(t, n, every, step_sharing)
            if t.status == "diverged":
                session.status, session.reason = "diverged", "diverged"
            changed = session.status == "diverged"
            metrics = readouts.metrics(t) if records else None
            self._stored(
                session.emit(
                    records,
                    metrics=metrics,
                    frame=self._frame_views(session),
                    forced_frame=True,
                    status=changed,
                    checkpoint=changed or self._due(session),
                    keyframes=keys,
                    urgent=True,
                )
            )
            return {
                "session": session.public(),
                "records": records,
                "ran": done,
                "state": readouts.snapshot(t, include),
            }

    def run(self, session: Session, steps: int | None, speed: float | None) -> Session:
        with session.lock:
            self._writable()
            if self.draining:
                raise ApiError(503, "the server is shutting down; run again once it is back")
            t = self.load(session)
            if t.status == "diverged":
                raise Conflict("session diverged; reset it or change the config", field="status")
            running = self.running_count()  # replicas: every replica's, as stored
            if session.status != "running" and running >= self.settings.max_running_total:
                raise quota_error(
                    "run",
                    "max_running_total",
                    running + 1,
                    self.settings.max_running_total,
                    self.settings.cull_interval_seconds,
                )
            handle = session.remote  # read first: a run ending until then wrote its own budget
            session.budget, session.speed = steps or self.settings.default_run_steps, speed
            self.noted_run(session)  # replicas: where it ends, should another one continue it
            if handle is not None:  # already running: a new budget and speed
                handle.post(messages.Budget(session.id, session.budget, speed))
                return session
            changed = session.status != "running"
            session.status, session.reason = "running", None
            if changed:
                self._stored(session.emit([], status=True, urgent=True))
            self._dispatch(session)
        return session

    def pause(self, session: Session, reason: str = "request") -> Session:
        with session.lock:
            self._local(session)
            if session.status == "running":
                session.status, session.reason = "paused", reason
                session.emit([], status=True, checkpoint=True, urgent=True).wait()
        return session

    def reset(
        self,
        session: Session,
        config: dict[str, Any] | None = None,
        changes: dict[str, Any] | None = None,
        trainer: Any = None,
    ) -> Session:
        """A fresh trainer (same or new config, with ``changes`` merged over it, or
        ``trainer`` itself: a race's run from the race's common start); step numbering
        continues in a new generation."""
        with session.lock:
            self._writable()
            if changes:
                config = merge_config(config if config is not None else session.config, changes)
                check_config(config, self.settings)
            old = self._local(session)
            if trainer is None:
                trainer = build_trainer(
                    config if config is not None else session.config, self.settings
                )
            session.seq_base = max(session.seq_base + old.iteration, session.hub.last_seq)
            session.generation += 1
            session.trainer, session.config = trainer, trainer.config
            session.status, session.reason, session.budget = "paused", "reset", 0
            self._stored(
                session.emit(
                    [],
                    status=True,
                    checkpoint=True,
                    event="event",
                    session_row=True,
                    frame=self._frame_views(session),
                    forced_frame=True,
                    urgent=True,
                )
            )
        return session

    def patch(
        self, session: Session, changes: dict[str, Any], name: str | None
    ) -> tuple[Session, bool, list[str]]:
        """Live hyper-parameter changes, or a reset when the model or data must change."""
        with session.lock:
            self._writable()
            if name is not None:
                session.name = name
            merged = merge_config(session.config, changes)
            check_config(merged, self.settings)
            check_optimizer(merged, int(session.counters.get("n_params", 0)), self.settings)
            changed = sorted(k for k in changes if merged.get(k) != session.config.get(k))
            if any(k not in LIVE_KEYS for k in changed):
                self.reset(session, merged)
                return session, True, changed
            if self._configure_remote(session, {k: changes[k] for k in changed}):
                return session, False, changed  # the run goes on, with the new settings
            t = self._local(session)
            revived = False
            if changed:
                try:
                    t.set_hparams({k: changes[k] for k in changed})
                except (ValueError, TypeError) as exc:
                    raise engine_error(exc) from None
                session.config = t.config
                if t.status == "diverged":
                    # the usual cure (a smaller learning rate) continues from the last finite
                    # weights rather than from scratch
                    state = dict(t.checkpoint(), status="ok", divergence=None)
                    session.trainer = restore_trainer(state, self.settings)
                    session.status, session.reason, revived = "paused", "revived", True
            self._stored(
                session.emit(
                    [],
                    session_row=True,
                    checkpoint=True,
                    # replay: the steps after this run with the change; a revived trainer is
                    # one restored from this very state
                    event="restore" if revived else "event" if changed else None,
                    status=revived,
                    urgent=True,
                )
            )
            if session.status == "running":
                self._dispatch(session)  # back to training, with the new settings
            return session, False, changed

    def set_weight(
        self, session: Session, layer: int, param: str, value: Any, index: list[int] | None
    ) -> dict[str, Any]:
        with session.lock:
            self._writable()
            t = self._local(session)
            try:
                t.net.set_weight(layer, param, value, tuple(index) if index is not None else None)
            except (ValueError, TypeError) as exc:
                raise engine_error(exc) from None
            self._stored(
                session.emit(
                    [],
                    frame=self._frame_views(session),
                    forced_frame=True,
                    checkpoint=True,
                    event="event",  # replay: the steps after this start from the edited weights
                    urgent=True,
                )
            )
            if session.status == "running":
                self._dispatch(session)
            return readouts.snapshot(t, frozenset())

    # ---- background work ----------------------------------------------------------------------

    def _frame_views(self, session: Session) -> frozenset[str] | None:
        return session.hub.demand.views

    def _due(self, session: Session) -> bool:
        return time.monotonic() - session.last_checkpoint >= self.settings.checkpoint_seconds
