"""Gradient flow rides with the metrics: a run in a training worker streams it on the step
records that carry metrics, and /history?metrics=true returns the same rows (real server)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest
from apptools import FAST, Server
from httpx_sse import connect_sse


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("flow")) as srv:
        yield srv


def test_run_streams_flow_with_metrics_and_history_returns_it(server: Server) -> None:
    config = {**FAST, "hidden": [{"units": 4, "activation": "sigmoid"}] * 3}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        r = http.post("/api/sessions", json={"config": config})
        assert r.status_code == 201, r.text
        sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
        http.cookies.clear()
        assert http.post(f"/api/sessions/{sid}/run", json={"steps": 400}, headers=h).is_success
        streamed = {}
        deadline = time.monotonic() + 60
        with connect_sse(http, "GET", f"/api/sessions/{sid}/events", headers=h) as es:
            for sse in es.iter_sse():
                if sse.event == "step":
                    for rec in json.loads(sse.data):
                        if "metrics" in rec:
                            streamed[rec["step"]] = rec["flow"]
                if sse.event == "close":
                    break
                assert time.monotonic() < deadline, "run too slow"
        rows = http.get(f"/api/sessions/{sid}/history?metrics=true", headers=h).json()["points"]
    assert rows and streamed and rows[-1]["step"] == 400
    for row in rows:
        flow = row["flow"]
        assert len(flow["grad_norm"]) == 4 and all(g > 0 for g in flow["grad_norm"])
        assert all(0 <= s <= 1 for s in flow["saturation"][:-1])
        if row["step"] in streamed:
            assert streamed[row["step"]] == flow
    assert set(streamed) & {row["step"] for row in rows}
