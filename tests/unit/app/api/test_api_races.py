"""Races over REST (in-process app): the runs start from the same weights and see the same
batches (read back through each run's own ``/state``), the shares the race reports are the
truth, every run is a normal session, limits and bad input are 4xx naming the field, a reset
goes back to a common start, and a delete takes the sessions with it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from apptools import FAST, ApiClient, make_settings

from app.sessions.race_presets import RACE_PRESETS
from engine.config import merge_config
from engine.trainer import Trainer

ADAM = {"optimizer": {"name": "adam", "lr": 0.01}}
MOMENTUM = {"optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}}
OTHER_INIT = {"init": {"name": "he_uniform"}}
WIDER = {"hidden": [{"units": 6, "activation": "tanh"}]}
DROPOUT = {"dropout": 0.3}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path, max_races_per_owner=2))
    yield client
    client.close()


def create(api: ApiClient, runs: list[dict[str, Any]], **body: Any) -> tuple[dict, dict]:
    r = api.post("/api/races", json={"config": FAST, "runs": runs, **body})
    assert r.status_code == 201, r.text
    data = r.json()
    return data["race"], {"Authorization": f"Bearer {data['owner_token']}"}


def state(api: ApiClient, sid: str, h: dict[str, str], *include: str) -> dict[str, Any]:
    r = api.get(f"/api/sessions/{sid}/state", headers=h, params=[("include", v) for v in include])
    assert r.status_code == 200, r.text
    return dict(r.json())


def weights(body: dict[str, Any]) -> list[Any]:
    return [(layer["W"], layer["b"]) for layer in body["layers"]]


def test_same_start_and_same_batches_read_back_through_each_run(api: ApiClient) -> None:
    runs = [
        {"name": "sgd", "changes": {}},
        {"name": "adam", "changes": ADAM},
        {"name": "momentum", "changes": MOMENTUM},
        {"name": "he", "changes": OTHER_INIT},
        {"name": "wider", "changes": WIDER},
        {"name": "batch 5", "changes": {"batch_size": 5}},
    ]
    race, h = create(api, runs)
    shares = [(r["same_start"], r["same_batches"]) for r in race["runs"]]
    assert shares == [(True, True), (True, True), (True, True), (False, True),
                      (False, True), (True, False)]
    ids = [r["session"] for r in race["runs"]]
    start = [weights(state(api, sid, h)) for sid in ids]
    for i, share in enumerate(shares):
        assert (start[i] == start[0]) == share[0], runs[i]["name"]
    # an independent trainer of run 0's config: the race's start is that config's own start
    assert start[0] == weights({"layers": [
        {"W": la.W.tolist(), "b": la.b.tolist()} for la in Trainer(FAST).net.layers]})
    # whole epochs and one step more: the batches stay the same across the reshuffle
    per_epoch = race["runs"][0]["state"]["iterations_per_epoch"]
    for count in (1, per_epoch):
        r = api.post(f"/api/races/{race['id']}/step", json={"count": count}, headers=h)
        assert r.status_code == 200, r.text
        assert {run["state"]["step"] for run in r.json()["runs"]} == {1 + (count > 1) * per_epoch}
        batch = [state(api, sid, h, "batch")["layers"][0]["batch_x"] for sid in ids]
        for i, share in enumerate(shares):
            assert (batch[i] == batch[0]) == share[1], (runs[i]["name"], count)
    # every run is a normal session of the caller
    listed = {s["id"] for s in api.get("/api/sessions", headers=h).json()}
    assert listed == set(ids)


def test_dropout_shares_the_first_epoch_only(api: ApiClient) -> None:
    race, h = create(api, [{"name": "plain", "changes": {}}, {"name": "drop", "changes": DROPOUT}])
    run = race["runs"][1]
    assert (run["same_start"], run["same_batches"], run["same_first_epoch"]) == (True, False, True)
    ids = [r["session"] for r in race["runs"]]
    api.post(f"/api/races/{race['id']}/step", json={"count": 3}, headers=h)
    batch = [state(api, sid, h, "batch")["layers"][0]["batch_x"] for sid in ids]
    assert batch[0] == batch[1]


def test_run_configs_are_base_plus_changes_and_named(api: ApiClient) -> None:
    race, h = create(api, [{"name": "sgd", "changes": {}}, {"name": "adam", "changes": ADAM}])
    got = api.get(f"/api/races/{race['id']}", headers=h).json()
    assert got["runs"][1]["state"]["config"]["optimizer"]["name"] == "adam"
    assert got["runs"][1]["state"]["config"] == Trainer(merge_config(FAST, ADAM)).config
    assert "optimizer.name=adam" in got["runs"][1]["difference"]
    assert got["runs"][0]["difference"] == "base config"


def test_presets_make_races_and_are_listed(api: ApiClient) -> None:
    listed = api.get("/api/catalog/race-presets").json()
    assert [p["name"] for p in listed] == list(RACE_PRESETS)
    assert all(2 <= len(p["runs"]) <= 6 for p in listed)
    r = api.post("/api/races", json={"preset": "optimizers"})
    assert r.status_code == 201, r.text
    race = r.json()["race"]
    assert [run["name"] for run in race["runs"]] == ["SGD", "Momentum 0.9", "RMSProp", "Adam"]
    assert all(run["same_start"] and run["same_batches"] for run in race["runs"])


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"runs": [{"name": "one", "changes": {}}]}, 422, "runs"),
        ({"runs": [{"name": f"r{i}", "changes": {}} for i in range(7)]}, 422, "runs"),
        ({"runs": [{"name": "a", "changes": {}}, {"name": "b", "changes": {
            "optimizer": {"name": "nope"}}}]}, 422, "runs[1].changes.optimizer"),
        ({"runs": [{"name": "a", "changes": {}}, {"name": "b", "changes": {
            "hidden": [{"units": 100000}]}}]}, 422, "runs.1.changes.hidden.0"),
        ({"preset": "no-such-race"}, 422, "preset"),
        ({"runs": [{"name": "", "changes": {}}, {"name": "b"}]}, 422, "runs.0.name"),
    ],
)
def test_bad_input_is_4xx_naming_the_field(
    api: ApiClient, body: dict[str, Any], status: int, field: str
) -> None:
    r = api.post("/api/races", json={"config": FAST, **body})
    assert r.status_code == status, r.text
    assert r.json()["field"].startswith(field), r.json()
    assert api.get("/api/sessions").json() == []  # nothing half made


def test_limit_names_the_setting(api: ApiClient) -> None:
    r = api.post("/api/races", json={"config": FAST, "runs": [
        {"name": f"r{i}", "changes": {}} for i in range(7)]})
    assert r.json()["limit"] == "max_race_runs" and r.json()["max"] == 6


def test_races_per_owner_and_sessions_quota(api: ApiClient) -> None:
    two = [{"name": "a", "changes": {}}, {"name": "b", "changes": ADAM}]
    _, h = create(api, two)
    r = api.post("/api/races", json={"config": FAST, "runs": two}, headers=h)
    assert r.status_code == 201
    r = api.post("/api/races", json={"config": FAST, "runs": two}, headers=h)
    assert r.status_code == 429 and r.json()["limit"] == "max_races_per_owner", r.text
    assert r.json()["field"] == "races"
    assert len(api.get("/api/races", headers=h).json()) == 2


def test_sessions_quota_counts_the_runs(tmp_path: Path) -> None:
    client = ApiClient(make_settings(tmp_path, max_sessions_per_owner=3))
    try:
        sid, h = client.create(FAST)
        r = client.post("/api/races", headers=h, json={"config": FAST, "runs": [
            {"name": "a", "changes": {}}, {"name": "b", "changes": ADAM},
            {"name": "c", "changes": MOMENTUM}]})
        assert r.status_code == 429 and r.json()["limit"] == "max_sessions_per_owner"
        assert [s["id"] for s in client.get("/api/sessions", headers=h).json()] == [sid]
    finally:
        client.close()


def test_reset_goes_back_to_a_common_start(api: ApiClient) -> None:
    race, h = create(api, [{"name": "sgd", "changes": {}}, {"name": "adam", "changes": ADAM}])
    ids = [r["session"] for r in race["runs"]]
    start = weights(state(api, ids[0], h))
    api.post(f"/api/races/{race['id']}/step", json={"count": 20}, headers=h)
    assert weights(state(api, ids[1], h)) != start
    r = api.post(f"/api/races/{race['id']}/reset", headers=h)
    assert r.status_code == 200, r.text
    assert [run["state"]["step"] for run in r.json()["runs"]] == [0, 0]
    assert [run["state"]["generation"] for run in r.json()["runs"]] == [1, 1]
    assert all(weights(state(api, sid, h)) == start for sid in ids)


def test_delete_removes_the_sessions_and_foreign_races_are_404(api: ApiClient) -> None:
    race, h = create(api, [{"name": "sgd", "changes": {}}, {"name": "adam", "changes": ADAM}])
    _, other = api.create(FAST)
    assert api.get(f"/api/races/{race['id']}", headers=other).status_code == 404
    assert api.delete(f"/api/races/{race['id']}", headers=other).status_code == 404
    assert api.delete(f"/api/races/{race['id']}", headers=h).status_code == 204
    for run in race["runs"]:
        assert api.get(f"/api/sessions/{run['session']}", headers=h).status_code == 404
    assert api.get(f"/api/races/{race['id']}", headers=h).status_code == 404
    assert api.get("/api/races", headers=h).json() == []


def test_step_of_a_race_equals_each_config_trained_alone(api: ApiClient) -> None:
    race, h = create(api, [{"name": "sgd", "changes": {}}, {"name": "adam", "changes": ADAM}])
    api.post(f"/api/races/{race['id']}/step", json={"count": 15}, headers=h)
    for run, changes in zip(race["runs"], ({}, ADAM), strict=True):
        t = Trainer(merge_config(FAST, changes))  # same seed and shapes: the same start
        t.step(15)
        got = state(api, run["session"], h)
        assert np.array_equal(np.asarray(got["layers"][0]["W"]), t.net.layers[0].W)


@pytest.mark.parametrize("name", list(RACE_PRESETS))
def test_every_preset_makes_a_race_within_the_limits(tmp_path: Path, name: str) -> None:
    client = ApiClient(make_settings(tmp_path))
    try:
        r = client.post("/api/races", json={"preset": name})
        assert r.status_code == 201, r.text
        runs = r.json()["race"]["runs"]
        assert [run["name"] for run in runs] == [run["name"] for run in RACE_PRESETS[name]["runs"]]
    finally:
        client.close()
