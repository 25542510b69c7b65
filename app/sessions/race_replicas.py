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
* **Split runs are refused, never driven apart.** Sessions of one race can end up held by two
  replicas: a run's session asked for by its own URL (``/api/sessions/{id}``) while free lands
  on another replica, or the keepers of three or more replicas share a dead replica's runs.
  Lock-step cannot pace runs in two processes, so every request for such a race answers 409
  naming ``race`` (and the run) until it heals; each session can still be used by its own
  URL meanwhile. It heals by itself: a replica lets go of a session it holds once it is idle
  and unloaded (the culler, ``idle_seconds``), and the next request for the race gathers it
  with the others.
* A replica's loss: its races' runs are taken over as any session's (each run on its own from
  its checkpoint, not in lock-step, to the end its holder noted); the next race run, wherever
  the race is gathered, is in lock-step again.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from app.core.errors import ApiError

if TYPE_CHECKING:
    from app.sessions.manager import Manager
    from app.sessions.races import Race


class RaceHolding:
    """Mixed into :class:`app.sessions.races.Races` (see the module docstring)."""

    manager: Manager
    races: dict[str, Race]
    lock: threading.Lock

    def _race_of(self, row: Any) -> Race:
        raise NotImplementedError

    def _open_races(self) -> None:
        """One process: every stored race. Replicas: none (gathered where asked for)."""
        self._gathering = threading.Lock()
        if self.manager.leases is not None:
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
        runs ("" when that replica has not said where it is for a lease's time: it is gone);
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
                    with self.lock:  # held there: a copy here would go stale
                        self.races.pop(race_id, None)
                    return str(leases.url_of(others.pop()) or "")
                raise split(race, holders.index(next(iter(others))))
            return self._gather(race)

    def _gather(self, race: Race) -> str | None:
        """Take the race's sessions here in run order, then load the race (see the module
        docstring). Under ``_gathering``."""
        manager = self.manager
        here = False
        for i, run in enumerate(race.runs):
            if run.session in race.gone:
                continue
            url = manager.route(run.session)
            if url is None and run.session not in manager.sessions:
                race.gone.add(run.session)  # its session was deleted alone (ids never return)
            elif url is None:
                here = True
            elif not here:  # another replica took the first run first: the race is there
                return url
            else:
                raise split(race, i)
        with self.lock:
            self.races[race.id] = race
        return None

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
