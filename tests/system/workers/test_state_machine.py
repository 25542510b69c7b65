"""A Hypothesis state machine over create / step / run / pause / reset / patch / delete with two
owners (promise 14). Invariants after every rule: sequence numbers only grow, nothing non-finite
in any response or in the database, each owner sees exactly its own sessions, another owner
gets 404. Bounded: a few short programs on an in-process app."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest
from apptools import FAST, ApiClient, db_rows, make_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

# Hypothesis runs 8 sequences of up to 12 API calls, runs in workers among them (~3 s)
pytestmark = pytest.mark.slow


def parse(text: str) -> Any:
    def reject(name: str) -> None:
        raise AssertionError(f"{name} in a response")

    return json.loads(text, parse_constant=reject)


class Sessions(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.tmp = tempfile.TemporaryDirectory()
        self.api = ApiClient(make_settings(Path(self.tmp.name), max_sessions_per_owner=6,
                                           max_steps_per_request=200))
        self.owners: list[dict[str, str]] = []
        for _ in range(2):
            r = self.api.post("/api/sessions", json={"config": FAST})
            self.owners.append({"Authorization": f"Bearer {r.json()['owner_token']}"})
            self.api.delete(f"/api/sessions/{r.json()['id']}", headers=self.owners[-1])
        self.owner_of: dict[str, int] = {}
        self.seq: dict[str, int] = {}

    def teardown(self) -> None:
        self.api.close()
        self.tmp.cleanup()

    def h(self, sid: str) -> dict[str, str]:
        return self.owners[self.owner_of[sid]]

    @precondition(lambda self: len(self.owner_of) < 6)
    @rule(target=sessions, owner=st.integers(0, 1),
          lr=st.sampled_from([0.01, 0.1, 1.0, 50.0]), units=st.integers(1, 5))
    def create(self, owner: int, lr: float, units: int) -> str:
        config = dict(FAST, optimizer={"name": "sgd", "lr": lr}, hidden=[{"units": units}])
        r = self.api.post("/api/sessions", json={"config": config}, headers=self.owners[owner])
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        self.owner_of[sid], self.seq[sid] = owner, 0
        return str(sid)

    @rule(sid=sessions, count=st.integers(1, 200))
    def step(self, sid: str, count: int) -> None:
        r = self.api.post(f"/api/sessions/{sid}/step", json={"count": count}, headers=self.h(sid))
        assert r.status_code in (200, 409), r.text
        parse(r.text)

    @rule(sid=sessions, phase=st.sampled_from(["next", "forward", "update"]))
    def phase(self, sid: str, phase: str) -> None:
        r = self.api.post(f"/api/sessions/{sid}/step", json={"phase": phase}, headers=self.h(sid))
        assert r.status_code in (200, 409), r.text

    @rule(sid=sessions, steps=st.integers(1, 300), speed=st.sampled_from([None, 500.0]))
    def run(self, sid: str, steps: int, speed: float | None) -> None:
        r = self.api.post(f"/api/sessions/{sid}/run", json={"steps": steps, "speed": speed},
                          headers=self.h(sid))
        assert r.status_code in (200, 409), r.text
        time.sleep(0.01)

    @rule(sid=sessions)
    def pause(self, sid: str) -> None:
        r = self.api.post(f"/api/sessions/{sid}/pause", headers=self.h(sid))
        assert r.status_code == 200 and r.json()["status"] != "running"

    @rule(sid=sessions)
    def reset(self, sid: str) -> None:
        r = self.api.post(f"/api/sessions/{sid}/reset", headers=self.h(sid))
        assert r.status_code == 200 and r.json()["step"] == 0

    @rule(sid=sessions, lr=st.floats(1e-4, 100.0))
    def patch_lr(self, sid: str, lr: float) -> None:
        r = self.api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {"lr": lr}}},
                           headers=self.h(sid))
        assert r.status_code == 200 and r.json()["reset"] is False, r.text

    @rule(sid=consumes(sessions))
    def delete(self, sid: str) -> None:
        assert self.api.delete(f"/api/sessions/{sid}", headers=self.h(sid)).status_code == 204
        assert self.api.get(f"/api/sessions/{sid}", headers=self.h(sid)).status_code == 404
        del self.owner_of[sid], self.seq[sid]

    @invariant()
    def sequence_numbers_only_grow(self) -> None:
        for sid in self.owner_of:
            body = parse(self.api.get(f"/api/sessions/{sid}", headers=self.h(sid)).text)
            assert body["seq"] >= self.seq[sid]
            self.seq[sid] = body["seq"]

    @invariant()
    def owners_are_isolated(self) -> None:
        for owner, headers in enumerate(self.owners):
            listed = {s["id"] for s in parse(self.api.get("/api/sessions", headers=headers).text)}
            assert listed == {s for s, o in self.owner_of.items() if o == owner}
        for sid, owner in self.owner_of.items():
            other = self.owners[1 - owner]
            assert self.api.get(f"/api/sessions/{sid}", headers=other).status_code == 404

    @invariant()
    def nothing_non_finite_persisted(self) -> None:
        for (record,) in db_rows(Path(self.tmp.name), "SELECT record FROM history"):
            parse(record)
        for (data,) in db_rows(Path(self.tmp.name), "SELECT data FROM checkpoints"):
            parse(data)


Sessions.TestCase.settings = settings(
    max_examples=8, stateful_step_count=12, deadline=None, derandomize=True, database=None,
    suppress_health_check=list(HealthCheck),
)
test_sessions_state_machine = Sessions.TestCase
