"""A race's runs move between web replicas together (app/sessions/race_replicas.py,
app/sessions/replicas.py): a free run asked for by its own URL goes to the replica holding its
race; the keepers of two surviving replicas take a dead replica's race whole, one of them, and
continue its runs as one race run in lock-step; a replica that stops holding a run drops the
race and ends its streams. Over the real ``Replicas`` and ``Races`` code with fake leases, a
fake store and fake sessions (the cluster test drives the real ones:
tests/system/cluster/test_web_replicas.py)."""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace
from typing import Any

from faulttools import wait_for

from app.core.settings import Settings
from app.sessions.races import Races
from app.sessions.replicas import Replicas

RUNS = ["s" * 24, "t" * 24, "u" * 24]
RACE = "r" * 16
END = 100  # the end seq the dead holder noted for every run


class SharedState:
    """Redis as the replicas share it: who holds each lease, and each run's noted end."""

    def __init__(self, held: dict[str, str] | None = None) -> None:
        self.held = dict(held or {})
        self.lock = threading.Lock()


class FakeLeases:
    def __init__(self, shared: SharedState, token: str) -> None:
        self.shared, self.token = shared, token

    def take(self, sid: str) -> str | None:
        with self.shared.lock:
            holder = self.shared.held.setdefault(sid, self.token)
        return None if holder == self.token else holder

    def release(self, sid: str) -> None:
        with self.shared.lock:
            if self.shared.held.get(sid) == self.token:
                del self.shared.held[sid]

    def holders(self, ids: list[str]) -> list[str | None]:
        return [self.shared.held.get(i) for i in ids]

    def free(self, ids: list[str]) -> list[str]:
        return [i for i in ids if i not in self.shared.held]

    def renew(self, ids: list[str]) -> set[str]:
        return {i for i in ids if self.shared.held.get(i, self.token) != self.token}

    def url_of(self, token: str) -> str:
        return f"http://{token}"

    def run_of(self, sid: str) -> tuple[int, float | None]:
        return END, 50.0


class FakeStore:
    """One race of three runs, each stored as running (their replica died) at ``seqs``."""

    def __init__(self, seqs: dict[str, int]) -> None:
        self.seqs = seqs
        self.race = {"id": RACE, "owner": "o", "name": "race", "config": "{}", "created": 1.0,
                     "runs": json.dumps([{"name": f"n{i}", "changes": {}, "session": s}
                                         for i, s in enumerate(RUNS)])}  # fmt: skip
        self.orphans: list[str] = []  # what ``running_ids`` lists to a keeper

    def race_row(self, rid: str) -> Any:
        return self.race if rid == RACE else None

    def race_with(self, sid: str) -> Any:
        return self.race if sid in RUNS else None

    def races(self, owner: str | None = None) -> list[Any]:
        return [self.race]

    def session_row(self, sid: str) -> Any:
        return {"id": sid, "status": "running"} if sid in self.seqs else None

    def running_ids(self) -> list[str]:
        return list(self.orphans)


class Replica(Replicas):
    """The real routing, adoption, keeper and forfeit code; sessions, claims, runs faked."""

    def __init__(self, token: str, shared: SharedState, store: FakeStore) -> None:
        self.settings = Settings(lease_seconds=2)
        self.store = store  # type: ignore[assignment]
        self.sessions = {}
        self.lock = threading.Lock()
        self.draining = False
        self.followed = {}
        self.leases = FakeLeases(shared, token)
        self._adopting = threading.Lock()
        self._suspects = {}
        self._unresumed = set()
        self.started: list[tuple[str, int, int | None]] = []  # (session, steps, its cap then)
        self.races_here = Races(self)  # type: ignore[arg-type]

    def _claim(self, sid: str) -> int:
        return 1

    def _session_of(self, row: Any, hub: Any = None) -> Any:
        seq = self.store.seqs[row["id"]]  # type: ignore[attr-defined]
        return SimpleNamespace(
            id=row["id"], seq=seq, counters={"iteration": seq}, lock=threading.RLock(),
            status="paused", reason="restart", deleted=False, cap=None, pace=None, remote=None,
        )  # fmt: skip

    def _recall(self, s: Any) -> None:
        pass

    def _stored(self, write: Any) -> None:
        pass

    def run(self, s: Any, steps: int | None, speed: float | None) -> Any:
        with s.lock:
            self.started.append((s.id, steps or 0, s.cap))
            s.status = "running"
        return s

    def keep(self, orphan: str) -> None:
        """One keeper pass that finds ``orphan`` stored as running, its lease long lapsed."""
        self.store.orphans = [orphan]  # type: ignore[attr-defined]
        self._suspects = {orphan: time.monotonic() - 60}
        self._take_orphans()


def test_a_free_run_asked_for_alone_goes_to_the_replica_holding_its_race() -> None:
    shared = SharedState({RUNS[0]: "d", RUNS[2]: "d"})  # run 1's session is free
    c = Replica("c", shared, FakeStore(dict.fromkeys(RUNS, 5)))
    assert c.route(RUNS[1]) == "http://d"  # forwarded, not adopted here
    assert c.sessions == {} and RUNS[1] not in shared.held  # its lease given back
    alone = Replica("c", SharedState(), FakeStore({"v" * 24: 5}))  # not a race's run
    assert alone.route("v" * 24) is None and set(alone.sessions) == {"v" * 24}


def test_two_keepers_take_a_dead_replicas_race_whole_and_run_it_in_lock_step() -> None:
    shared = SharedState()  # the dead replica's leases have lapsed
    store = FakeStore({RUNS[0]: 40, RUNS[1]: 37, RUNS[2]: 40})  # each stored to its last batch
    c, d = Replica("c", shared, store), Replica("d", shared, store)
    # the keepers' passes interleave, each finding another run first
    c.keep(RUNS[1])
    d.keep(RUNS[0])
    c.keep(RUNS[2])
    d.keep(RUNS[2])
    assert shared.held == dict.fromkeys(RUNS, "c")  # all of the race on one replica
    assert set(c.sessions) == set(RUNS) and d.sessions == {}
    assert c.races_here.held(RACE)
    wait_for(lambda: len(c.started) == 3, timeout=10)
    # one race run: every run to the end its holder noted, each paced from one past the
    # slowest before any of them started (the lagging run catches up first)
    assert sorted(c.started) == sorted([(RUNS[0], 60, 38), (RUNS[1], 63, 38), (RUNS[2], 60, 38)])
    assert all(s.pace is not None for s in c.sessions.values())
    assert d.started == []


def test_a_replica_that_stops_holding_a_run_drops_the_race_and_ends_its_streams() -> None:
    shared = SharedState()
    store = FakeStore(dict.fromkeys(RUNS, 5))
    c = Replica("c", shared, store)
    assert c.races_here.route(RACE) is None
    race = c.races_here.races[RACE]
    shared.held[RUNS[2]] = "d"  # another replica holds run 2 now
    c._renew()  # the renewal finds it: forfeited here (on a thread of its own)
    wait_for(lambda: RACE not in c.races_here.races, timeout=10)
    assert race.ended  # a stale copy's streams end
