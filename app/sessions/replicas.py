"""Stateless web replicas: N web processes over one PostgreSQL, one Redis and one Ray cluster
behave as one server (``settings.replicas``: on when the store, the fan-out and the training
backend are all the cluster's; the embedded default keeps one process's restart recovery).

The design (README "Running on a cluster"):

* **The store is the session list.** No replica lists the stored sessions at start. A request
  for a session this replica does not hold takes the session's lease if it is free and adopts
  the session from its stored row (app/sessions/recovery.py ``_session_of``: its trainer is
  rebuilt on first use, as after a restart); ``Manager.sessions`` holds the sessions this
  replica holds, nothing else.
* **One driver per session: a lease in Redis** (app/sessions/leases.py), renewed every quarter of
  ``lease_seconds`` by a thread here that does nothing else (so no slow take-over delays it).
  Requests for a session another live replica holds are forwarded to it (app/api/forward.py), so
  its trainer, actor, page feed and locks stay in one process: nothing is stored or shown twice,
  and a script's step, run, PATCH or read mean what they mean on one server. The JSON stream is
  the exception: any replica follows any session through Redis (``followed``, fan-outs that read
  the session's streams).
* **A dead holder's runs go on elsewhere.** Each take-over pass (another thread) lists the
  sessions stored as running; one whose lease has been missing for half a lease's time (so its
  holder, if alive, had two renewals to put it back) is taken by the first replica to ask, rebuilt
  from its checkpoint and the stored steps after it (bit for bit), and run on to the end seq its
  holder noted (``bpp:<id>:run``) in a new actor: the old one belonged to the dead process.
  Clients resume with ``Last-Event-ID``: every step once.
* A replica that finds another one now holds a session it held (it could not renew for a
  lease's time) stops driving it at once; one that stalled past its lease (a GC or VM pause)
  finds its writes of the session fenced by the store and stops driving it then
  (app/sessions/fencing.py): one writer of a session's history, whatever the clocks say.
* An idle session this replica unloads (the culler) is let go: its lease is freed.
* A race is held where its runs' sessions are, gathered here when they are free
  (app/sessions/race_replicas.py). So a run's own session asked for while free, when another
  replica holds its race's other runs, is forwarded there rather than adopted here; a take-over
  pass takes a dead replica's run with its race's other runs (the race gathered, its runs continued
  in lock-step); and a session this replica stops holding drops the races it ran in here.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol

from app.core.errors import ApiError
from app.core.history import HistoryStore
from app.core.settings import Settings
from app.sessions.fencing import Fencing
from app.sessions.session import Session
from app.streaming.hub import Hub
from app.training.output import Batch

log = logging.getLogger(__name__)

LEASES_MODULE = "app.sessions.leases"  # imports redis-py: only when replicas are on
FOLLOWED_SECONDS = 30.0  # a followed session nobody streams is forgotten after this


class RaceHooks(Protocol):
    """What the manager asks of the races over replicas (app/sessions/race_replicas.py)."""

    def take_over(self, session_id: str) -> bool: ...

    def let_go_of(self, session_id: str) -> None: ...


class Replicas(Fencing):
    """Mixed into the manager (see the module docstring); its sessions' writes are fenced
    (app/sessions/fencing.py)."""

    settings: Settings
    store: HistoryStore
    sessions: dict[str, Session]
    lock: threading.Lock
    loop: asyncio.AbstractEventLoop
    fanout_link: Any
    _stop: threading.Event
    draining: bool
    leases: Any = None  # app/sessions/leases.py Leases, when replicas are on
    # told of each session adopted here (the page's settings: app/page/ui_store.py, main.py)
    on_adopt: Callable[[Session], None] | None = None
    races: RaceHooks | None = None  # replicas: the races (app/sessions/race_replicas.py)

    def run(self, session: Session, steps: int | None, speed: float | None) -> Session:
        raise NotImplementedError

    def _recover(self) -> None:
        raise NotImplementedError

    def owned(self, owner: str | None) -> list[Session]:
        raise NotImplementedError

    def _recall(self, s: Session) -> None:
        raise NotImplementedError

    def _stored(self, write: Any) -> None:
        raise NotImplementedError

    def _session_of(self, row: Any, hub: Any = None) -> Session:
        raise NotImplementedError

    # ---- starting ----------------------------------------------------------------------------

    def _open_sessions(self) -> None:
        """One process: every stored session listed again (app/sessions/recovery.py). Replicas:
        none (adopted when asked for), and this replica's leases."""
        self.followed: dict[str, Session] = {}
        if not self.settings.replicas:
            self._recover()
            return
        url = self.settings.replica_url
        if url is None:  # an app run without app.serve (in-process): no other replica can
            # reach it, so it serves alone; the others wait for its leases to lapse
            log.warning("replica_url unset (BPP_REPLICA_URL): other replicas cannot forward here")
            url = ""
        self._leases_module = importlib.import_module(LEASES_MODULE)
        self.leases = self._leases_module.Leases(self.fanout_link, url, self.settings.lease_seconds)
        self._adopting = threading.Lock()
        self._suspects: dict[str, float] = {}
        self._unresumed: set[str] = set()  # adopted by a race's gather, left running

    def _start_keeper(self) -> None:
        """Two threads, each a pass every quarter of a lease: the leases renewed, and dead
        replicas' runs taken over. Apart, because a take-over (a claim the store may make wait,
        a rebuild) can take longer than a lease, and a renewal waiting behind it would let
        this replica's own leases lapse: its sessions taken by others while it lives."""
        if self.leases is None:
            return
        every = self.settings.lease_seconds / 4
        for name, work in (("bpp-leases", self._renew), ("bpp-take-over", self._take_orphans)):
            threading.Thread(target=self._every, args=(every, work), name=name, daemon=True).start()

    # ---- where a request is served -----------------------------------------------------------

    def route(self, session_id: str, gathering: bool = False) -> str | None:
        """Where a request for the session is served: None here (held here, taken now, or not
        stored: a 404 here), else the URL of the replica holding it ("" when that replica has
        not said where it is for three leases: it is gone). A free session that is a race's
        run whose other runs another replica holds is served there, not taken here: lock-step
        paces a race's runs in one process (:meth:`_race_there`); ``gathering``: asked by the
        race's own gather, which looked already. A thread: it may read the store."""
        leases = self.leases
        if leases is None or session_id in self.sessions:
            return None
        with self._adopting:
            if session_id in self.sessions:
                return None
            holder = leases.take(session_id)
            if holder is None:
                try:
                    there = None if gathering else self._race_there(session_id)
                    if there is not None:
                        leases.release(session_id)
                        return there
                    self._adopt(session_id, alone=not gathering)
                except BaseException:
                    leases.release(session_id)
                    raise
                return None
        return str(leases.url_of(holder) or "")

    def _race_there(self, session_id: str) -> str | None:
        """The URL of another replica holding a run of the session's race (the first such run's
        holder), if any. The race is found in the store (``race_with``: the races' rows are
        the truth wherever the race was made or gathered, and a session's race is looked up
        only when the session is about to be adopted: once, not per request)."""
        row = self.store.race_with(session_id)
        if row is None:
            return None
        others = [r["session"] for r in json.loads(row["runs"]) if r["session"] != session_id]
        for holder in self.leases.holders(others):
            if holder is not None and holder != self.leases.token:
                return str(self.leases.url_of(holder) or "")
        return None

    def _adopt(self, session_id: str, alone: bool = True) -> None:
        """The stored session, held here from now on (its lease taken); a run its last holder
        left going goes on (:meth:`_continue`), unless a race's gather adopts it (not
        ``alone``): the race continues its runs together (:meth:`resumable`). Under
        ``_adopting``. Claimed in the store first (app/sessions/fencing.py): what is read
        after it, no stale holder changes."""
        fence = self._claim(session_id)
        row = None if fence is None else self.store.session_row(session_id)
        if fence is None or row is None:
            self.leases.release(session_id)
            return
        s = self._session_of(row)
        s.fence = fence
        if self.on_adopt is not None:
            try:
                self.on_adopt(s)
            except ApiError as exc:  # Redis out of reach: the page starts from its defaults
                log.warning("session %s: %s", session_id, exc.body.get("detail"))
        with self.lock:
            self.sessions[session_id] = s
        if row["status"] == "running" and alone:
            self.continue_alone(s)
        elif row["status"] == "running":
            with self.lock:
                self._unresumed.add(session_id)

    def resumable(self, session_ids: list[str]) -> list[Session]:
        """Those of ``session_ids`` a race's gather adopted here with a run their holder left
        going, each handed out once (the race continues them: app/sessions/race_replicas.py)."""
        with self.lock:
            out = [self.sessions[i] for i in session_ids
                   if i in self._unresumed and i in self.sessions]  # fmt: skip
            self._unresumed.difference_update(session_ids)
        return out

    def continue_alone(self, s: Session) -> None:
        """Continue the session's run on its own (:meth:`_continue`, in its own thread)."""
        threading.Thread(
            target=self._continue, args=(s,), name="bpp-take-over", daemon=True
        ).start()

    def _continue(self, s: Session) -> None:
        """Run on a session whose holder left it running, up to the end seq it noted (its own
        thread: the rebuild replays the steps stored after the checkpoint)."""
        with s.lock:
            left = self.run_left(s)
            if left is not None:
                self.go_on(s, *left)

    def run_left(self, s: Session) -> tuple[int, float | None] | None:
        """``(steps, speed)`` left of the run the session's last holder left going, up to the
        end seq it noted; None when there is nothing to continue (then stored as finished, or
        paused). Under the session's lock."""
        if s.deleted or s.status != "paused" or s.reason != "restart":
            return None  # changed meanwhile
        try:
            noted = self.leases.run_of(s.id)
            if noted is not None and noted[0] > s.seq:
                return noted[0] - s.seq, noted[1]
            s.status, s.reason = ("finished", "budget") if noted else ("paused", "restart")
        except ApiError as exc:  # Redis out of reach: it stays paused
            log.warning("session %s: run not taken over: %s", s.id, exc)
        self._stored(s.record(Batch(), status=True, urgent=True))
        return None

    def go_on(self, s: Session, steps: int, speed: float | None) -> None:
        """Run on a session its last holder left running (:meth:`run_left` gave the steps)."""
        try:
            self.run(s, steps, speed)
            log.warning("session %s: its replica stopped; run taken over at seq %d", s.id, s.seq)
        except ApiError as exc:  # a quota, storage, shutting down: it stays paused
            log.warning("session %s: run not taken over: %s", s.id, exc)
            with s.lock:
                s.status, s.reason = "paused", "restart"
                self._stored(s.record(Batch(), status=True, urgent=True))

    def noted_run(self, s: Session) -> None:
        """Note where the session's run ends, for a replica that may have to continue it."""
        if self.leases is not None:
            self.leases.set_run(s.id, s.seq + s.budget, s.speed)

    # ---- the JSON stream anywhere --------------------------------------------------------------

    def follow_ready(self, session_id: str) -> None:
        """Make ready what ``/events`` of the session follows here: the session held here, else
        one followed through Redis (the stream's owner check comes after). A thread."""
        if self.leases is None or session_id in self.sessions:
            return
        s = self.followed.get(session_id)
        if s is not None:
            s.last_seen = time.monotonic()
            return
        row = self.store.session_row(session_id)
        if row is None:
            return
        hub = self._leases_module.follower_hub(
            self.fanout_link, session_id, self.settings.ring_size,
            self.store.max_seq(session_id), self.loop,
        )  # fmt: skip
        with self._adopting:
            if session_id not in self.followed:
                self.followed[session_id] = self._session_of(row, hub)

    def streamed(self, session_id: str) -> Session | None:
        """The session a stream of ``session_id`` follows here, if any."""
        return self.sessions.get(session_id) or self.followed.get(session_id)

    # ---- listing and counting ------------------------------------------------------------------

    def counts(self, owner: str) -> tuple[int, int]:
        """(the owner's sessions, every session): as stored with replicas, else held here."""
        if self.leases is not None:
            return self.store.session_count(owner), self.store.session_count()
        return len(self.owned(owner)), len(self.sessions)

    def running_count(self) -> int:
        """Sessions running: every replica's (as stored) with replicas, else this process's."""
        if self.leases is not None:
            return len(self.store.running_ids())
        return sum(1 for s in self.sessions.values() if s.status == "running")

    def stored_of(self, owner: str) -> list[Session]:
        """The owner's sessions, wherever they are held: held here as they are, the others as
        stored (a look only: never driven)."""
        out = []
        for row in self.store.sessions(owner):
            held = self.sessions.get(row["id"])
            look = Hub(16, 0, self.loop)
            out.append(held if held is not None else self._session_of(row, look))
        return out

    # ---- the keeper --------------------------------------------------------------------------

    def _every(self, every: float, work: Callable[[], None]) -> None:
        """``work()`` on a beat of ``every`` seconds: a slow pass makes the next one come at
        once rather than a whole beat after it (one that overran the beat is not made up)."""
        failing = False  # an outage is logged once at each end, not every pass
        due = time.monotonic()
        while True:
            due = max(due + every, time.monotonic())
            if self._stop.wait(due - time.monotonic()):
                return
            try:
                work()
            except ApiError as exc:  # Redis or PostgreSQL out of reach: tried again next time
                if not failing:
                    log.warning("replica upkeep: %s", exc.body.get("detail"))
                failing = True
                continue
            except Exception:
                log.exception("replica upkeep failed")
            if failing:
                log.warning("replica upkeep: going again")
            failing = False

    def _renew(self) -> None:
        """Renew this replica's leases; a session another replica holds now is forfeited on a
        thread of its own (it waits for the session's lock, which a request may hold)."""
        if self.draining:
            return  # handed over: this replica renews and takes nothing any more
        for sid in self.leases.renew(list(self.sessions)):
            forfeit = threading.Thread(target=self._forfeit, args=(sid,), name="bpp-forfeit")
            forfeit.daemon = True
            forfeit.start()

    def _take_orphans(self) -> None:
        """Take over the runs stored as running whose lease has been free for half a lease's
        time (their replica died); forget followed sessions nobody streams."""
        if self.draining:
            return
        orphans = [sid for sid in self.store.running_ids() if sid not in self.sessions]
        now = time.monotonic()
        free = self.leases.free(orphans) if orphans else []
        self._suspects = {sid: self._suspects.get(sid, now) for sid in free}
        for sid, since in list(self._suspects.items()):
            if now - since >= self.settings.lease_seconds / 2:
                # a race's run: taken with the race's other runs (the race gathered here, or
                # left to the replica holding them); else alone, unless another was first
                if self.races is None or not self.races.take_over(sid):
                    self.route(sid)
                self._suspects.pop(sid, None)
        for sid, s in list(self.followed.items()):
            if not s.hub.watched and now - s.last_seen > FOLLOWED_SECONDS:
                self.followed.pop(sid, None)

    def _forfeit(self, session_id: str) -> None:
        """Another replica holds the session now: stop driving it here, writing nothing."""
        with self.lock:
            s = self.sessions.pop(session_id, None)
        if s is None:
            return
        log.warning("session %s: another replica holds it now; stopped here", session_id)
        with s.lock:
            s.deleted = True  # its actor's last batches are dropped (app/sessions/remote.py)
            self._recall(s)
        if self.races is not None:  # a race it runs in is not held here any more either
            self.races.let_go_of(session_id)

    def _let_go(self, s: Session) -> None:
        """An idle session unloaded: held here no more, its lease free for whoever asks."""
        if self.leases is None:
            return
        with s.lock:
            if s.deleted or s.remote is not None or s.status == "running" or s.hub.watched:
                return
            with self.lock:
                self.sessions.pop(s.id, None)
        self.leases.release(s.id)
        if self.races is not None:
            self.races.let_go_of(s.id)

    def _hand_over(self, sessions: list[Session]) -> None:
        """Shutting down (its runs checkpointed and still stored as running): every lease
        freed, so the other replicas take the runs over within a lease's time, as from a
        replica that died, but from a checkpoint at their last step."""
        if self.leases is None:
            return
        for s in sessions:
            try:
                self.leases.release(s.id)
            except ApiError:  # Redis out of reach: the lease lapses by itself
                return
