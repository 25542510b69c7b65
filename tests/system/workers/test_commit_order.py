"""What a client is told follows what is stored (promise 19, issue 10 item 5): a session's
status and counters, as GET reports them, change only once the rows before them are committed,
so ``/history`` right after a ``diverged`` already holds the steps that led there."""

from __future__ import annotations

import time
from pathlib import Path

from apptools import ApiClient, make_settings


def test_history_holds_every_step_once_the_status_says_diverged(tmp_path: Path) -> None:
    # a slow writer (half a second per commit) widens the window the old order left open
    api = ApiClient(make_settings(tmp_path, commit_interval_ms=500))
    try:
        r = api.post("/api/sessions", json={"preset": "lr-too-large", "config": {}})
        sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
        assert api.post(f"/api/sessions/{sid}/run", json={"speed": 200},
                        headers=h).status_code == 200
        deadline = time.monotonic() + 30
        while True:
            body = api.get(f"/api/sessions/{sid}", headers=h).json()
            points = api.get(f"/api/sessions/{sid}/history?limit=100000",
                             headers=h).json()["points"]
            # every step GET reports is readable at once, status or not
            stored = points[-1]["step"] if points else 0
            assert stored >= body["step"], (body["status"], body["step"], stored)
            if body["status"] == "diverged":
                break
            assert time.monotonic() < deadline
    finally:
        api.close()
