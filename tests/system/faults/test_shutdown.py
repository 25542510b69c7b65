"""A graceful shutdown under full load (promise 20): SIGTERM with 100 sessions running and 100
streams open ends every stream (after its last status: ``shutdown``), checkpoints every run,
and the process exits within 5 s; after the restart no step is rolled back."""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, Server
from httpx_sse import aconnect_sse

SESSIONS = 100
LIMITS = {"max_sessions_per_owner": SESSIONS, "max_streams_per_owner": SESSIONS,
          "max_streams_per_address": SESSIONS, "max_streams_total": SESSIONS + 10}


async def follow(http: httpx.AsyncClient, sid: str, got: dict[str, Any],
                 opened: asyncio.Event, count: list[int]) -> None:
    """Read one session's stream to its end; note the last step and the last status."""
    url = f"/api/sessions/{sid}/events?frames=false"
    async with aconnect_sse(http, "GET", url) as es:
        async for sse in es.aiter_sse():
            if sse.event == "step":
                got["seq"] = json.loads(sse.data)[-1]["seq"]
                if "open" not in got:
                    got["open"] = True
                    count[0] += 1
                    if count[0] == SESSIONS:
                        opened.set()
            elif sse.event == "status":
                got["status"] = json.loads(sse.data)
            elif sse.event == "close":
                got["closed"] = True
    got["ended"] = True


async def load_and_stop(server: Server, token: str, sids: list[str]) -> tuple[float, dict]:
    headers = {"Authorization": f"Bearer {token}"}
    limits = httpx.Limits(max_connections=SESSIONS + 10)
    async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30,
                                 limits=limits) as http:
        got: dict[str, dict[str, Any]] = {sid: {} for sid in sids}
        opened, count = asyncio.Event(), [0]
        tasks = [asyncio.create_task(follow(http, sid, got[sid], opened, count)) for sid in sids]
        await asyncio.wait_for(opened.wait(), 60)  # every stream has shown a step
        assert server.proc is not None
        t0 = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(asyncio.gather(*tasks), 30)  # every stream ends
        while server.proc.poll() is None:
            await asyncio.sleep(0.02)
            assert time.monotonic() - t0 < 30, "the server did not exit"
        return time.monotonic() - t0, got


@pytest.mark.slow
@pytest.mark.timed
def test_sigterm_under_load_ends_streams_checkpoints_and_exits_quickly(tmp_path: Path) -> None:
    with Server(tmp_path, **LIMITS) as server, httpx.Client(base_url=server.url) as http:
        r = http.post("/api/sessions", json={"config": FAST})
        token = r.json()["owner_token"]
        h = {"Authorization": f"Bearer {token}"}
        sids = [r.json()["id"]]
        for _ in range(SESSIONS - 1):
            sids.append(http.post("/api/sessions", json={"config": FAST}, headers=h).json()["id"])
        for sid in sids:
            assert http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6},
                             headers=h).status_code == 200
        # a thread of its own: Playwright's sync API (the browser tests) may have left an event
        # loop running in this one
        with ThreadPoolExecutor(1) as pool:
            took, got = pool.submit(asyncio.run, load_and_stop(server, token, sids)).result()
        assert server.proc is not None and server.proc.returncode is not None
    print(f"SIGTERM to exit: {took:.2f} s")
    assert took < 5.0, f"exit took {took:.1f} s"
    for sid in sids:
        # each stream ended cleanly after saying why (no close: the page reconnects later)
        assert got[sid].get("ended") and not got[sid].get("closed"), got[sid]
        assert got[sid]["status"]["reason"] == "shutdown", got[sid]
    with sqlite3.connect(tmp_path / "playground.sqlite3") as db:
        rows = db.execute(
            "SELECT s.id, s.status, s.reason, s.seq_base + c.step,"
            " (SELECT MAX(seq) FROM history h WHERE h.session_id = s.id)"
            " FROM sessions s JOIN checkpoints c ON c.session_id = s.id"
        ).fetchall()
    assert len(rows) == SESSIONS
    for sid, status, reason, checkpointed, stored in rows:
        assert (status, reason) == ("paused", "shutdown")
        assert checkpointed == stored  # 0 steps rolled back: the checkpoint is the last step
        assert got[sid]["seq"] == stored  # and the stream showed every one of them
    with Server(tmp_path, **LIMITS) as server, httpx.Client(base_url=server.url) as http:
        listed = http.get("/api/sessions", headers=h).json()
        assert {s["reason"] for s in listed} == {"shutdown"}
        assert {s["id"]: s["seq"] for s in listed} == {sid: got[sid]["seq"] for sid in sids}
