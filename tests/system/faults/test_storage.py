"""A database that refuses writes (promise 19): a full file (SQLite's ``max_page_count``, which
the ``max_db_mb`` cap sets, gives SQLITE_FULL as a full disk does) and a read-only one. Writes
that fail are failures their callers and streams see: running sessions pause with reason
``storage``, changes answer 507, healthz 503; nothing is shown before it is stored, the log says
it once, and when room comes back new work goes on with no shown step missing."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from apptools import FAST, ApiClient, Server, make_settings, wait_status
from faulttools import Prober, Reader, wait_for


def create(http: httpx.Client) -> tuple[str, dict[str, str]]:
    r = http.post("/api/sessions", json={"config": FAST})
    http.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


@pytest.mark.slow
@pytest.mark.timed
def test_a_full_database_pauses_runs_refuses_changes_and_recovers(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    # a 2 MB cap and no compaction pass (app/sessions/retention.py would make room near the cap, and
    # thin the history this test checks): the file really fills up, and only a delete frees it
    opts = {"max_db_mb": 2, "cull_interval_seconds": 3600}
    with Server(tmp_path, log=log, **opts) as server, httpx.Client(base_url=server.url) as http:
        filler, fh = create(http)
        for _ in range(3):  # about half the file
            assert http.post(f"/api/sessions/{filler}/step", json={"count": 1500},
                             headers=fh).status_code == 200
        sid, h = create(http)
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6},
                         headers=h).status_code == 200
        with Prober(server.url, every=0.005) as probe:
            shown = Reader().read(http, f"/api/sessions/{sid}/events?after=0&frames=false", h,
                                  until_status="storage", timeout=60)
            cause = shown.statuses[-1]["storage"]
            assert "full" in cause and shown.statuses[-1]["status"] == "paused"
            health = http.get("/api/healthz")
            assert health.status_code == 503 and "full" in health.json()["storage"]
            body = http.get(f"/api/sessions/{sid}", headers=h).json()
            assert body["status"] == "paused" and body["reason"] == "storage"
            for method, url, payload in (
                ("POST", "/api/sessions", {"config": FAST}),
                ("PATCH", f"/api/sessions/{sid}", {"config": {"optimizer": {"lr": 0.2}}}),
                ("POST", f"/api/sessions/{sid}/step", {"count": 1}),
                ("POST", f"/api/sessions/{sid}/run", {}),
                ("POST", f"/api/sessions/{sid}/reset", None),
            ):
                r = http.request(method, url, json=payload, headers=h)
                assert r.status_code == 507 and r.json()["field"] == "storage", (url, r.text)
                assert "full" in r.json()["detail"]
            assert http.get(f"/api/sessions/{sid}/history?limit=1", headers=h).status_code == 200
            # the session is what the database holds, and every step shown is stored
            hist = http.get(f"/api/sessions/{sid}/history?limit=100000", headers=h).json()
            assert [p["seq"] for p in hist["points"]] == shown.seqs
            assert http.get(f"/api/sessions/{sid}", headers=h).json()["seq"] == shown.seqs[-1]
            # room comes back: deleting a session is allowed during the episode, and frees it
            assert http.delete(f"/api/sessions/{filler}", headers=fh).status_code == 204
            wait_for(lambda: http.get("/api/healthz").status_code == 200, timeout=20)
            assert http.post(f"/api/sessions/{sid}/step", json={"count": 5},
                             headers=h).status_code == 200
            after, _ = create(http)
            assert after
        assert probe.p99() < 0.1, f"healthz p99 {probe.p99():.3f} s"
        top = shown.seqs[-1] + 5
    with Server(tmp_path, **opts) as server, httpx.Client(base_url=server.url) as http:
        hist = http.get(f"/api/sessions/{sid}/history?limit=100000", headers=h).json()
        assert [p["seq"] for p in hist["points"]] == list(range(1, top + 1))
    text = log.read_text()
    assert text.count("storage failing") == 1, text[-2000:]
    assert text.count("storage writable again") == 1
    assert len(text.splitlines()) < 40, text[-2000:]  # said once, not per write


def test_a_read_only_database_refuses_writes_until_reopened(tmp_path: Path) -> None:
    api = ApiClient(make_settings(tmp_path))
    try:
        sid, h = api.create(FAST)
        api.post(f"/api/sessions/{sid}/step", json={"count": 20}, headers=h)
        api.post(f"/api/sessions/{sid}/run", json={"steps": 10**6, "speed": 2000}, headers=h)
        wait_status(api, sid, h, "running")
        api.manager.store.reopen(readonly=True)  # what a disk remounted read-only gives
        body = wait_status(api, sid, h, "paused")
        assert body["reason"] == "storage"
        health = api.get("/api/healthz")
        assert health.status_code == 503 and "readonly" in health.json()["storage"]
        r = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
        assert r.status_code == 507 and "readonly" in r.json()["detail"]
        step = api.get(f"/api/sessions/{sid}", headers=h).json()["step"]
        stored = api.get(f"/api/sessions/{sid}/history?limit=100000", headers=h).json()["points"]
        assert stored[-1]["step"] == step  # nothing shown that is not stored
        api.manager.store.reopen(readonly=False)
        wait_for(lambda: api.get("/api/healthz").status_code == 200, timeout=20)
        r = api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
        assert r.status_code == 200 and r.json()["session"]["step"] == step + 3
    finally:
        api.close()


def test_a_create_whose_write_fails_leaves_no_session(tmp_path: Path) -> None:
    """The first write of an episode is a create's: it fails, and the session it made in
    memory goes (nobody was told its id; it would never be stored)."""
    api = ApiClient(make_settings(tmp_path))
    try:
        sid, h = api.create(FAST)
        manager = api.manager
        manager.store.reopen(readonly=True)
        assert manager.store.failing is None  # nothing has tried to write yet
        r = api.post("/api/sessions", json={"config": FAST}, headers=h)
        assert r.status_code == 507 and "readonly" in r.json()["detail"]
        assert set(manager.sessions) == {sid}
        assert [s["id"] for s in api.get("/api/sessions", headers=h).json()] == [sid]
        manager.store.reopen(readonly=False)
    finally:
        api.close()
