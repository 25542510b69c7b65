"""Replay over REST: ``/at/{step}`` equals, bit for bit, the ``/state`` an uninterrupted run
showed at that step (across live changes and weight edits, at and between keyframes); a fork
continues as the original did; out-of-range steps are 4xx naming ``step``; keyframes are
thinned within their budget, start again with each generation and go with the session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings

from app.sessions.keyframes import thin_plan

EVERY = 10
VIEWS = ("gradients", "updates", "probe", "optimizer", "metrics", "batchnorm", "batch")
# dropout draws from the RNG, batch norm keeps running statistics, Adam keeps moments: a
# replay that lost any of them would differ
# the lr-too-large preset's net and data
BLOWS_UP = {"dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 10.0}, "batch_size": 10, "seed": 2}
RICH = dict(FAST, optimizer={"name": "adam", "lr": 0.01}, dropout=0.2, batchnorm=True)


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path, replay_every=EVERY))
    yield client
    client.close()


def state(api: ApiClient, sid: str, h: dict[str, str], url: str = "state") -> dict[str, Any]:
    r = api.get(f"/api/sessions/{sid}/{url}", headers=h, params=[("include", v) for v in VIEWS])
    assert r.status_code == 200, r.text
    body = r.json()
    body.pop("session")
    body.pop("replay", None)
    return dict(body)


def step(api: ApiClient, sid: str, h: dict[str, str], count: int) -> None:
    r = api.post(f"/api/sessions/{sid}/step", json={"count": count}, headers=h)
    assert r.status_code == 200, r.text


def record_run(api: ApiClient, sid: str, h: dict[str, str]) -> dict[int, dict[str, Any]]:
    """Step the session to 47, one step at a time, keeping ``/state`` after every step; a live
    learning-rate change at step 17 (between keyframes 10 and 20), a weight edit at step 23
    and a second change at step 30 (a keyframe's own step) — each recorded after it."""
    seen = {0: state(api, sid, h)}
    for n in range(1, 48):
        step(api, sid, h, 1)
        if n in (17, 30):
            lr = {17: 0.05, 30: 0.002}[n]
            r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {
                "name": "adam", "lr": lr}}}, headers=h)
            assert r.status_code == 200 and r.json()["changed"] == ["optimizer"], r.text
        if n == 23:
            r = api.put(f"/api/sessions/{sid}/weights", headers=h,
                        json={"layer": 0, "param": "W", "value": 0.75, "index": [1, 2]})
            assert r.status_code == 200, r.text
        seen[n] = state(api, sid, h)
    return seen


def test_state_at_every_step_equals_the_recorded_run(api: ApiClient) -> None:
    sid, h = api.create(RICH)
    seen = record_run(api, sid, h)
    for n, want in seen.items():
        got = state(api, sid, h, f"at/{n}")
        assert got == want, f"step {n}: {[k for k in want if got.get(k) != want[k]]}"
    # the changes really changed the run: an lr change and an edit are in the replayed state
    assert seen[18]["layers"][0]["W"] != seen[17]["layers"][0]["W"]
    assert state(api, sid, h, "at/23")["layers"][0]["W"][1][2] == 0.75
    # a replay re-trains at most replay_every steps, from the keyframe before the step
    info = api.get(f"/api/sessions/{sid}/at/29", headers=h).json()["replay"]
    assert info == {**info, "step": 29, "keyframe": 23, "steps": 6, "every": EVERY}
    assert api.get(f"/api/sessions/{sid}/at/40", headers=h).json()["replay"]["keyframe"] == 30


def test_a_twin_session_replays_what_the_other_recorded(api: ApiClient) -> None:
    """Two sessions of one config and seed: one records while stepping, the other runs the
    same changes in big steps and is replayed (its history was never looked at)."""
    first, h1 = api.create(RICH)
    seen = record_run(api, first, h1)
    twin, h2 = api.create(RICH)
    step(api, twin, h2, 17)
    api.patch(f"/api/sessions/{twin}", json={"config": {"optimizer": {
        "name": "adam", "lr": 0.05}}}, headers=h2)
    step(api, twin, h2, 6)
    api.put(f"/api/sessions/{twin}/weights", headers=h2,
            json={"layer": 0, "param": "W", "value": 0.75, "index": [1, 2]})
    step(api, twin, h2, 7)
    api.patch(f"/api/sessions/{twin}", json={"config": {"optimizer": {
        "name": "adam", "lr": 0.002}}}, headers=h2)
    step(api, twin, h2, 17)
    for n in (0, 5, 10, 16, 17, 22, 23, 24, 30, 31, 47):
        assert state(api, twin, h2, f"at/{n}") == seen[n], n


def test_fork_continues_bit_identically_and_keeps_the_original(api: ApiClient) -> None:
    sid, h = api.create(RICH)
    step(api, sid, h, 16)
    at_16 = state(api, sid, h)
    original = api.get(f"/api/sessions/{sid}/history", headers=h).json()["points"]
    r = api.post(f"/api/sessions/{sid}/fork", json={"step": 7, "name": "from 7"}, headers=h)
    assert r.status_code == 201, r.text
    body = r.json()
    fid = body["id"]
    assert body["forked_from"] == {"id": sid, "step": 7}
    assert body["session"]["step"] == 7 and body["session"]["name"] == "from 7"
    # the fork's history is the original's up to 7, renumbered as its own generation 0
    points = api.get(f"/api/sessions/{fid}/history", headers=h).json()["points"]
    assert [(p["step"], p["seq"], p["generation"]) for p in points] == [
        (n, n, 0) for n in range(1, 8)]
    assert [p["loss"] for p in points] == [p["loss"] for p in original[:7]]
    step(api, fid, h, 9)
    assert state(api, fid, h) == at_16
    # its own past replays too (the original's keyframes up to 7 came with it)
    assert state(api, fid, h, "at/3") == state(api, sid, h, "at/3")
    # the original is untouched
    assert state(api, sid, h) == at_16
    assert api.get(f"/api/sessions/{sid}/history", headers=h).json()["points"] == original
    # same owner: it is listed with the original
    assert {s["id"] for s in api.get("/api/sessions", headers=h).json()} == {sid, fid}


def test_out_of_range_steps_are_4xx_naming_step(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    step(api, sid, h, 12)
    for bad in (-1, 13, 2**40):
        r = api.get(f"/api/sessions/{sid}/at/{bad}", headers=h)
        assert r.status_code == 422 and r.json()["field"] == "step", r.text
        assert "0 … 12" in r.json()["detail"] and r.json()["max"] == 12
    r = api.get(f"/api/sessions/{sid}/at/seven", headers=h)
    assert r.status_code == 422 and r.json()["field"] == "step"
    r = api.post(f"/api/sessions/{sid}/fork", json={"step": 99}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "step"
    r = api.post(f"/api/sessions/{sid}/fork", json={"step": 1.5}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "step"
    # another owner's session is not found, whatever the step
    _, other = api.create(FAST)
    assert api.get(f"/api/sessions/{sid}/at/3", headers=other).status_code == 404
    assert api.post(f"/api/sessions/{sid}/fork", json={"step": 3},
                    headers=other).status_code == 404
    assert len(api.get("/api/sessions", headers=h).json()) == 1


def test_a_fork_counts_against_the_owners_quota(tmp_path: Path) -> None:
    client = ApiClient(make_settings(tmp_path, replay_every=EVERY, max_sessions_per_owner=1))
    try:
        sid, h = client.create(FAST)
        step(client, sid, h, 3)
        r = client.post(f"/api/sessions/{sid}/fork", json={"step": 2}, headers=h)
        assert r.status_code == 429 and r.json()["limit"] == "max_sessions_per_owner"
    finally:
        client.close()


def test_reset_starts_its_own_keyframes_and_delete_removes_them(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    step(api, sid, h, 25)
    store, manager = api.manager.store, api.manager
    assert [(g, s) for g, s, _, _ in store.keyframe_sizes(sid)] == [(0, 0), (0, 10), (0, 20)]
    api.post(f"/api/sessions/{sid}/reset", json={"config": {"seed": 5}}, headers=h)
    step(api, sid, h, 4)
    assert state(api, sid, h, "at/4") == state(api, sid, h)
    assert api.get(f"/api/sessions/{sid}/at/20", headers=h).status_code == 422  # gen 1: 0 … 4
    session = manager.sessions[sid]
    assert manager.retention.thin(session, manager.retention.keyframe_bytes)
    assert [(g, s) for g, s, _, _ in store.keyframe_sizes(sid)] == [(1, 0)]
    assert api.delete(f"/api/sessions/{sid}", headers=h).status_code == 204
    assert store.keyframe_sizes(sid) == []


def test_keyframes_are_thinned_to_the_budget_and_replays_stay_exact(api: ApiClient) -> None:
    sid, h = api.create(RICH)
    step(api, sid, h, 300)
    api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {
        "name": "adam", "lr": 0.05}}}, headers=h)
    step(api, sid, h, 95)
    wanted = {n: state(api, sid, h, f"at/{n}") for n in (137, 300, 301, 395)}
    manager = api.manager
    store = manager.store
    before = store.keyframe_sizes(sid)
    budget = sum(b for *_, b in before) / 4
    plan = thin_plan([(s, k, b) for _, s, k, b in before], EVERY, budget)
    assert plan is not None
    dense_from, stride = plan
    assert manager.retention.thin(manager.sessions[sid], budget)
    after = store.keyframe_sizes(sid)
    assert sum(b for *_, b in after) <= budget
    steps = [s for _, s, _, _ in after]
    old = [s for _, s, _, _ in before]
    # step 0 and the event stay; from dense_from on, every keyframe; before it, those at the
    # multiples of a power-of-two multiple of EVERY
    assert {0, 300} <= set(steps) and dense_from > 300
    assert [s for s in steps if s >= dense_from] == [s for s in old if s >= dense_from]
    assert (stride // EVERY) & (stride // EVERY - 1) == 0 and stride >= 2 * EVERY
    assert [s for s in steps if 0 < s < dense_from and s != 300] == [
        s for s in old if 0 < s < dense_from and s % stride == 0]
    for n, want in wanted.items():
        assert state(api, sid, h, f"at/{n}") == want, n
    info = api.get(f"/api/sessions/{sid}/at/137", headers=h).json()["replay"]
    assert 0 < info["steps"] < stride


def test_thin_plan_rule() -> None:
    """By hand: 21 periodic keyframes of 10 bytes (steps 0 … 200 every 10) and an event at 55
    (10 bytes): 220 bytes over a budget of 100. Step 0 and the event (20 bytes) stay; the
    newest fill the rest of half the budget: 180, 190, 200 (20 + 30 = 50). Of the 17 before
    180, every 20th step keeps 8 (20 + 30 + 80 = 130 > 100), every 40th 4 (90 <= 100)."""
    sizes = [(s, "step", 10) for s in range(0, 201, 10)] + [(55, "event", 10)]
    sizes.sort()
    assert thin_plan(sizes, 10, 100) == (180, 40)
    assert thin_plan(sizes, 10, 220) is None
    assert json.dumps(thin_plan([], 10, 1)) == "null"


def test_a_revived_run_replays_across_its_divergence(api: ApiClient) -> None:
    """A learning rate that diverges, then a smaller one (the run is revived from its last
    finite weights, ``revived``, a trainer restored from them): every recorded step replays,
    the revival's included (its weights are 1e52 by then: stepping on diverges again)."""
    sid, h = api.create(BLOWS_UP)
    seen = {}
    for _ in range(200):
        r = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
        assert r.status_code == 200, r.text
        if r.json()["session"]["status"] == "diverged":
            break
        seen[r.json()["session"]["step"]] = state(api, sid, h)
    assert r.json()["session"]["status"] == "diverged"
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {
        "name": "sgd", "lr": 0.01}}}, headers=h)
    assert r.json()["session"]["reason"] == "revived", r.text
    revived = r.json()["session"]["step"]
    seen[revived] = state(api, sid, h)
    assert len(seen) >= 3 and seen[revived]["status"] == "ok"
    for n, want in seen.items():
        assert state(api, sid, h, f"at/{n}") == want, n


def test_an_imported_session_replays_from_where_it_was_imported(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    step(api, sid, h, 15)
    document = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    r = api.post("/api/sessions/import", json=document, headers=h)
    assert r.status_code == 201, r.text
    copy = r.json()["id"]
    imported = state(api, copy, h)  # the original's weights, without its last step's views
    assert imported["layers"][0]["W"] == state(api, sid, h)["layers"][0]["W"]
    step(api, copy, h, 7)
    assert state(api, copy, h, "at/15") == imported
    step(api, sid, h, 7)
    assert state(api, copy, h, "at/22") == state(api, sid, h)
    r = api.get(f"/api/sessions/{copy}/at/14", headers=h)  # before the import: not recorded
    assert r.status_code == 422 and r.json()["field"] == "step"
    assert "15 … 22" in r.json()["detail"]
