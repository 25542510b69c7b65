"""Lessons over REST (in-process app, real workers): a script follows a lesson as the page does
— move to a step (its settings applied by a reset), do its act, read the verdicts — and bad
moves are 4xx naming the field."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import ApiClient, make_settings

from app.lessons.model import LESSONS
from engine.config import normalize_config

pytestmark = pytest.mark.slow


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def settled(api: ApiClient, sid: str, h: dict[str, str], timeout: float = 30.0) -> dict[str, Any]:
    """The lesson answer once no check is pending (the act has run its course)."""
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"/api/sessions/{sid}/lesson", headers=h).json()
        if body["checks"] and all(c["state"] != "pending" for c in body["checks"]):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_the_catalog_lists_every_lesson_in_both_languages(api: ApiClient) -> None:
    body = api.get("/api/lessons").json()
    assert [x["name"] for x in body] == list(LESSONS)
    for entry in body:
        assert entry["title"]["en"] and entry["title"]["ko"]
        assert all(s["do"]["ko"] and s["do"]["en"] for s in entry["steps"])
        normalize_config(entry["config"])  # a config the engine takes


def test_a_script_follows_the_counting_lesson_to_200_and_4000(api: ApiClient) -> None:
    lesson = LESSONS["counting"]
    sid, h = api.create(lesson.config_at(0))
    r = api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": 0}, headers=h)
    assert r.status_code == 200 and r.json()["step"] == 0
    assert api.post(f"/api/sessions/{sid}/lesson/act", headers=h).status_code == 200
    first = settled(api, sid, h)
    assert [c["state"] for c in first["checks"]] == ["ok", "ok", "ok"]
    assert first["facts"]["iteration"] == 200 and first["facts"]["n_train"] == 100
    moved = api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": 1},
                    headers=h).json()
    session = api.get(f"/api/sessions/{sid}", headers=h).json()
    # the step's settings, by a reset: a new generation from step 0
    assert session["config"]["batch_size"] == 25 and session["step"] == 0
    assert session["config"]["dataset"]["n_samples"] == 2000
    assert moved["recorded"] == {}  # the counting lesson keeps no facts
    api.post(f"/api/sessions/{sid}/lesson/act", headers=h)
    second = settled(api, sid, h)
    assert all(c["state"] == "ok" for c in second["checks"])
    assert second["facts"]["iteration"] == 4000
    # back to the start: step 0's settings again, fresh weights
    api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": 0}, headers=h)
    session = api.get(f"/api/sessions/{sid}", headers=h).json()
    assert session["config"]["batch_size"] == 50 and session["step"] == 0


def test_a_check_that_does_not_hold_says_so_and_why(api: ApiClient) -> None:
    """The counting lesson with batch 20 instead of 50: 5 iterations an epoch, so 100 epochs
    are 500 iterations; the verdict is ✗ and the answer names the setting that differs."""
    lesson = LESSONS["counting"]
    config = {**lesson.config_at(0), "batch_size": 20}
    sid, h = api.create(config)
    api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": 0}, headers=h)
    session = api.get(f"/api/sessions/{sid}", headers=h).json()
    assert session["config"]["batch_size"] == 50  # entering step 0 sets its settings
    api.patch(f"/api/sessions/{sid}", json={"config": {"batch_size": 20}}, headers=h)
    api.post(f"/api/sessions/{sid}/lesson/act", headers=h)
    body = settled(api, sid, h)
    states = {c["fact"]: c["state"] for c in body["checks"]}
    assert states == {"n_train": "ok", "iterations_per_epoch": "not", "iteration": "not"}
    assert body["facts"]["iteration"] == 500
    assert any(d.startswith("batch_size: 20") for d in body["differs"]), body["differs"]


def test_bad_moves_name_the_field(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/lesson/act", headers=h)
    assert r.status_code == 409 and r.json()["field"] == "lesson"
    r = api.put(f"/api/sessions/{sid}/lesson", json={"name": "nope", "step": 0}, headers=h)
    assert r.status_code == 404 and r.json()["field"] == "name"
    r = api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": 2}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "step"
    r = api.put(f"/api/sessions/{sid}/lesson", json={"name": "counting", "step": -1}, headers=h)
    assert r.status_code == 422
    assert api.get(f"/api/sessions/{sid}/lesson", headers=h).json() is None
    r = api.put(f"/api/sessions/{sid}/lesson", json={"name": None}, headers=h)
    assert r.status_code == 200 and r.json() is None


def test_lesson_pages(api: ApiClient) -> None:
    r = api.get("/lessons?lang=ko")
    assert r.status_code == 200 and "역전파의 순서" in r.text
    r = api.get("/lessons/xor-nope")
    assert r.status_code == 404
    r = api.get("/lessons/hidden-layers?lang=en&hide=optimizer")
    assert r.status_code == 200 and 'data-lesson="hidden-layers"' in r.text
    assert "hide-optimizer" in r.text
