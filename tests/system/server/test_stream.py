"""The SSE stream against a real uvicorn server: resume without loss (Last-Event-ID and
?after=), bounded memory and unchanged speed with a stalled reader, pings, retry, close events.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, Server
from httpx_sse import connect_sse


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    # a tiny ring forces resumes to read from SQLite as well as from memory
    with Server(tmp_path_factory.mktemp("stream"), ring_size=64, ping_seconds=0.5,
                max_streams_per_owner=100) as srv:
        yield srv


def create(http: httpx.Client, config: dict[str, Any] | None = None) -> tuple[str, dict]:
    r = http.post("/api/sessions", json={"config": config or FAST})
    http.cookies.clear()  # each call is a new owner; bearer headers identify them
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def read(http: httpx.Client, url: str, headers: dict, *, stop_steps: int | None = None,
         timeout: float = 30.0) -> tuple[list[int], str | None, list[Any]]:
    """Read a stream until ``close`` (or ``stop_steps`` steps, then cut the connection)."""
    steps: list[int] = []
    last_id = None
    events: list[Any] = []
    deadline = time.monotonic() + timeout
    with connect_sse(http, "GET", url, headers=headers, timeout=timeout) as es:
        for sse in es.iter_sse():
            events.append(sse)
            if sse.id:
                last_id = sse.id
            if sse.event == "step":
                records = json.loads(sse.data)
                steps += [r["seq"] for r in records]
                assert sse.id == str(records[-1]["seq"])
            if sse.event == "close" or (stop_steps and len(steps) >= stop_steps):
                break
            assert time.monotonic() < deadline, "stream too slow"
    return steps, last_id, events


def test_resume_with_last_event_id_and_after_loses_nothing(server: Server) -> None:
    total = 3000
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        url = f"/api/sessions/{sid}/events"
        assert http.post(f"{url[:-7]}/run", json={"steps": total, "speed": 3000},
                         headers=h).status_code == 200
        first, last, _ = read(http, url + "?after=0&frames=false", h, stop_steps=300)
        time.sleep(0.3)  # missed steps pile up while disconnected (beyond the 64-record ring)
        second, last, _ = read(http, url + "?after=0&frames=false",
                               {**h, "Last-Event-ID": last}, stop_steps=300)
        time.sleep(0.3)
        third, last, events = read(http, f"{url}?after={last}&frames=false", h)
    got = first + second + third
    assert got == list(range(1, total + 1))  # every step exactly once, in order
    assert [e.event for e in events[-2:]] == ["status", "close"]
    assert json.loads(events[-1].data) == {"reason": "finished"}


def test_replay_of_finished_session_from_database(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        http.post(f"/api/sessions/{sid}/step", json={"count": 500}, headers=h)
        http.post(f"/api/sessions/{sid}/run", json={"steps": 100}, headers=h)
        time.sleep(0.3)
        steps, _, _ = read(http, f"/api/sessions/{sid}/events?after=250&frames=false", h)
    assert steps == list(range(251, 601))


def test_a_last_event_id_of_other_digits_is_ignored(server: Server) -> None:
    """'²' passes str.isdigit() and then fails int(): it was a 500; only ASCII ids count."""
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        http.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
        url = f"/api/sessions/{sid}/events?after=2&frames=false"
        for odd in (b"\xb2", b"\xb9", b"12\xb2"):
            with http.stream("GET", url, headers={**h, "Last-Event-ID": odd}, timeout=10) as r:
                assert r.status_code == 200, odd
                first = next(line for line in r.iter_lines() if line.startswith("data:"))
            assert '"seq":3' in first  # ?after= applies instead


def test_frames_at_client_cadence_and_on_manual_steps(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        http.post(f"/api/sessions/{sid}/run", json={"steps": 400, "speed": 2000}, headers=h)
        _, _, events = read(http, f"/api/sessions/{sid}/events?after=0&every=25&fps=0", h)
        frames = [json.loads(e.data) for e in events if e.event == "frame"]
        assert frames and all(f["iteration"] % 25 == 0 for f in frames)
        assert "dW" in frames[0]["layers"][0] and "dW_update" in frames[0]["layers"][0]
        # a manual step while following: a frame of exactly that state arrives
        got: list[Any] = []
        with connect_sse(http, "GET", f"/api/sessions/{sid}/events?follow=true", headers=h,
                         timeout=10) as es:
            for sse in es.iter_sse():
                if sse.event == "status" and not got:
                    got.append(sse)
                    http.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
                elif sse.event == "frame":
                    got.append(json.loads(sse.data))
                    break
        assert got[-1]["iteration"] == 403


def test_headers_retry_jitter_and_pings(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        t0 = time.monotonic()
        lines = []
        with http.stream("GET", f"/api/sessions/{sid}/events",
                         headers={**h, "Accept-Encoding": "gzip"}, timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            assert r.headers["cache-control"] == "no-cache"
            assert r.headers["x-accel-buffering"] == "no"
            assert "content-encoding" not in r.headers
            for line in r.iter_lines():
                lines.append(line)
                if line == ": ping":
                    break
        assert time.monotonic() - t0 < 3  # ping every 0.5 s here (<= 15 s by default)
        retry = [int(x.split(":")[1]) for x in lines if x.startswith("retry:")]
        assert retry and 2000 <= retry[0] <= 4000


def test_close_events_for_missing_foreign_and_deleted(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
        _, other = create(http)
        for url, headers in ((f"/api/sessions/{sid}x/events", h),
                             (f"/api/sessions/{sid}/events", other),
                             (f"/api/sessions/{sid}/events", {})):
            r = http.get(url, headers=headers)
            assert r.status_code == 404
            assert "event: close" in r.text and "not_found" in r.text
        with connect_sse(http, "GET", f"/api/sessions/{sid}/events", headers=h,
                         timeout=10) as es:
            for sse in es.iter_sse():
                if sse.event == "status":
                    http.delete(f"/api/sessions/{sid}", headers=h)
                if sse.event == "close":
                    assert json.loads(sse.data) == {"reason": "deleted"}
                    break


def _steps_per_second(http: httpx.Client, sid: str, h: dict, seconds: float) -> float:
    s0 = http.get(f"/api/sessions/{sid}", headers=h).json()["step"]
    t0 = time.monotonic()
    time.sleep(seconds)
    s1 = http.get(f"/api/sessions/{sid}", headers=h).json()["step"]
    return (s1 - s0) / (time.monotonic() - t0)


@pytest.mark.slow
@pytest.mark.timed
def test_stalled_reader_neither_slows_training_nor_grows_memory(tmp_path: Path) -> None:
    big = dict(FAST, hidden=[{"units": 48, "activation": "tanh"}] * 2)  # ~100 KB frames
    with Server(tmp_path, max_streams_per_owner=100) as server, \
            httpx.Client(base_url=server.url) as http:
        sid, h = create(http, big)
        http.post(f"/api/sessions/{sid}/run", json={"steps": 1_000_000}, headers=h)
        time.sleep(0.5)
        # the same stream read promptly ...
        query = "fps=60&include=gradients&include=updates&include=optimizer"
        with connect_sse(http, "GET", f"/api/sessions/{sid}/events?{query}",
                         headers=h, timeout=10) as es:
            it = es.iter_sse()
            next(it)
            reading = 0.0
            t0, s0 = time.monotonic(), http.get(f"/api/sessions/{sid}", headers=h).json()["step"]
            for _ in it:
                if time.monotonic() - t0 > 1.5:
                    break
            reading = (http.get(f"/api/sessions/{sid}", headers=h).json()["step"] - s0) / (
                time.monotonic() - t0)
        # ... and never read: raw sockets that send the request and then stall
        rss0 = server.rss_kb()
        socks = []
        for _ in range(4):
            s = socket.create_connection(("127.0.0.1", server.port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall((f"GET /api/sessions/{sid}/events?{query} HTTP/1.1\r\n"
                       f"Host: 127.0.0.1\r\n"
                       f"Authorization: {h['Authorization']}\r\n\r\n").encode())
            socks.append(s)
        stalled = _steps_per_second(http, sid, h, 3.0)
        rss1 = server.rss_kb()
        for s in socks:
            s.close()
    print(f"reading {reading:.0f} steps/s, stalled {stalled:.0f} steps/s, RSS {rss0} -> {rss1} kB")
    # a producer that waited on slow readers would drop to ~0; 0.5 leaves room for a busy machine
    assert stalled >= 0.5 * reading, (stalled, reading)
    assert (rss1 - rss0) < 20_000, (rss0, rss1)
