"""Where a race is served with web replicas (app/sessions/race_replicas.py): where its runs'
sessions are held, gathered here when free, refused (409 naming ``race``) when split; over a
fake manager and fake leases (the cluster test drives the real ones:
tests/system/cluster/test_web_replicas.py)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from app.core.errors import ApiError
from app.core.settings import Settings
from app.sessions.races import Races

RUNS = ["s" * 24, "t" * 24, "u" * 24]


class FakeLeases:
    token = "me"

    def __init__(self, held: dict[str, str]) -> None:
        self.held = held

    def holders(self, ids: list[str]) -> list[str | None]:
        return [self.held.get(i) for i in ids]

    def url_of(self, token: str) -> str:
        return f"http://{token}"


class FakeManager:
    """Sessions held here in ``sessions``; ``route`` takes a free stored one, as the real one."""

    def __init__(self, held: dict[str, str], stored: set[str], race: bool = True) -> None:
        self.settings = Settings()
        self.leases = FakeLeases(held)
        self.sessions: dict[str, Any] = {}
        self.stored = stored
        row = {"id": "r" * 16, "owner": "o", "name": "race", "config": "{}", "created": 1.0,
               "runs": json.dumps([{"name": f"n{i}", "changes": {}, "session": s}
                                   for i, s in enumerate(RUNS)])}  # fmt: skip
        self.store = SimpleNamespace(race_row=lambda rid: row if race else None,
                                     races=lambda owner=None: [row] if race else [])  # fmt: skip

    def resumable(self, ids: list[str]) -> list[Any]:
        return []  # no run left going here (tests/unit/app/core/test_race_takeover.py has them)

    def route(self, sid: str, gathering: bool = False) -> str | None:
        holder = self.leases.held.get(sid)
        if holder is None and sid in self.stored:
            self.leases.held[sid] = "me"
            self.sessions[sid] = SimpleNamespace(id=sid)
            return None
        return None if holder in (None, "me") else f"http://{holder}"


def test_a_free_race_is_gathered_here_in_run_order() -> None:
    manager = FakeManager({}, set(RUNS[:2]))  # the third run's session was deleted alone
    races = Races(manager)  # type: ignore[arg-type]
    assert races.races == {}  # replicas: nothing loaded at start
    assert races.route("r" * 16) is None
    assert set(manager.sessions) == set(RUNS[:2]) and races.held("r" * 16)
    assert races.races["r" * 16].gone == {RUNS[2]}


def test_a_race_held_elsewhere_is_forwarded_there_untouched() -> None:
    for held in ({RUNS[0]: "b"}, {RUNS[1]: "b"}):  # run 0 there, or run 0 free and run 1 there
        manager = FakeManager(dict(held), set(RUNS))
        races = Races(manager)  # type: ignore[arg-type]
        assert races.route("r" * 16) == "http://b"
        assert manager.sessions == {} and races.races == {}


def test_a_race_split_across_replicas_is_refused_naming_the_run() -> None:
    manager = FakeManager({RUNS[0]: "me", RUNS[2]: "b"}, set(RUNS))
    manager.sessions[RUNS[0]] = SimpleNamespace(id=RUNS[0])
    races = Races(manager)  # type: ignore[arg-type]
    with pytest.raises(ApiError) as refused:
        races.route("r" * 16)
    assert refused.value.status == 409
    assert (refused.value.body["field"], refused.value.body["run"]) == ("race", 2)


def test_a_race_deleted_elsewhere_is_forgotten_here() -> None:
    manager = FakeManager({}, set(RUNS))
    races = Races(manager)  # type: ignore[arg-type]
    assert races.route("r" * 16) is None
    manager.sessions.clear()  # its runs let go, then the race deleted through another replica
    manager.store.race_row = lambda rid: None
    assert races.route("r" * 16) is None and races.races == {}
