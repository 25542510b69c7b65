"""Stream caps against a real uvicorn server (promise 4, promise 7's 429s): open streams up to
``max_streams_per_session`` / ``max_streams_per_owner``, one more is a 429 JSON error naming the
limit, and closing a stream frees its slot. Both stream routes (``/events`` and the page's
``/page-events``) count, and simultaneous requests cannot overshoot a cap.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from apptools import FAST, Server

PER_SESSION = 3
PER_OWNER = 5


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(
        tmp_path_factory.mktemp("caps"),
        max_streams_per_session=PER_SESSION,
        max_streams_per_owner=PER_OWNER,
        ping_seconds=0.5,
    ) as srv:
        yield srv


def create(http: httpx.Client, token: str | None = None) -> tuple[str, dict[str, str]]:
    """A new session; a new owner unless ``token`` names one. Returns (id, bearer headers)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    r = http.post("/api/sessions", json={"config": FAST}, headers=headers)
    http.cookies.clear()
    assert r.status_code == 201, r.text
    return r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].split()[1]


class Open:
    """An open stream and its line iterator (a dropped, half-read iterator closes the
    connection when it is garbage-collected, so it is kept here)."""

    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.lines = response.iter_lines()

    def close(self) -> None:
        self.response.close()


@contextlib.contextmanager
def stream(http: httpx.Client, url: str, headers: dict[str, str]) -> Iterator[Open]:
    """An open stream, entered once the server has sent its first comment (it is counted)."""
    with http.stream("GET", url, headers=headers, timeout=10) as r:
        assert r.status_code == 200, r.status_code
        s = Open(r)
        for line in s.lines:
            if line.startswith(": connected"):
                break
        yield s


def refused(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """The JSON body of a stream request that must be refused with 429."""
    with http.stream("GET", url, headers=headers, timeout=10) as r:
        assert r.status_code == 429, r.status_code  # (a 200 is a stream: never read it)
        r.read()
        assert r.headers["content-type"].startswith("application/json")
        assert int(r.headers["retry-after"]) >= 1  # every 429 says when to try again
        return dict(r.json())


def accepted_again(http: httpx.Client, url: str, headers: dict[str, str]) -> None:
    """A new stream is accepted once the closed one's slot is given back (within seconds)."""
    deadline = time.monotonic() + 10
    while True:
        with http.stream("GET", url, headers=headers, timeout=10) as r:
            if r.status_code == 200:
                return
            r.read()
            assert r.status_code == 429, r.status_code
        assert time.monotonic() < deadline, "the closed stream's slot was never given back"
        time.sleep(0.05)


def events_url(sid: str) -> str:
    return f"/api/sessions/{sid}/events?frames=false"


def page_url(sid: str) -> str:
    return f"/api/sessions/{sid}/page-events"


def test_streams_per_session_cap_is_429_naming_the_limit(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http, contextlib.ExitStack() as open_:
        sid, h = create(http)
        streams = [
            open_.enter_context(stream(http, events_url(sid), h)) for _ in range(PER_SESSION)
        ]
        body = refused(http, events_url(sid), h)
        assert body["limit"] == "max_streams_per_session" and body["max"] == PER_SESSION
        assert "max_streams_per_session" in body["detail"] and body["field"] == "events"
        # the page's stream counts against the same cap
        assert refused(http, page_url(sid), h)["limit"] == "max_streams_per_session"
        # another session of the same owner still has room
        other, _ = create(http, token_of(h))
        with stream(http, events_url(other), h):
            pass
        streams[0].close()
        accepted_again(http, events_url(sid), h)


def test_page_streams_count_and_free_their_slot(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http, contextlib.ExitStack() as open_:
        sid, h = create(http)
        first = open_.enter_context(stream(http, page_url(sid), h))
        for _ in range(PER_SESSION - 1):
            open_.enter_context(stream(http, events_url(sid), h))
        assert refused(http, events_url(sid), h)["limit"] == "max_streams_per_session"
        first.close()
        accepted_again(http, page_url(sid), h)


def test_streams_per_owner_cap_is_429_naming_the_limit(server: Server) -> None:
    with httpx.Client(base_url=server.url) as http, contextlib.ExitStack() as open_:
        a, h = create(http)
        b, _ = create(http, token_of(h))
        c, _ = create(http, token_of(h))
        streams = [open_.enter_context(stream(http, events_url(a), h)) for _ in range(PER_SESSION)]
        streams += [
            open_.enter_context(stream(http, events_url(b), h))
            for _ in range(PER_OWNER - PER_SESSION)
        ]
        for sid in (b, c):  # b and c are under the per-session cap, the owner is at its cap
            body = refused(http, events_url(sid), h)
            assert body["limit"] == "max_streams_per_owner" and body["max"] == PER_OWNER
            assert "max_streams_per_owner" in body["detail"]
        assert refused(http, page_url(c), h)["limit"] == "max_streams_per_owner"
        # another owner is not affected
        d, other = create(http)
        with stream(http, events_url(d), other):
            pass
        streams[-1].close()
        accepted_again(http, events_url(c), h)


def test_simultaneous_requests_cannot_overshoot_the_cap(server: Server) -> None:
    extra = 4
    with httpx.Client(base_url=server.url) as http:
        sid, h = create(http)
    statuses: list[int] = []
    lock = threading.Lock()
    go, done = threading.Barrier(PER_SESSION + extra), threading.Event()

    def attempt() -> None:
        with httpx.Client(base_url=server.url) as own:
            go.wait()
            with own.stream("GET", events_url(sid), headers=h, timeout=10) as r:
                with lock:
                    statuses.append(r.status_code)
                if r.status_code == 200:
                    done.wait(10)  # hold the stream open until every attempt has answered

    threads = [threading.Thread(target=attempt) for _ in range(PER_SESSION + extra)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 15
    while len(statuses) < len(threads) and time.monotonic() < deadline:
        time.sleep(0.02)
    done.set()
    for t in threads:
        t.join(15)
    assert sorted(statuses) == [200] * PER_SESSION + [429] * extra, statuses
