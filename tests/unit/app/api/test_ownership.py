"""Ownership and CSRF: another owner gets 404 on every session route, exactly like a missing
session (promise 10); cookie-authenticated cross-site writes are refused (promise 11)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ApiClient, make_settings

BODIES = {
    "step": {"count": 1}, "run": {"steps": 10}, "weights": {"layer": 0, "param": "b",
                                                           "value": [0, 0, 0, 0]},
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def session_routes(api: ApiClient) -> list[tuple[str, str]]:
    paths = api.app.openapi()["paths"]
    return [(method.upper(), path) for path, ops in paths.items() if "{session_id}" in path
            for method in ops]


def test_every_session_route_is_404_for_another_owner(api: ApiClient) -> None:
    sid, owner = api.create()
    _, other = api.create()
    other_cookie = {"Cookie": f"bpp_owner={other['Authorization'].split()[1]}"}
    routes = session_routes(api)
    assert len(routes) >= 15
    for method, path in routes:
        url = path.replace("{session_id}", sid)
        body = BODIES.get(path.rsplit("/", 1)[-1], {})
        missing = api.request(method, path.replace("{session_id}", "x" * 24), headers=owner,
                              json=body)
        for headers in (other, other_cookie, {}, {"Authorization": "Bearer nonsense"}):
            r = api.request(method, url, headers=headers, json=body)
            assert r.status_code == 404, (method, path, headers, r.text)
            assert r.content == missing.content  # indistinguishable from a missing session
    # and the owner still has it, untouched
    r = api.get(f"/api/sessions/{sid}", headers=owner)
    assert r.status_code == 200 and r.json()["step"] == 0


def test_ids_and_tokens_are_unguessable(api: ApiClient) -> None:
    seen = set()
    for _ in range(5):
        r = api.post("/api/sessions", json={})
        body = r.json()
        assert re.fullmatch(r"[A-Za-z0-9_-]{24,}", body["id"])  # >= 144 bits, url-safe
        assert re.fullmatch(r"[A-Za-z0-9_-]{43,}", body["owner_token"])  # 256 bits
        seen |= {body["id"], body["owner_token"]}
    assert len(seen) == 10


def test_csrf_cookie_requests_need_same_origin(api: ApiClient) -> None:
    r = api.post("/api/sessions", json={})
    token, sid = r.json()["owner_token"], r.json()["id"]
    cookie = {"Cookie": f"bpp_owner={token}"}
    url = f"/api/sessions/{sid}/step"
    refused = [
        {**cookie, "Sec-Fetch-Site": "cross-site"},
        {**cookie, "Sec-Fetch-Site": "same-site"},
        {**cookie, "Origin": "https://evil.example"},
        {**cookie, "Origin": "null"},
    ]
    for headers in refused:
        r = api.post(url, json={"count": 1}, headers=headers)
        assert r.status_code == 403, headers
        assert "cross-origin" in r.json()["detail"]
    # creating a session cross-site is refused too (no owner yet: still a browser write)
    assert api.post("/api/sessions", json={}, headers={"Sec-Fetch-Site": "cross-site"}
                    ).status_code == 403
    allowed = [
        {**cookie, "Sec-Fetch-Site": "same-origin", "Origin": "http://testserver"},
        {**cookie, "Origin": "http://testserver"},
        {**cookie},  # not a browser cross-site request (browsers send Origin on those)
        {"Authorization": f"Bearer {token}", "Sec-Fetch-Site": "cross-site",
         "Origin": "https://evil.example"},  # bearer requests are exempt
    ]
    for headers in allowed:
        assert api.post(url, json={"count": 1}, headers=headers).status_code == 200, headers
    # reads are never refused
    r = api.get(f"/api/sessions/{sid}", headers={**cookie, "Sec-Fetch-Site": "cross-site"})
    assert r.status_code == 200 and r.json()["step"] == 4


def test_answers_that_carry_the_owner_token_are_never_cached(api: ApiClient) -> None:
    """Every route answering with ``owner_token`` (a session's credential) says ``no-store``,
    with a new owner (the token is minted and set as a cookie) and with a known one."""
    paths = api.app.openapi()["paths"]
    carrying = [
        path for path, ops in paths.items() for op in ops.values()
        if "SessionCreated" in json.dumps(op.get("responses", {}).get("201", {}))
    ]
    assert sorted(carrying) == ["/api/sessions", "/api/sessions/import"]
    sid, owner = api.create()
    doc = api.get(f"/api/sessions/{sid}/export", headers=owner).json()
    bodies = {"/api/sessions": {"config": FAST}, "/api/sessions/import": doc}
    for path in carrying:
        for headers in ({}, owner):
            r = api.post(path, json=bodies[path], headers=headers)
            assert r.status_code == 201 and r.json()["owner_token"], (path, r.text)
            assert r.headers["cache-control"] == "no-store", (path, headers)
