"""Races over web replicas: a race is held where its sessions are held (app/sessions/
replicas.py; without replicas, one process loads every stored race at start and nothing else
here runs).

Lock-step (app/sessions/races.py ``_pace``) raises every run's step cap from one process, after
each batch of any run: so all of a race's sessions must be driven by one replica, and the race
with them. Hence:

* **No race list in a process.** A replica loads no race at start. The store is the list:
  ``GET /races`` reads the owner's rows, and each run's session as held here or as stored (a
  look, as ``Manager.stored_of`` gives the session list).
* **A request naming a race goes where its runs are** (app/api/forward.py matches
  ``/api/races/{id}…`` and the page ``/race/{id}``; :meth:`RaceHolding.route`). The replica
  reads the race's row, and who holds each run's session (one Redis round trip). Held by one
  other replica: the request is forwarded there. Free or held here: the runs' sessions are
  taken here in run order (``Manager.route``: each adopted from the store), the race is loaded
  from its row, and the request served. Taking them in run order makes two replicas that
  gather the same free race at once agree: the one that takes the first stored run has the
  race, and the other forwards to it when it finds that run held.
* **A run goes where its race is.** A run's session asked for by its own URL
  (``/api/sessions/{id}``) while free, when another replica holds a run of its race, is
  forwarded there instead of adopted here (app/sessions/replicas.py ``Manager.route``: the
  session's race is found in the store, ``race_with``, only when it is about to be adopted).
  The keeper that finds a dead replica's run (stored as running, its lease lapsed) takes its
  race (:meth:`RaceHolding.take_over`): gathered here in run order like any request's, so two
  or three surviving keepers agree as two requests do (whoever takes the first run has the
  race, the others leave it), or left to the replica that holds its other runs, whose keeper
  gathers it.
* **A gathered race's runs go on in lock-step.** Runs a gather adopts that their dead holder
  left running are not continued each on its own (``Manager._continue``) but together as a
  race run (:meth:`RaceHolding._resume`): each to the end seq its holder noted (``bpp:<id>:run``)
  from its checkpoint and the steps stored after it, all paced from one past the slowest of
  them. Their steps may differ then (each was stored up to its own last batch): the rule is
  lock-step's own, the lagging ones catch up first while the ones ahead wait at the cap, so
  from then on no run is more than one step ahead. The same holds for a race gathered by a
  request before any keeper looked.
* **A race not held here is dropped here.** When this replica stops holding a run's session
  (another one holds its lease now, its write was fenced, or the culler let it go idle:
  ``Manager._forfeit``, ``_let_go``), every race it loaded with that run is dropped and marked
  ``ended``: its streams (``/api/races/{id}/events``, which the race page reads) end without a
  ``close``, as a session's do when its hub ends, so the clients reconnect, land on the holder
  (forwarded) and go on from their ``Last-Event-ID``. A stale copy never streams on.
* **Split runs are refused, never driven apart: the last resort.** Sessions of one race can
  still end up held by two replicas (two requests racing past each other's look, a dead
  replica's runs taken by keepers that each found another run of it held, a race split when
  its replica lost only some of its leases). Lock-step cannot pace runs in two processes, so
  every request for such a race answers 409 naming ``race`` (and the run) until it heals; each
  session can still be used by its own URL meanwhile. It heals by itself: a replica lets go of
  a session it holds once it is idle and unloaded (the culler, ``idle_seconds``), and the next
  request for the race gathers it with the others. A keeper that finds a dead replica's race
  split takes the dead one's run alone, continued on its own.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from app.core.errors import ApiError
from app.sessions.manager import Manager
from app.sessions.session import Session

if TYPE_CHECKING:  # Race for the annotations only: races.py imports this module (its Races
    # is a RaceHolding), so importing it here would be a cycle
    from app.sessions.races import Race

log = logging.getLogger(__name__)


class RaceHolding:
    """Mixed into :class:`app.sessions.races.Races` (see the module docstring)."""

    manager: Manager
    races: dict[str, Race]
    lock: threading.Lock

    def _race_of(self, row: Any) -> Race:
        raise NotImplementedError

    def live(self, race: Race) -> list[Session]:
        raise NotImplementedError

    def _cap(self, race: Race, runs: list[Session]) -> None:
        raise NotImplementedError

    def _open_races(self) -> None:
        """One process: every stored race. Replicas: none (gathered where asked for), and the
        manager told of this (its keeper takes races over, its lost sessions drop them)."""
        self._gathering = threading.Lock()
        if self.manager.leases is not None:
            self.manager.races = self
            return
        for row in self.manager.store.races():
            race = self._race_of(row)
            self.races[race.id] = race

    def held(self, race_id: str) -> bool:
        """Is the race loaded here with every run's session held here (or deleted)? The
        forward middleware's fast path: no thread, no Redis."""
        race = self.races.get(race_id)
        sessions = self.manager.sessions
        return race is not None and all(
            r.session in sessions or r.session in race.gone for r in race.runs
        )

    def route(self, race_id: str) -> str | None:
        """Where a request for the race is served: None here (its sessions held here now and
        the race loaded, or not stored: a 404 here), else the URL of the replica holding its
        runs ("" when that replica has not said where it is for three leases: it is gone);
        409 naming ``race`` when two replicas hold its runs. A thread: it reads the store."""
        manager = self.manager
        leases = manager.leases
        if leases is None or self.held(race_id):
            return None
        with self._gathering:
            row = manager.store.race_row(race_id)
            if row is None:  # deleted (through another replica, maybe): forgotten here too
                with self.lock:
                    self.races.pop(race_id, None)
                return None
            race = self.races.get(race_id) or self._race_of(row)
            wanted = [r.session for r in race.runs if r.session not in race.gone]
            holders = leases.holders(wanted)
            others = {h for h in holders if h is not None and h != leases.token}
            if others:
                if len(others) == 1 and leases.token not in holders:
                    self._drop(race_id)  # held there: a copy here would go stale
                    return str(leases.url_of(others.pop()) or "")
                raise split(race, holders.index(next(iter(others))))
            return self._gather(race)

    def take_over(self, session_id: str) -> bool:
        """The keeper found ``session_id`` stored as running with its lease lapsed (its
        replica is gone): if it is a race's run, the race is gathered here (its runs
        continued in lock-step) or left to the replica holding its other runs. False: not a
        race's run, or its race is split (the caller takes the session alone)."""
        row = self.manager.store.race_with(session_id)
        if row is None:
            return False
        try:
            self.route(str(row["id"]))
        except ApiError as exc:
            if exc.status != 409:
                raise
            return False
        return True

    def let_go_of(self, session_id: str) -> None:
        """This replica holds ``session_id`` no more: every race loaded here with it as a run
        is dropped, its streams ended (see the module docstring)."""
        with self.lock:
            ids = [r.id for r in self.races.values()
                   if any(run.session == session_id for run in r.runs)]  # fmt: skip
        for race_id in ids:
            self._drop(race_id)

    def _drop(self, race_id: str) -> None:
        with self.lock:
            race = self.races.pop(race_id, None)
        if race is not None:
            race.ended = True

    def _gather(self, race: Race) -> str | None:
        """Take the race's sessions here in run order, then load the race (see the module
        docstring). Under ``_gathering``."""
        manager = self.manager
        here = False
        ids = [run.session for run in race.runs]
        for i, run in enumerate(race.runs):
            if run.session in race.gone:
                continue
            url = manager.route(run.session, gathering=True)
            if url is None and run.session not in manager.sessions:
                race.gone.add(run.session)  # its session was deleted alone (ids never return)
            elif url is None:
                here = True
            elif not here:  # another replica took the first run first: the race is there
                return url
            else:  # split: the runs taken here that were running go on alone (last resort)
                for s in manager.resumable(ids):
                    manager.continue_alone(s)
                raise split(race, i)
        with self.lock:
            self.races[race.id] = race
        left = manager.resumable(ids)
        if left:
            threading.Thread(
                target=self._resume, args=(race, left), name="bpp-take-over-race", daemon=True
            ).start()
        return None

    def _resume(self, race: Race, sessions: list[Session]) -> None:
        """Continue the runs a gather adopted that their dead holder left running, as one race
        run (see the module docstring; a thread: each rebuild replays its stored steps)."""
        manager = self.manager
        plans = []
        for s in sessions:
            with s.lock:
                left = manager.run_left(s)
            if left is not None:
                plans.append((s, *left))
        if not plans:
            return
        self._cap(race, [s for s, _, _ in plans])
        for s, steps, speed in plans:
            manager.go_on(s, steps, speed)
        log.warning("race %s: its replica stopped; %d runs taken over in lock-step",
                    race.id, len(plans))  # fmt: skip

    def stored_races(self, owner: str) -> list[Race]:
        """The owner's races as stored, oldest first (the one loaded here where it is)."""
        return [
            self.races.get(row["id"]) or self._race_of(row)
            for row in self.manager.store.races(owner)
        ]


def split(race: Race, index: int) -> ApiError:
    exc = ApiError(
        409,
        f"race: run {index}'s session is held by another web replica than the race's other runs"
        " (lock-step paces its runs in one process); it joins them once that replica lets it"
        " go (idle), and each run can be used by its own session's URL meanwhile",
        field="race",
    )
    exc.body["run"] = index
    return exc
