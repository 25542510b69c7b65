"""A real server with ``BPP_FANOUT`` naming a real redis-server: the JSON stream through Redis,
resumes inside and outside the window exactly once, a rewind that Redis held stale records
past, a replica that runs no session following one through Redis, and Redis stopped and
started again mid-stream."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Iterator
from json import loads as decode
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from apptools import FAST, Server
from faulttools import Reader, wait_for
from redistools import RedisServer, redis_url, run_apart  # noqa: F401  (the session fixture)

from app.core.store import connect
from app.streaming.hub import Subscriber
from app.streaming.redis_fanout import RedisFanOut
from app.streaming.redis_link import RedisLink, keys
from app.streaming.sse import StreamOptions, follow

RING = 64

# each test starts a server (and some a second one, or trains thousands of steps)
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Server]:  # noqa: F811
    with Server(tmp_path_factory.mktemp("redisfan"), fanout=redis_url, ring_size=RING,
                ping_seconds=0.5, checkpoint_seconds=3600) as srv:
        yield srv


def create(http: httpx.Client) -> tuple[str, dict[str, str]]:
    r = http.post("/api/sessions", json={"config": FAST})
    http.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def events_url(sid: str, query: str = "frames=false") -> str:
    return f"/api/sessions/{sid}/events?{query}"


def test_resumes_inside_and_outside_the_window_get_every_step_once(
    server: Server, redis_url: str  # noqa: F811
) -> None:
    total = 2000
    with httpx.Client(base_url=server.url, timeout=30) as http:
        sid, h = create(http)
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": total, "speed": 2000},
                         headers=h).status_code == 200
        first = Reader().read(http, events_url(sid, "after=0&frames=false"), h, until_seq=300)
        time.sleep(0.3)  # the run goes on past the window while nobody follows
        outside = Reader().read(http, events_url(sid), {**h, "Last-Event-ID": first.last_id or ""},
                                until_seq=first.seqs[-1] + 300)
        inside = Reader().read(http, events_url(sid, f"after={outside.seqs[-1]}"), h,
                               until_status="finished")
        # resumed from inside the window held in Redis once the run is over
        end = Reader().read(http, events_url(sid), {**h, "Last-Event-ID": str(total - 20)},
                            until_status="finished")
    assert first.seqs + outside.seqs + inside.seqs == list(range(1, total + 1))
    assert end.seqs == list(range(total - 19, total + 1))
    client = redis.Redis.from_url(redis_url)
    ids = [eid.decode() for eid, _ in client.xrange(keys(sid)[0])]
    assert ids == [f"{s}-0" for s in range(total - RING + 1, total + 1)]  # the window, by seq
    client.close()


def test_a_cut_after_a_restart_never_shows_the_stale_records(
    tmp_path: Path, redis_url: str  # noqa: F811
) -> None:
    """Redis still holds the steps after the cut (written by the previous server): a client past
    the cut is told ``rewound`` and then gets the new steps once each, never the old ones."""
    with Server(tmp_path, fanout=redis_url, ring_size=RING, checkpoint_seconds=3600) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        sid, h = create(http)
        assert http.post(f"/api/sessions/{sid}/step", json={"count": 300},
                         headers=h).status_code == 200
    with sqlite3.connect(tmp_path / "playground.sqlite3") as db:  # a row the replay disagrees with
        db.execute("DELETE FROM checkpoints WHERE session_id = ?", (sid,))
        db.execute("UPDATE history SET loss = loss + 1 WHERE session_id = ? AND seq = 280", (sid,))
    with Server(tmp_path, fanout=redis_url, ring_size=RING, checkpoint_seconds=3600) as srv, \
            httpx.Client(base_url=srv.url, timeout=30) as http:
        connected = Reader()
        thread = threading.Thread(target=connected.read, args=(
            http, events_url(sid), {**h, "Last-Event-ID": "290"}
        ), kwargs={"until": lambda r: bool(r.seqs) and r.seqs[-1] == 289})
        thread.start()
        assert connected.started.wait(20)
        r = http.post(f"/api/sessions/{sid}/step", json={"count": 10}, headers=h)
        assert r.json()["session"]["seq"] == 289
        thread.join(30)
        resumed = Reader().read(http, events_url(sid), {**h, "Last-Event-ID": "260"},
                                until_seq=289)
    told = [(k, v if k == "step" else v["reason"]) for k, v in connected.log]
    assert [x for x in told if x[0] == "step" or x[1] == "rewound"] == [
        ("step", 291), ("step", 292), ("step", 293), ("step", 294), ("step", 295),
        ("step", 296), ("step", 297), ("step", 298), ("step", 299), ("step", 300),
        ("status", "rewound"), *[("step", s) for s in range(280, 290)],
    ]
    assert resumed.seqs == list(range(261, 290))
    assert [s["seq"] for s in connected.statuses if s["reason"] == "rewound"] == [279]


class StoreReader:
    """What a replica that runs no session reads the history from: the file, read only."""

    def __init__(self, path: Path) -> None:
        self.conn = connect(path, readonly=True)
        self.lock = threading.Lock()

    def records_after(self, session_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        with self.lock:
            rows = self.conn.execute(
                "SELECT seq, record FROM history WHERE session_id = ? AND seq > ?"
                " ORDER BY seq LIMIT ?", (session_id, after, limit))
            return [(int(a), str(b)) for a, b in rows]


def follow_elsewhere(url: str, db: Path, sid: str, after: int) -> tuple[list[int], list[Any]]:
    """Follow ``sid`` from this process, which does not run it, until it finishes: the steps'
    seqs and the statuses."""
    seqs: list[int] = []
    statuses: list[Any] = []

    async def main() -> None:
        link = RedisLink(url)
        hub = RedisFanOut(link, sid, RING, after, asyncio.get_running_loop(), owner=False)
        sub = Subscriber(owner="o", every=0, fps=0, include=frozenset(), frames=False)
        opts = StreamOptions(after=after, follow=False, ping_seconds=0.5, retry_ms=1000)
        stream = follow(hub, StoreReader(db), sid, sub, opts, lambda: None, lambda: None)
        async with asyncio.timeout(30):
            async for chunk in stream:
                for block in chunk.decode().split("\n\n"):
                    lines = dict(line.split(": ", 1) for line in block.splitlines()
                                 if ": " in line)
                    if lines.get("event") == "step":
                        seqs.extend(r["seq"] for r in decode(lines["data"]))
                    elif lines.get("event") == "status":
                        statuses.append(decode(lines["data"]))
                    elif lines.get("event") == "close":
                        return
        link.close()

    run_apart(main())
    return seqs, statuses


def test_a_process_that_does_not_run_the_session_streams_it_through_redis(
    server: Server, redis_url: str  # noqa: F811
) -> None:
    total = 1500
    with httpx.Client(base_url=server.url, timeout=30) as http:
        sid, h = create(http)
        assert http.post(f"/api/sessions/{sid}/step", json={"count": 100},
                         headers=h).status_code == 200
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": total - 100, "speed": 1500},
                         headers=h).status_code == 200
        seqs, statuses = follow_elsewhere(redis_url, server.data_dir / "playground.sqlite3",
                                          sid, 50)
    assert seqs == list(range(51, total + 1))  # from the store, then Redis: each once
    assert statuses[-1]["status"] == "finished"


def test_redis_stopped_and_started_mid_stream(tmp_path: Path) -> None:
    """Publishing goes on while Redis is down (the run does not stall), the stream goes on from
    the store, and after Redis is back every step has still come exactly once."""
    own = RedisServer(tmp_path).start()
    total = 3000
    log = tmp_path / "server.log"
    try:
        with Server(tmp_path / "data", log, fanout=own.url, ring_size=RING,
                    ping_seconds=0.5) as srv, httpx.Client(base_url=srv.url, timeout=30) as http:
            sid, h = create(http)
            assert http.post(f"/api/sessions/{sid}/run", json={"steps": total, "speed": 1000},
                             headers=h).status_code == 200
            reader = Reader()
            thread = threading.Thread(target=reader.read, args=(
                http, events_url(sid, "after=0"), h), kwargs={"until_status": "finished"})
            thread.start()
            wait_for(lambda: len(reader.seqs) >= 300)  # streaming through Redis
            own.stop()
            wait_for(lambda: "redis fan-out unavailable" in log.read_text())  # seen down
            during = len(reader.seqs)
            # still streaming, from the store, while Redis is down
            wait_for(lambda: len(reader.seqs) > during + 300 or not thread.is_alive())
            assert len(reader.seqs) > during + 300
            own.start()
            thread.join(30)
            assert not thread.is_alive()
            after = Reader().read(http, events_url(sid), {**h, "Last-Event-ID": str(total - 10)},
                                  until_status="finished")
    finally:
        own.stop()
    assert reader.seqs == list(range(1, total + 1))
    assert reader.statuses[-1]["status"] == "finished"
    assert after.seqs == list(range(total - 9, total + 1))
