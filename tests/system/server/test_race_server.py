"""Races on a real server (``python -m app.serve``, its worker processes): the runs advance in
lock-step (at most one step apart in every frame of the race's stream, while running), the
stream's records of each run equal that run's own ``/history``, a stream resumed by its
``Last-Event-ID`` continues where it stopped, a diverged run stops while the others go on, and
a race survives a restart with its sessions."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, Server
from faulttools import wait_for

RUNS = [
    {"name": "sgd", "changes": {}},
    {"name": "adam", "changes": {"optimizer": {"name": "adam", "lr": 0.01}}},
    {"name": "momentum", "changes": {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}}},
    {"name": "wide", "changes": {"hidden": [{"units": 16, "activation": "tanh"}]}},
]
STEPS = 1500


def read_events(
    http: httpx.Client, url: str, headers: dict[str, str], until: Any, timeout: float = 120
) -> tuple[list[tuple[str, str, Any]], str]:
    """``(event, id, data)`` of a race stream until ``until(events)``; and the last id."""
    events: list[tuple[str, str, Any]] = []
    last_id = ""
    with http.stream("GET", url, headers=headers, timeout=timeout) as r:
        assert r.status_code == 200
        name, ident, data = "", "", ""
        deadline = time.monotonic() + timeout
        for line in r.iter_lines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("id:"):
                ident = line[3:].strip()
            elif line.startswith("data:"):
                data = line[5:].strip()
            elif line == "" and name:
                events.append((name, ident, json.loads(data)))
                last_id = ident
                name = data = ""
                if until(events):
                    break
            assert time.monotonic() < deadline, "stream too slow"
    return events, last_id


def finished(events: list[tuple[str, str, Any]]) -> bool:
    frames = [d for e, _, d in events if e == "frame"]
    return bool(frames) and all(s in ("finished", "diverged") for s in frames[-1]["status"])


@pytest.mark.slow
def test_lock_step_stream_history_and_restart(tmp_path: Path) -> None:
    with Server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/races", json={"config": FAST, "runs": RUNS, "name": "four"})
        assert r.status_code == 201, r.text
        rid = r.json()["id"]
        h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
        ids = [run["session"] for run in r.json()["race"]["runs"]]
        r = http.post(f"/api/races/{rid}/run", json={"steps": STEPS}, headers=h)
        assert r.status_code == 200, r.text
        # until the runs are finished and their last records are in: a frame reads the runs'
        # counters at once, their records follow the database commit a few ms behind
        events, _ = read_events(
            http,
            f"/api/races/{rid}/events?after=0",
            h,
            lambda ev: finished(ev)
            and sum(len(d["records"]) for e, _, d in ev if e == "step") >= 4 * STEPS,
        )
        frames = [d for e, _, d in events if e == "frame"]
        running = [f for f in frames if "running" in f["status"]]
        assert len(running) >= 5, len(running)  # the run was seen while it ran
        spread = max(max(f["steps"]) - min(f["steps"]) for f in frames)
        assert spread <= 1, spread
        assert frames[-1]["steps"] == [STEPS] * 4
        # the stream's records of each run are that run's own history, step by step
        per_run: dict[int, list[dict[str, Any]]] = {i: [] for i in range(4)}
        for e, _, d in events:
            if e == "step":
                per_run[d["run"]] += d["records"]
        for i, sid in enumerate(ids):
            hist = http.get(f"/api/sessions/{sid}/history", params={"limit": 100_000},
                            headers=h).json()["points"]
            assert per_run[i] == hist, i
            assert [p["step"] for p in hist] == list(range(1, STEPS + 1))
        # resumed after an id from the middle: the rest of every run, nothing twice
        middle = next(ident for e, ident, _ in events if e == "step" and
                      min(map(int, ident.split("."))) > 0)
        cut = [int(c) for c in middle.split(".")]
        rest, _ = read_events(http, f"/api/races/{rid}/events", {**h, "Last-Event-ID": middle},
                              lambda ev: sum(len(d["records"]) for e, _, d in ev if e == "step")
                              >= 4 * STEPS - sum(cut))
        for e, _, d in rest:
            if e == "step":
                assert d["records"][0]["seq"] == cut[d["run"]] + 1
                cut[d["run"]] = d["records"][-1]["seq"]
        assert cut == [STEPS] * 4
    # a restart: the race and its sessions are back, paused where they were
    with Server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        race = http.get(f"/api/races/{rid}", headers=h).json()
        assert [run["session"] for run in race["runs"]] == ids
        assert [run["state"]["step"] for run in race["runs"]] == [STEPS] * 4
        assert all(run["same_start"] for run in race["runs"][:3])
        r = http.post(f"/api/races/{rid}/step", json={"count": 2}, headers=h)
        assert [run["state"]["step"] for run in r.json()["runs"]] == [STEPS + 2] * 4
        assert http.delete(f"/api/races/{rid}", headers=h).status_code == 204
        assert http.get("/api/sessions", headers=h).json() == []


@pytest.mark.slow
def test_a_diverged_run_stops_and_the_others_go_on(tmp_path: Path) -> None:
    runs = [{"name": "lr 0.1", "changes": {}},
            {"name": "lr 10", "changes": {"optimizer": {"name": "sgd", "lr": 10.0}}}]
    base = {"dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 0.01}, "batch_size": 10, "seed": 2}
    with Server(tmp_path) as server, httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/races", json={"config": base, "runs": runs})
        rid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
        http.post(f"/api/races/{rid}/run", json={"steps": 400}, headers=h)
        race = wait_for(lambda: (b := http.get(f"/api/races/{rid}", headers=h).json())
                        and b["runs"][0]["status"] == "finished" and b)
        assert race["runs"][1]["status"] == "diverged"
        assert race["runs"][1]["state"]["divergence"]
        assert race["runs"][0]["state"]["step"] == 400
