"""Bounded inputs and quotas (promises 7 and 13): over a limit is a 413/422/429 naming it;
malformed input is a 422 naming the field; idle runs are paused."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings, wait_for

LIMITS = dict(max_hidden_layers=3, max_units=16, max_params=200, max_rows=300, max_cols=4,
              max_upload_bytes=20_000, max_steps_per_request=50, max_sessions_per_owner=3,
              max_running_total=2)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path, **LIMITS))
    yield client
    client.close()


def config(**kw: Any) -> dict[str, Any]:
    return {**FAST, **kw}


@pytest.mark.parametrize(("cfg", "field", "limit"), [
    (config(hidden=[{"units": 2}] * 4), "hidden", "max_hidden_layers"),
    (config(hidden=[{"units": 17}]), "hidden.0.units", "max_units"),
    (config(hidden=[{"units": 16}] * 3), "hidden", "max_params"),
    (config(dataset={"name": "circle", "n_samples": 301}), "dataset.n_samples", "max_rows"),
    (config(dataset={"name": "inline", "x": [[0, 1, 2, 3, 4]] * 4, "y": [0, 1, 0, 1]}),
     "dataset.x", "max_cols"),
    (config(dataset={"name": "digits"}), "dataset", "max_rows"),
])
def test_model_and_data_limits(api: ApiClient, cfg: dict[str, Any], field: str,
                               limit: str) -> None:
    r = api.post("/api/sessions", json={"config": cfg})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and r.json()["limit"] == limit
    assert r.json()["max"] == LIMITS.get(limit, LIMITS["max_rows"])


def test_malformed_input_names_the_field(api: ApiClient) -> None:
    cases = [
        ({"config": {"optimizer": {"name": "sgd", "lr": -1}}}, "optimizer.lr"),
        ({"config": {"hidden": [{"units": 0}]}}, "config.hidden.0"),
        ({"config": {"dataset": {"name": "nope"}}}, "dataset"),
        ({"config": {"batch_size": "ten"}}, "config.batch_size"),
        ({"config": {"bogus": 1}}, "config.bogus"),
    ]
    for body, field in cases:
        r = api.post("/api/sessions", json=body)
        assert r.status_code == 422, body
        assert r.json()["field"].startswith(field), (body, r.json())
    r = api.post("/api/sessions", content=b'{"config": {"dropout": NaN}}',
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422 and "NaN" not in r.text
    r = api.post("/api/sessions", content=b"{not json",
                 headers={"Content-Type": "application/json"})
    assert r.status_code == 422


def test_steps_per_request(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 51}, headers=h)
    assert r.status_code == 422 and r.json()["limit"] == "max_steps_per_request"
    assert r.json()["field"] == "count"
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 2, "phase": "forward"}, headers=h)
    assert r.status_code == 422


def test_upload_bytes(api: ApiClient) -> None:
    x = [[0.123456789, 0.987654321]] * 2000
    r = api.post("/api/sessions", json={"config": config(
        dataset={"name": "inline", "x": x, "y": [0, 1] * 1000})})
    assert r.status_code == 413
    assert r.json()["limit"] == "max_upload_bytes" and r.json()["max"] == 20_000

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        yield b'{"config": {"dataset": {"name": "inline", "x": ['
        for _ in range(3000):
            yield b"[0.1, 0.2],"
        yield b"[0.1, 0.2]]}}}"

    r = api.post("/api/sessions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_sessions_per_owner_and_running_total_are_429(api: ApiClient) -> None:
    sid, h = api.create()
    token = h["Authorization"].split()[1]
    ids = [sid] + [api.create(token=token)[0] for _ in range(2)]
    r = api.post("/api/sessions", json={"config": FAST}, headers=h)
    assert r.status_code == 429 and r.json()["limit"] == "max_sessions_per_owner"
    assert r.headers["retry-after"] == "10"  # capacity: the cull interval
    for i in ids[:2]:
        assert api.post(f"/api/sessions/{i}/run", json={"steps": 1_000_000, "speed": 10},
                        headers=h).status_code == 200
    r = api.post(f"/api/sessions/{ids[2]}/run", json={"steps": 10}, headers=h)
    assert r.status_code == 429 and r.json()["limit"] == "max_running_total"
    assert r.headers["retry-after"] == "10"


def test_idle_running_sessions_are_paused(tmp_path: Path) -> None:
    api = ApiClient(make_settings(tmp_path, idle_seconds=0.3, cull_interval_seconds=0.1))
    try:
        sid, h = api.create()
        api.post(f"/api/sessions/{sid}/run", json={"steps": 1_000_000, "speed": 50}, headers=h)
        # paused once the 0.3 s idle period passed (the run started meanwhile: ~0.1 s in a
        # local worker, ~1 s in a new Ray actor); read in-process, as a request is a use, and
        # as committed (what a request answers: the status is set before its write commits)
        session = api.manager.sessions[sid]
        wait_for("the idle session paused", lambda: session.public()["status"] == "paused",
                 timeout=20)  # fmt: skip
        body = api.get(f"/api/sessions/{sid}", headers=h).json()
        assert body["status"] == "paused" and body["reason"] == "idle"
        # unloaded from memory after a further idle period (a web replica lets go of it whole:
        # app/sessions/replicas.py), and rebuilt exactly on use
        def unloaded() -> bool:
            held = api.manager.sessions.get(sid)
            return held is None or held.trainer is None

        wait_for("the idle session unloaded", unloaded, timeout=20)
        step = body["step"]
        r = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
        assert r.json()["session"]["step"] == step + 1
    finally:
        api.close()
