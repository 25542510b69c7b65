"""Server-wide quotas (promise 21): sessions stored and held in memory, streams in total and per
client address, new owners per client address. Over one is a 429 naming it with ``Retry-After``;
under them everything works; streams and mints are given back; a session unloaded to make room
comes back exactly from its checkpoint.

Limits about connections and addresses run against a real uvicorn server; each client binds its
own loopback address (127.0.0.x: Linux routes the whole 127/8 to ``lo``), which is the address
the server sees (``request.client.host``).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from apptools import FAST, ApiClient, Server, make_settings
from test_stream_caps import accepted_again, create, events_url, page_url, refused, stream

from app.sessions.quotas import OwnerRate
from engine.inspect import readouts
from engine.trainer import Trainer

WINDOW = 5.0  # seconds: long enough for four creates on a busy machine, short to wait out
OWNERS = 3
PER_ADDRESS = 2
TOTAL = 3


def retry_after(response: httpx.Response, most: float) -> int:
    """The 429's Retry-After: whole seconds, at least 1, at most ``most``."""
    value = int(response.headers["retry-after"])
    assert 1 <= value <= most, value
    return value


def quota_body(response: httpx.Response, limit: str, maximum: int, most: float) -> dict[str, Any]:
    assert response.status_code == 429, response.text
    body: dict[str, Any] = response.json()
    assert body["limit"] == limit and body["max"] == maximum and limit in body["detail"], body
    assert body["field"]
    retry_after(response, most)
    return body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(
        tmp_path_factory.mktemp("quotas"),
        max_streams_per_address=PER_ADDRESS,
        max_streams_total=TOTAL,
        max_new_owners_per_address=OWNERS,
        new_owners_window_seconds=WINDOW,
        ping_seconds=0.5,
    ) as srv:
        yield srv


@contextlib.contextmanager
def client_at(server: Server, address: str) -> Iterator[httpx.Client]:
    """A client whose connections come from ``address`` (a loopback address)."""
    transport = httpx.HTTPTransport(local_address=address)
    with httpx.Client(base_url=server.url, transport=transport, timeout=30) as http:
        yield http


def anonymous(http: httpx.Client, body: dict[str, Any] | None = None) -> httpx.Response:
    """A create without a token (it mints a new owner)."""
    r = http.post("/api/sessions", json=body or {"config": FAST})
    http.cookies.clear()
    return r


# ---- new owners per address -----------------------------------------------------------------


@pytest.mark.slow
def test_new_owners_per_address_are_limited_and_the_window_slides(server: Server) -> None:
    with client_at(server, "127.0.0.2") as http, client_at(server, "127.0.0.3") as other:
        t0 = time.monotonic()
        made = [anonymous(http) for _ in range(OWNERS)]
        assert [r.status_code for r in made] == [201] * OWNERS
        token = made[0].json()["owner_token"]
        # a request with a token mints no owner: not counted, not refused
        r = http.post("/api/sessions", json={"config": FAST},
                      headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        refusal = anonymous(http)
        body = quota_body(refusal, "max_new_owners_per_address", OWNERS, WINDOW)
        assert body["field"] == "owner_token" and "set-cookie" not in refusal.headers
        export = http.get(f"/api/sessions/{made[0].json()['id']}/export",
                          headers={"Authorization": f"Bearer {token}"}).json()
        r = http.post("/api/sessions/import", json=export)
        http.cookies.clear()
        quota_body(r, "max_new_owners_per_address", OWNERS, WINDOW)
        # another address has its own count
        assert anonymous(other).status_code == 201
        # the window slides: once the first mint has left it, one more is allowed
        deadline = time.monotonic() + WINDOW + 20
        while (r := anonymous(http)).status_code == 429:
            assert time.monotonic() < deadline, "the window never slid"
            time.sleep(0.1)
        assert r.status_code == 201, r.text
        assert time.monotonic() - t0 >= WINDOW  # not before the first mint left the window


def test_a_create_that_fails_mints_no_owner(server: Server) -> None:
    bad = {"config": {**FAST, "optimizer": {"name": "sgd", "lr": -1}}}
    with client_at(server, "127.0.0.4") as http:
        for _ in range(OWNERS + 1):
            r = anonymous(http, bad)
            assert r.status_code == 422 and r.json()["field"] == "optimizer.lr", r.text
        assert [anonymous(http).status_code for _ in range(OWNERS)] == [201] * OWNERS
        quota_body(anonymous(http), "max_new_owners_per_address", OWNERS, WINDOW)


def test_owner_rate_slides_and_forgets_old_addresses() -> None:
    now = [0.0]
    rate = OwnerRate(limit=3, window=10.0, max_addresses=100, clock=lambda: now[0])
    for t in (0.0, 1.0, 2.0):
        now[0] = t
        assert rate.take("a") == 0.0
    now[0] = 3.0
    assert rate.take("a") == pytest.approx(7.0)  # until the mint at 0 leaves the window
    assert rate.take("b") == 0.0  # per address
    now[0] = 9.5
    assert rate.take("a") == pytest.approx(0.5)  # refusals are not counted
    now[0] = 10.0
    assert rate.take("a") == 0.0
    assert rate.take("a") == pytest.approx(1.0)
    rate.give_back("a")  # that create failed: no owner came of it
    assert rate.take("a") == 0.0
    # bounded memory: at most max_addresses remembered, and none once their window has passed
    for i in range(1000):
        rate.take(f"10.0.{i // 256}.{i % 256}")
    assert len(rate.mints) == 100
    now[0] = 30.0
    assert rate.take("c") == 0.0
    assert list(rate.mints) == ["c"]


# ---- streams per address and in total -------------------------------------------------------


def test_streams_per_address_and_in_total_are_limited_and_given_back(server: Server) -> None:
    with client_at(server, "127.0.0.5") as a, client_at(server, "127.0.0.6") as b, \
            contextlib.ExitStack() as open_:
        sid_a, ha = create(a)
        sid_a2, ha2 = create(a)  # another owner, same address
        sid_b, hb = create(b)
        # both stream routes count
        first_a = open_.enter_context(stream(a, events_url(sid_a), ha))
        open_.enter_context(stream(a, page_url(sid_a), ha))
        for url, headers in ((events_url(sid_a2), ha2), (page_url(sid_a), ha)):
            body = refused(a, url, headers)
            assert body["limit"] == "max_streams_per_address" and body["max"] == PER_ADDRESS
        open_.enter_context(stream(b, events_url(sid_b), hb))
        # b is under its address cap; the server is at its total
        body = refused(b, events_url(sid_b), hb)
        assert body["limit"] == "max_streams_total" and body["max"] == TOTAL
        assert refused(b, page_url(sid_b), hb)["limit"] == "max_streams_total"
        # closing one of a's gives back its place in the total (b gets one; the helper closes
        # it again) and in a's own count (a gets one)
        first_a.close()
        accepted_again(b, page_url(sid_b), hb)
        accepted_again(a, events_url(sid_a2), ha2)


# ---- sessions stored and held in memory -----------------------------------------------------


@pytest.fixture
def tmp_api(tmp_path: Path) -> Iterator[Any]:
    made: list[ApiClient] = []

    def make(**settings: Any) -> ApiClient:
        made.append(ApiClient(make_settings(tmp_path / str(len(made)), **settings)))
        return made[-1]

    yield make
    for api in made:
        api.close()


def test_sessions_stored_in_total(tmp_api: Any) -> None:
    api = tmp_api(max_sessions_total=3)
    ids = [api.create() for _ in range(3)]
    r = api.post("/api/sessions", json={"config": FAST})
    body = quota_body(r, "max_sessions_total", 3, 60)
    assert body["field"] == "sessions"
    sid, h = ids[0]
    # with a token too (the owner is under its own cap), and imports
    r = api.post("/api/sessions", json={"config": FAST}, headers=h)
    quota_body(r, "max_sessions_total", 3, 60)
    export = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    quota_body(api.post("/api/sessions/import", json=export, headers=h), "max_sessions_total",
               3, 60)
    assert api.delete(f"/api/sessions/{sid}", headers=h).status_code == 204
    api.create(token=h["Authorization"].split()[1])


def weights(api: ApiClient, sid: str, h: dict[str, str]) -> Any:
    r = api.get(f"/api/sessions/{sid}/state", headers=h)
    assert r.status_code == 200, r.text
    return r.json()["layers"]


def reference(steps: int) -> Any:
    """The weights of an independent trainer of the same config after ``steps``."""
    t = Trainer(FAST)
    t.step(steps)
    return json.loads(json.dumps(readouts.snapshot(t, frozenset())["layers"]))


def test_memory_cap_unloads_the_least_recently_used_idle_session(tmp_api: Any) -> None:
    # no periodic checkpoint: the unloaded session's steps since its last one must be saved
    api = tmp_api(max_sessions_loaded=2, checkpoint_seconds=3600)
    loaded = api.manager.sessions
    a, ha = api.create()
    b, hb = api.create()
    assert api.post(f"/api/sessions/{b}/step", json={"count": 3}, headers=hb).status_code == 200
    assert api.post(f"/api/sessions/{a}/step", json={"count": 7}, headers=ha).status_code == 200
    b_before = weights(api, b, hb)
    assert weights(api, a, ha) == reference(7)  # a is now the more recently used
    c, hc = api.create()  # a third trainer: b, the least recently used, makes room
    assert loaded[b].trainer is None
    assert loaded[a].trainer is not None and loaded[c].trainer is not None
    # b comes back from its checkpoint: the same weights, and it goes on exactly
    assert weights(api, b, hb) == b_before == reference(3)
    assert loaded[a].trainer is None  # now a was the least recently used
    r = api.post(f"/api/sessions/{b}/step", json={"count": 5}, headers=hb)
    assert r.status_code == 200 and r.json()["session"]["step"] == 8
    assert weights(api, b, hb) == reference(8)
    assert weights(api, a, ha) == reference(7)
    assert sum(s.trainer is not None for s in loaded.values()) == 2


def test_memory_cap_is_429_when_nothing_can_be_unloaded(tmp_api: Any) -> None:
    api = tmp_api(max_sessions_loaded=1)
    a, h = api.create()
    r = api.post(f"/api/sessions/{a}/run", json={"steps": 1_000_000, "speed": 20}, headers=h)
    assert r.status_code == 200, r.text
    r = api.post("/api/sessions", json={"config": FAST}, headers=h)  # a runs: it stays
    body = quota_body(r, "max_sessions_loaded", 1, 60)
    assert body["field"] == "sessions"
    step = api.post(f"/api/sessions/{a}/pause", headers=h).json()["step"]
    b, _ = api.create(token=h["Authorization"].split()[1])
    assert api.manager.sessions[a].trainer is None
    assert weights(api, a, h) == reference(step)


@pytest.mark.slow
def test_a_watched_session_stays_loaded(tmp_path: Path) -> None:
    with Server(tmp_path, max_sessions_loaded=1, ping_seconds=0.5) as server, \
            httpx.Client(base_url=server.url, timeout=30) as http:
        sid, h = create(http)
        with stream(http, page_url(sid), h):
            r = http.post("/api/sessions", json={"config": FAST}, headers=h)
            quota_body(r, "max_sessions_loaded", 1, 60)
        deadline = time.monotonic() + 10  # the stream's end is seen by the server soon after
        while (r := http.post("/api/sessions", json={"config": FAST}, headers=h)).status_code \
                == 429:
            assert time.monotonic() < deadline, r.text
            time.sleep(0.05)
        assert r.status_code == 201, r.text
