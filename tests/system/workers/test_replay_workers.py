"""Replay of runs trained in a worker process: its periodic keyframes (at every
``replay_every`` steps, the worker's chunks end there) and the keyframe of a live change made
while it ran (``Configure``) re-train to the very numbers an uninterrupted local trainer had."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings, wait_status
from faulttools import wait_for

from engine.inspect import readouts
from engine.trainer import Trainer

EVERY = 50
VIEWS = ("gradients", "updates", "optimizer", "batch")
ADAM = dict(FAST, optimizer={"name": "adam", "lr": 0.01}, dropout=0.2)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path, replay_every=EVERY))
    yield client
    client.close()


def at(api: ApiClient, sid: str, h: dict[str, str], n: int) -> dict[str, Any]:
    r = api.get(f"/api/sessions/{sid}/at/{n}", headers=h, params=[("include", v) for v in VIEWS])
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("session")
    assert body.pop("replay")["steps"] <= EVERY
    return dict(body)


def local(t: Trainer) -> dict[str, Any]:
    return dict(json.loads(json.dumps(readouts.snapshot(t, frozenset(VIEWS)))))


@pytest.mark.slow
def test_a_worker_run_with_a_live_change_replays_bit_identically(api: ApiClient) -> None:
    sid, h = api.create(ADAM)
    # slow enough that the change lands mid-run, at a step the worker chose
    api.post(f"/api/sessions/{sid}/run", json={"steps": 700, "speed": 700}, headers=h)
    wait_for(lambda: api.get(f"/api/sessions/{sid}", headers=h).json()["step"] >= 20)
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {
        "name": "adam", "lr": 0.05}}}, headers=h)
    assert r.status_code == 200 and r.json()["reset"] is False
    # the page's scrubber waits for a pause (the worker's frames would draw over it)
    r = api.put(f"/api/sessions/{sid}/replay-view", json={"step": 5}, headers=h)
    assert (r.status_code == 409 and r.json()["field"] == "status") or api.get(
        f"/api/sessions/{sid}", headers=h).json()["status"] == "finished", r.text
    body = wait_status(api, sid, h, "finished", timeout=60)
    assert body["step"] == 700
    keys = api.manager.store.keyframe_sizes(sid)
    events = [s for _, s, kind, _ in keys if kind == "event" and s > 0]
    assert len(events) == 1
    e = events[0]
    assert 20 <= e < 700  # made while the worker trained
    periodic = [s for _, s, kind, _ in keys if kind == "step"]
    assert periodic == [s for s in range(EVERY, 701, EVERY) if s != e]
    # the uninterrupted run, here: the change at step e
    picks = sorted({1, e - 1, e, e + 1, EVERY, 2 * EVERY + 1, 700,
                    *random.Random(4).sample(range(1, 701), 6)} - {0})
    t = Trainer(ADAM)
    for n in picks:
        if t.iteration < e <= n:
            t.step(e - t.iteration)
            t.set_hparams({"optimizer": {"name": "adam", "lr": 0.05}})
        t.step(n - t.iteration)
        assert at(api, sid, h, n) == local(t), n
    # and the session's own state is that of step 700
    live = api.get(f"/api/sessions/{sid}/state", headers=h, params=[("include", v) for v in VIEWS])
    assert {**live.json(), "session": None} == {**local(t), "session": None}
