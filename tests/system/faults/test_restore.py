"""Restores against real servers and real signals (promises 15, 17, 18): after a kill -9 of the
server or of a training worker, a session comes back at its checkpoint and replays the steps
stored after it, so nothing stored is lost and history never runs ahead of the trainer; a
resume from inside the replayed range, a manual step and a slow run all answer promptly (the
stream once busy-looped there and hung the server); a replay that disagrees with the stored
history cuts it back and tells the clients past the cut (``rewound``)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, Server
from faulttools import Prober, Reader, training_workers, wait_for

from engine.inspect import readouts
from engine.trainer import Trainer

# every test restarts or kills a server and trains thousands of steps (12-16 s each)
pytestmark = [pytest.mark.slow, pytest.mark.timed]

# checkpoints far apart: everything trained after the first one is the range a restore replays
SLOW_CHECKPOINTS = {"checkpoint_seconds": 3600}


def create(http: httpx.Client) -> tuple[str, dict[str, str]]:
    r = http.post("/api/sessions", json={"config": FAST})
    http.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def stored_seqs(db: Path, sid: str) -> list[int]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT seq FROM history WHERE session_id = ? ORDER BY seq", (sid,))
        return [r[0] for r in rows]


def layers(http: httpx.Client, sid: str, h: dict[str, str]) -> list[Any]:
    state = http.get(f"/api/sessions/{sid}/state", headers=h).json()
    return [[layer["W"], layer["b"]] for layer in state["layers"]]


def reference(steps: int) -> list[Any]:
    t = Trainer(FAST)
    t.step(steps)
    return [[layer["W"], layer["b"]] for layer in readouts.snapshot(t)["layers"]]


def train_and_watch(http: httpx.Client, sid: str, h: dict[str, str], steps: int) -> Reader:
    """Run (checkpointed once, at the start) and follow until ``steps`` steps were shown."""
    assert http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6, "speed": 3000},
                     headers=h).status_code == 200
    return Reader().read(http, f"/api/sessions/{sid}/events?after=0&frames=false", h,
                         until_seq=steps)


def check_after_restore(server: Server, sid: str, h: dict[str, str], shown: Reader) -> None:
    """The checks of item 1 on a session restored with ``shown.seqs`` shown before."""
    top = shown.seqs[-1]
    with Prober(server.url, every=0.005) as probe, httpx.Client(base_url=server.url) as http:
        body = http.get(f"/api/sessions/{sid}", headers=h).json()
        assert body["status"] == "paused" and body["seq"] >= top  # seq never went back
        stored = body["seq"]
        # a resume from inside the range the restore replays: every later step once, promptly
        inside = top - 700
        resumed = Reader().read(http, f"/api/sessions/{sid}/events?frames=false",
                                {**h, "Last-Event-ID": str(inside)}, until_seq=stored)
        assert resumed.seqs == list(range(inside + 1, stored + 1))
        # a manual step continues the stored history, with the weights of an unbroken run
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
        assert r.status_code == 200 and r.json()["session"]["seq"] == stored + 1
        assert layers(http, sid, h) == reference(stored + 1)
        # a slow run, followed from a cursor inside the old range
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": 20, "speed": 40},
                         headers=h).status_code == 200
        tail = Reader().read(http, f"/api/sessions/{sid}/events?after={inside}&frames=false",
                             h, until_status="finished")
        assert tail.seqs == list(range(inside + 1, stored + 22))
        assert stored_seqs(server.data_dir / "playground.sqlite3", sid) == list(
            range(1, stored + 22)
        )
    for reader in (shown, resumed, tail):
        assert reader.decreases_only_after_rewinds()
    assert not any(s.get("reason") == "rewound" for s in resumed.statuses + tail.statuses)
    assert probe.p99() < 0.1, f"healthz p99 {probe.p99():.3f} s"


def test_kill9_then_resume_inside_the_replayed_range(tmp_path: Path) -> None:
    server = Server(tmp_path, **SLOW_CHECKPOINTS).start()
    try:
        with httpx.Client(base_url=server.url) as http:
            sid, h = create(http)
            shown = train_and_watch(http, sid, h, 3000)
        server.kill9()
    finally:
        server.stop()
    assert set(shown.seqs) <= set(stored_seqs(tmp_path / "playground.sqlite3", sid))
    with Server(tmp_path, **SLOW_CHECKPOINTS) as server:
        check_after_restore(server, sid, h, shown)


def test_killed_worker_then_resume_inside_the_replayed_range(tmp_path: Path) -> None:
    with Server(tmp_path, **SLOW_CHECKPOINTS) as server:
        with httpx.Client(base_url=server.url) as http:
            sid, h = create(http)
            shown = train_and_watch(http, sid, h, 3000)
            for pid in training_workers(server.proc.pid):  # type: ignore[union-attr]
                os.kill(pid, signal.SIGKILL)
            body = wait_for(lambda: (b := http.get(f"/api/sessions/{sid}", headers=h).json())
                            ["status"] == "paused" and b)
            assert "worker" in body["reason"]
        check_after_restore(server, sid, h, shown)


def test_a_replay_that_disagrees_cuts_the_history_back_and_says_rewound(tmp_path: Path) -> None:
    with Server(tmp_path, **SLOW_CHECKPOINTS) as server, \
            httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        shown = train_and_watch(http, sid, h, 2000)
        http.post(f"/api/sessions/{sid}/pause", headers=h)
    # a stored row that the training does not reproduce (a disk that flipped a bit)
    with sqlite3.connect(tmp_path / "playground.sqlite3") as db:
        db.execute("DELETE FROM checkpoints WHERE session_id = ?", (sid,))
        db.execute("UPDATE history SET loss = loss + 1 WHERE session_id = ? AND seq = 1500",
                   (sid,))
    # no checkpoint: the trainer restarts at step 0 and replays up to the bad row
    with Server(tmp_path, **SLOW_CHECKPOINTS) as server, Prober(server.url, every=0.005) as probe, \
            httpx.Client(base_url=server.url) as http:
        top = stored_seqs(tmp_path / "playground.sqlite3", sid)[-1]
        assert top >= shown.seqs[-1]
        # a client connected past the cut when it happens: told, then the new steps once each
        connected = Reader()
        thread = threading.Thread(target=connected.read, args=(
            http, f"/api/sessions/{sid}/events?frames=false", {**h, "Last-Event-ID": str(top - 1)}
        ), kwargs={"until": lambda r: bool(r.statuses) and r.seqs[-1] == 1509})
        thread.start()
        assert connected.started.wait(20)
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 10}, headers=h)
        assert r.json()["session"]["seq"] == 1509
        thread.join(30)
        told = [(kind, v if kind == "step" else v["reason"]) for kind, v in connected.log]
        assert [x for x in told if x[0] == "step" or x[1] == "rewound"] == [
            ("step", top), ("status", "rewound"), *[("step", s) for s in range(1500, 1510)]
        ]
        assert [s["seq"] for s in connected.statuses if s["reason"] == "rewound"] == [1499]
        # a client resuming past the cut later: told where the history ends now
        late = Reader().read(http, f"/api/sessions/{sid}/events?frames=false",
                             {**h, "Last-Event-ID": str(top)}, until_status="rewound")
        assert late.statuses[-1]["seq"] == 1509 and late.seqs == []
        assert stored_seqs(tmp_path / "playground.sqlite3", sid) == list(range(1, 1510))
        assert layers(http, sid, h) == reference(1509)
        assert connected.decreases_only_after_rewinds() and late.decreases_only_after_rewinds()
    assert probe.p99() < 0.1
