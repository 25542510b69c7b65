"""Putting a session back to what the database holds: after a restart, a lost training worker,
or a write the database refused.

The rule (README "Reliability", RELIABILITY.md promises 15, 18, 19): **the database is the
truth, and history never runs ahead of the trainer.**

* A trainer is rebuilt from the session's latest checkpoint and then **replays** the steps the
  history holds after it (training is deterministic: the same batches, the same numbers),
  checking each replayed loss against the stored one bit for bit. So a kill -9, a lost worker or
  a SIGKILL loses no step that was stored (and every step a client was shown was stored first).
* If a replayed step disagrees with its stored row (or cannot be replayed), the rows from that
  step on are deleted in one transaction, and then the stream hub is cut back to the last
  agreeing step: connected and resuming clients past it get a ``status`` event with ``reason:
  "rewound"`` and ``seq`` (app/streaming/hub.py), so ``seq`` never goes backwards unannounced.
* A failed write (a full or read-only disk: app/core/writer.py) leaves the database a prefix of what
  was submitted. The session it belonged to is **resynced**: its run stops, its in-memory state
  (config, name, counters, trainer) is dropped for the database's, and it pauses with reason
  ``storage``; its trainer is rebuilt (and replayed) when next used. A session whose creation
  never reached the disk is forgotten.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from typing import Any

from app.core.errors import ApiError
from app.core.history import HistoryStore
from app.core.limits import build_trainer, restore_trainer
from app.core.settings import Settings
from app.core.writer import Write
from app.sessions.session import Session

log = logging.getLogger(__name__)
REPAIR_RETRY_SECONDS = 1.0

REPLAY_CHUNK = 2000  # stored rows read (and steps replayed) at a time
SHARE_SLICE = 0.004  # seconds of training between two pauses (step_sharing)
SHARE_PAUSE = 0.001


def step_sharing(t: Any, n: int) -> list[dict[str, Any]]:
    """``t.step(n)`` in the web process, in slices of about ``SHARE_SLICE`` seconds with a
    pause between: training holds the GIL, and the event loop (healthz, every stream) needs it
    a few dozen times per request — one long ``step`` stalled healthz by 100 ms."""
    records: list[dict[str, Any]] = []
    k = 8
    while len(records) < n and t.status == "ok":
        t0 = time.perf_counter()
        got = t.step(min(k, n - len(records)))
        records += got
        spent = time.perf_counter() - t0
        if got:
            k = max(1, int(k * min(2.0, SHARE_SLICE / max(spent, 1e-6))))
        if len(records) < n:
            time.sleep(SHARE_PAUSE)  # between slices only: a short step pays nothing
    t.history = records
    return records


def same_loss(stored: float | None, replayed: float) -> bool:
    """Stored losses are float64 (SQLite REAL) or NULL for a non-finite one."""
    if stored is None:
        return not math.isfinite(replayed)
    return stored == replayed


class Recovery:
    """Mixed into the manager, which provides ``store``, ``settings``, ``sessions``, ``lock``
    and ``_recall`` (stop a session's run in its worker, dropping the trainer there)."""

    store: HistoryStore
    settings: Settings
    sessions: dict[str, Session]
    lock: threading.Lock

    # a session whose write was fenced: stop driving it (app/sessions/fencing.py, replicas)
    _fence_lost: Callable[[str, str], None]

    def _recall(self, s: Session) -> None:
        raise NotImplementedError

    def _new_session(self, **kw: Any) -> Session:
        raise NotImplementedError

    # ---- after a restart -----------------------------------------------------------------------

    def _recover(self) -> None:
        """List every stored session again, paused (promise 16); runs that were going when the
        server stopped say ``restart``, graceful stops ``shutdown``."""
        for row in self.store.sessions():
            s = self._session_of(row)
            if row["status"] == "running":
                self.store.submit([self.store.mark_restarted(s.id)])
            self.sessions[s.id] = s

    def _session_of(self, row: Any, hub: Any = None) -> Session:
        """A stored session as it was stored, paused: a run that was going says ``restart``
        (whoever continues it says so). With ``hub``, a look at it through that fan-out
        (app/sessions/replicas.py), not a session of this process."""
        fields: dict[str, Any] = {
            "id": row["id"],
            "owner": row["owner"],
            "name": row["name"],
            "config": {},
            "status": "paused",
            "generation": row["generation"],
            "seq_base": row["seq_base"],
            "counters": {},
            "created": row["created"],
        }
        s = (
            self._new_session(**fields)
            if hub is None
            else Session(hub=hub, store=self.store, **fields)
        )
        self._adopt_row(s, row)
        if row["status"] == "running":
            s.reason = "restart"
        s.show()
        if hub is None:  # a followed one's status is what its fan-out says (Redis)
            s.hub.status = s.status_payload()
        return s

    # ---- rebuilding a trainer ----------------------------------------------------------------

    def _rebuild(self, s: Session) -> Any:
        """The session's trainer from its checkpoint, caught up with its stored history (call
        under the lock)."""
        if s.last_write is not None:
            s.last_write.done.wait(30)  # this session's queued rows are in (or failed)
        state = self.store.checkpoint(s.id)

        def start() -> Any:
            if state is None:
                return build_trainer(s.config, self.settings)
            return restore_trainer(state, self.settings)

        t = start()
        first = t.iteration
        bad = self._replay(s, t)
        if bad is not None:
            # rebuild to just before the disagreeing step (rare: it takes a second replay)
            t = start()
            step_sharing(t, max(0, bad - s.seq_base - 1 - first))
            self._cut(s, s.seq_base + t.iteration)
        return t

    def _replay(self, s: Session, t: Any) -> int | None:
        """Step ``t`` through the stored rows after it; the seq of the first row that it does
        not reproduce, or None when all agree."""
        after = s.seq_base + t.iteration
        while True:
            rows = self.store.losses_after(s.id, s.generation, after, REPLAY_CHUNK)
            if not rows:
                return None
            records = step_sharing(t, len(rows))
            for i, (seq, step, loss) in enumerate(rows):
                if i >= len(records):
                    return seq
                rec = records[i]
                if rec["step"] != step or not same_loss(loss, rec["loss"]):
                    log.warning(
                        "session %s: stored step %d disagrees with its replay; history cut"
                        " back to step %d",
                        s.id,
                        step,
                        step - 1,
                    )
                    return seq
            after = rows[-1][0]

    def _cut(self, s: Session, keep: int) -> None:
        """Delete the session's history after seq ``keep``, then cut its hub back (rewound)."""
        s.counters = dict(s.counters, iteration=keep - s.seq_base)
        payload = s.status_payload()
        hub = s.hub
        write = self.store.submit(
            self.store.guarded(s, [self.store.cut_history(s.id, keep)]),
            after=lambda: hub.rewind(keep, payload),
            urgent=True,
            session_id=s.id,
            frees=True,
        )
        s.last_write = write
        write.wait()

    # ---- after a failed write ------------------------------------------------------------------

    def _start_repairs(self) -> None:
        self._repairs: dict[str, str] = {}  # session id → cause
        self._fenced: dict[str, str] = {}  # session id → cause, of writes fenced (replicas)
        self._fences_lost: set[str] = set()  # the causes logged (app/sessions/fencing.py)
        self._repair_wake = threading.Event()
        self._repair_stop = threading.Event()
        self._repairer = threading.Thread(target=self._repair_loop, name="bpp-repair", daemon=True)
        self._repairer.start()

    def _stop_repairs(self) -> None:
        self._repair_stop.set()
        self._repair_wake.set()
        self._repairer.join(timeout=30)

    def _write_failed(self, write: Write) -> None:
        """A write the database refused (the writer thread: only queue the repair here)."""
        with self.lock:
            if write.fenced and write.session_id is not None:  # another replica's now
                self._fenced[write.session_id] = write.error or ""
            elif write.session_id is not None:
                self._repairs.setdefault(write.session_id, write.error or "")
            if self.store.failing:
                # every run stops: its batches could not be kept anyway
                for s in self.sessions.values():
                    if s.status == "running":
                        self._repairs.setdefault(s.id, self.store.failing)
        self._repair_wake.set()

    def _repair_loop(self) -> None:
        retry = False
        while not self._repair_stop.is_set():
            # a repair the database could not answer is tried again a second later
            self._repair_wake.wait(REPAIR_RETRY_SECONDS if retry else None)
            self._repair_wake.clear()
            with self.lock:
                todo, self._repairs = self._repairs, {}
                fenced, self._fenced = self._fenced, {}
            for sid, cause in fenced.items():
                try:
                    self._fence_lost(sid, cause)
                except Exception:
                    log.exception("could not stop driving fenced session %s", sid)
            retry = False
            for sid, cause in todo.items():
                s = self.sessions.get(sid)
                if s is not None:
                    try:
                        self._resync(s, cause)
                    except ApiError:  # unreadable too (PostgreSQL down): it was held
                        with self.lock:
                            self._repairs.setdefault(sid, cause)
                        retry = True
                    except Exception:
                        log.exception("could not resync session %s", sid)

    def _resync(self, s: Session, cause: str) -> None:
        """Drop what the session holds in memory for what the database holds (see the module
        docstring); tell its clients why it stopped."""
        with s.lock:
            if s.deleted:
                return
            self._recall(s)
            if s.last_write is not None:
                s.last_write.done.wait(30)
            # the cause, not whether the database refuses now: a repair that waited for
            # PostgreSQL to answer again finds the storage episode over (what the clients were
            # told, before the stored row replaces the session's status and reason)
            told = (s.status, s.reason) == ("paused", "storage")
            try:
                row = self.store.session_row(s.id)
                if row is not None:
                    self._adopt_row(s, row)
            except ApiError:
                # the database cannot be read either (PostgreSQL down, app/core/pgstore.py):
                # stop here and tell the clients; the repair is retried until it answers
                if (s.status, s.reason) != ("paused", "storage"):  # told once, not per retry
                    s.status, s.reason = "paused", "storage"
                    # what it shows is what was stored: the steps published (after commit)
                    s.counters = dict(s.counters, iteration=s.hub.last_seq - s.seq_base)
                    self._dropped(s, cause)
                raise
            if row is None:  # its creation was never stored
                s.deleted = True
                with self.lock:
                    self.sessions.pop(s.id, None)
                s.hub.close("deleted")
                return
            s.reason = "storage" if self.store.failing or told else "write failed"
            self._dropped(s, cause)

    @staticmethod
    def _dropped(s: Session, cause: str) -> None:
        """The session's trainer dropped (rebuilt from the database when next used); its
        clients told why it stopped."""
        s.trainer = s.copy = s.returned = None
        s.points = {}
        s.show()
        # published at once, not after a commit: it reports that nothing can be committed
        s.hub.publish([], status={**s.status_payload(), "storage": cause})

    def _adopt_row(self, s: Session, row: Any) -> None:
        """Session fields from its database row; counters from its newest step record."""
        s.config = json.loads(row["config"])
        s.name = row["name"]
        s.generation, s.seq_base = row["generation"], row["seq_base"]
        s.status = "paused" if row["status"] in ("running", "paused") else row["status"]
        s.reason = row["reason"]
        s.counters = self._counters(s.id, row)
        s.hub.window_start = row["full_from"]

    def _counters(self, sid: str, row: Any) -> dict[str, Any]:
        """The row's counters, moved up to its newest step record (the counters are written
        with checkpoints and status changes; the history can be further on)."""
        counters: dict[str, Any] = json.loads(row["counters"])
        last = self.store.last_row(sid, row["generation"])
        if last is not None and last["step"] > int(counters.get("iteration", 0)):
            counters.update(iteration=last["step"], epoch=last["epoch"], loss=last.get("loss"))
        return counters

    def _writable(self) -> None:
        """Refuse a change while the database refuses writes (507, naming the cause)."""
        cause = self.store.failing
        if cause is not None:
            raise ApiError(
                507,
                f"storage: the database cannot be written ({cause}); nothing was changed."
                " Sessions can still be read, paused and deleted.",
                field="storage",
            )

    def _stored(self, write: Write) -> None:
        """Wait for a request's write; a failure is a 507 (its session is being resynced)."""
        if not write.wait():
            self._writable()
            raise ApiError(507, f"storage: {write.error or 'the write timed out'}", field="storage")
