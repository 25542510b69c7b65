"""Replay on a real server (``python -m app.serve``, its worker processes): a background run's
recorded steps come back as they were, a fork continues as the run did, and once deleted the
session leaves no keyframe in the database file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, Server, db_rows
from faulttools import wait_for

from engine.inspect import readouts
from engine.trainer import Trainer

EVERY = 100
VIEWS = ("gradients", "updates", "optimizer")


def local(t: Trainer) -> dict[str, Any]:
    return dict(json.loads(json.dumps(readouts.snapshot(t, frozenset(VIEWS)))))


def without_session(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in ("session", "replay")}


@pytest.mark.slow
def test_replay_and_fork_of_a_background_run(tmp_path: Path) -> None:
    with Server(tmp_path, replay_every=EVERY) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as http:
        r = http.post("/api/sessions", json={"config": FAST})
        sid = r.json()["id"]
        h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
        http.post(f"/api/sessions/{sid}/run", json={"steps": 1000}, headers=h)
        wait_for(lambda: http.get(f"/api/sessions/{sid}", headers=h).json()["status"]
                 == "finished")
        params = [("include", v) for v in VIEWS]
        t = Trainer(FAST)
        for n in (0, 1, 99, 100, 101, 555, 1000):
            t.step(n - t.iteration)
            r = http.get(f"/api/sessions/{sid}/at/{n}", headers=h, params=params)
            assert r.status_code == 200 and without_session(r.json()) == local(t), n
            assert r.json()["replay"]["steps"] <= EVERY
        r = http.post(f"/api/sessions/{sid}/fork", json={"step": 555}, headers=h)
        assert r.status_code == 201, r.text
        fid = r.json()["id"]
        http.post(f"/api/sessions/{fid}/step", json={"count": 445}, headers=h)
        fork = http.get(f"/api/sessions/{fid}/state", headers=h, params=params).json()
        assert without_session(fork) == local(t)
        for gone in (sid, fid):
            assert http.delete(f"/api/sessions/{gone}", headers=h).status_code == 204
    assert db_rows(tmp_path, "SELECT COUNT(*) FROM keyframes")[0][0] == 0
