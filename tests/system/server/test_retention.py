"""The database stays bounded (promise 22): near its cap, the history of sessions nobody runs
or watches is downsampled, least recently used first (every metrics row kept), and the freed
pages go back to the file system."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest
from apptools import FAST, Server
from faulttools import wait_for

from app.sessions.retention import sparse_stride

CAP_MB = 5


def test_sparse_stride_is_the_smallest_power_of_two_that_fits() -> None:
    assert [sparse_stride(n, 100) for n in (0, 100, 101, 200, 201, 2500)] == [1, 1, 2, 2, 4, 32]


def usage(db: Path) -> tuple[int, int]:
    """(bytes in use, bytes of free pages still in the file)."""
    with sqlite3.connect(db) as conn:
        pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0]
                             for p in ("page_count", "freelist_count", "page_size"))
    return (pages - free) * size, free * size


@pytest.mark.slow
def test_near_the_cap_idle_history_is_compacted_oldest_first(tmp_path: Path) -> None:
    db = tmp_path / "playground.sqlite3"
    # a window no session reaches: only the cap makes room
    opts = {"max_db_mb": CAP_MB, "history_window_steps": 10**6, "cull_interval_seconds": 0.3}
    with Server(tmp_path, **opts) as server, httpx.Client(base_url=server.url) as http:
        r = http.post("/api/sessions", json={"config": FAST})
        h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
        sids = [r.json()["id"]]
        sids += [http.post("/api/sessions", json={"config": FAST}, headers=h).json()["id"]
                 for _ in range(3)]
        for sid in sids:  # the first one is the least recently used at the end
            for _ in range(2):
                assert http.post(f"/api/sessions/{sid}/step", json={"count": 2500},
                                 headers=h).status_code == 200
                http.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
        # under RELIEF (60 %) of the cap, and the freed pages went back to the file system
        used, free = wait_for(lambda: (u := usage(db))[0] < 0.6 * CAP_MB * 2**20 and u)
        wait_for(lambda: usage(db)[1] < 0.02 * used)  # (the vacuum follows the deletes)
        with sqlite3.connect(db) as conn:
            windows = dict(conn.execute("SELECT id, full_from FROM sessions").fetchall())
        assert windows[sids[0]] > 0 and windows[sids[-1]] == 0  # oldest first, newest kept
        for sid in sids:
            points = http.get(f"/api/sessions/{sid}/history?limit=100000", headers=h).json()[
                "points"]
            metrics = [p["step"] for p in points if p.get("metrics")]
            assert metrics == [2500, 2501, 5001, 5002]  # every metrics row kept
            assert points[-1]["step"] == 5002
            if windows[sid]:
                assert len(points) < 2100  # about history_sparse_points (2000) plus metrics
            else:
                assert len(points) == 5002
