"""A real server over PostgreSQL (``BPP_DATABASE_URL``): a session, its history and checkpoint
outlive the server (a new one, even with another data dir, finds them); and PostgreSQL stopping
mid-run is the reliability work's storage failure: the run pauses with reason ``storage``,
changes answer 507 and healthz 503 naming it, reads 503, nothing shown is lost, and once
PostgreSQL is back the session trains on."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from apptools import FAST, Server
from faulttools import Reader, wait_for
from pgtools import PgCluster, wait_ready


def create(http: httpx.Client) -> tuple[str, dict[str, str]]:
    r = http.post("/api/sessions", json={"config": FAST})
    http.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def points(http: httpx.Client, sid: str, h: dict[str, str]) -> list[int]:
    r = http.get(f"/api/sessions/{sid}/history?limit=100000", headers=h)
    assert r.status_code == 200, r.text
    return [p["seq"] for p in r.json()["points"]]


@pytest.mark.slow
def test_history_and_checkpoint_outlive_the_server(tmp_path: Path, pg: PgCluster) -> None:
    url = pg.database("restart")
    with Server(tmp_path / "a", database_url=url) as server, httpx.Client(
        base_url=server.url
    ) as http:
        sid, h = create(http)
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 120}, headers=h)
        assert r.status_code == 200
        before = http.get(f"/api/sessions/{sid}", headers=h).json()
        seqs = points(http, sid, h)
    assert seqs == list(range(1, 121)) and before["step"] == 120
    # another data dir: nothing of the session is on this machine's disk
    with Server(tmp_path / "b", database_url=url) as server, httpx.Client(
        base_url=server.url
    ) as http:
        after = http.get(f"/api/sessions/{sid}", headers=h).json()
        assert (after["step"], after["seq"], after["name"]) == (120, 120, before["name"])
        assert after["loss"] == before["loss"]  # the trainer restored from its checkpoint
        assert points(http, sid, h) == seqs
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
        assert r.status_code == 200 and r.json()["session"]["step"] == 125
        assert points(http, sid, h) == list(range(1, 126))


@pytest.mark.slow
def test_postgres_stopping_mid_run_refuses_writes_and_recovers(
    tmp_path: Path, pg: PgCluster
) -> None:
    url = pg.database("outage")
    log = tmp_path / "server.log"
    with Server(tmp_path, log=log, database_url=url) as server, httpx.Client(
        base_url=server.url, timeout=30
    ) as http:
        sid, h = create(http)
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6, "speed": 500},
                         headers=h).status_code == 200  # fmt: skip
        reader = Reader()
        try:
            reader.read(http, f"/api/sessions/{sid}/events?after=0&frames=false", h,
                        until_seq=50, timeout=30)  # fmt: skip
            pg.stop()
            reader.read(http, f"/api/sessions/{sid}/events?after={reader.seqs[-1]}&frames=false",
                        h, until_status="storage", timeout=30)  # fmt: skip
            status = reader.statuses[-1]
            assert status["status"] == "paused" and status["storage"]
            health = http.get("/api/healthz")
            assert health.status_code == 503 and health.json()["storage"]
            r = http.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
            assert r.status_code == 507 and r.json()["field"] == "storage", r.text
            r = http.post("/api/sessions", json={"config": FAST}, headers=h)
            assert r.status_code == 507 and r.json()["field"] == "storage", r.text
            r = http.get(f"/api/sessions/{sid}/history?limit=10", headers=h)
            assert r.status_code == 503 and r.json()["field"] == "storage", r.text
        finally:
            pg.start()
            wait_ready(pg)
        wait_for(lambda: http.get("/api/healthz").status_code == 200, timeout=30)
        # every step shown was stored, and the session is what the database holds
        stored = points(http, sid, h)
        assert stored == reader.seqs == list(range(1, len(stored) + 1))
        body = http.get(f"/api/sessions/{sid}", headers=h).json()
        assert body["seq"] == stored[-1] and body["reason"] == "storage"
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
        assert r.status_code == 200 and r.json()["session"]["seq"] == stored[-1] + 5
        assert points(http, sid, h)[-5:] == list(range(stored[-1] + 1, stored[-1] + 6))
    text = log.read_text()
    assert text.count("storage failing") == 1, text[-3000:]
    assert text.count("storage writable again") == 1, text[-3000:]
