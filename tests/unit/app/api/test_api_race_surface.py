"""A race's loss surface over REST (in-process app): the grid's centre is run 0's loss at the
common start, each run's current point is its weights projected on the plane, runs of another
surface are marked, the live paths follow the same plane, limits are 4xx naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings

from engine.config import merge_config
from engine.trainer import Trainer

ADAM = {"optimizer": {"name": "adam", "lr": 0.01}}
L2 = {"regularization": {"kind": "l2", "rate": 0.1}}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def race(api: ApiClient, runs: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    r = api.post("/api/races", json={"config": FAST, "runs": runs})
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
    rid = r.json()["id"]
    assert api.post(f"/api/races/{rid}/step", json={"count": 12}, headers=h).status_code == 200
    return rid, h


def test_surface_centre_paths_and_live_paths(api: ApiClient) -> None:
    runs = [
        {"name": "sgd", "changes": {}},
        {"name": "adam", "changes": ADAM},
        {"name": "l2", "changes": L2},
    ]
    rid, h = race(api, runs)
    r = api.get(
        f"/api/races/{rid}/surface",
        params={"directions": "random", "resolution": 5, "seed": 4},
        headers=h,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["surface_of"]["name"] == "sgd" and body["directions"]["directions"] == "random"
    fresh = Trainer(merge_config(FAST, {}))  # the common start, built independently
    start = fresh.net.data_loss(fresh.data.x_train, fresh.data.y_train)
    assert body["centre_loss"] == pytest.approx(start, rel=1e-5)
    assert body["losses"][2][2] == body["centre_loss"]
    assert [r["same_surface"] for r in body["runs"]] == [True, True, False]
    assert body["runs"][2]["differs"] == ["regularization"]
    for run in body["runs"]:
        assert run["projected"] and len(run["path"]) >= 2
        assert run["path"][0] == pytest.approx([0, 0], abs=1e-6)
        assert run["current"] == run["path"][-1] and run["current"] != run["path"][0]
        assert run["steps"][-1] == 12
    assert body["runs"][0]["current"] != body["runs"][1]["current"]  # SGD and Adam part ways
    live = api.get(f"/api/races/{rid}/surface/paths", headers=h)
    assert live.status_code == 200
    assert [r["path"] for r in live.json()["runs"]] == [r["path"] for r in body["runs"]]
    # a reset goes back to the same seeded start: every run is at the plane's origin again
    assert api.post(f"/api/races/{rid}/reset", headers=h).status_code == 200
    again = api.get(f"/api/races/{rid}/surface/paths", headers=h).json()["runs"]
    assert all(r["current"] == pytest.approx([0, 0], abs=1e-6) for r in again)


def test_pca_surface_frames_every_path(api: ApiClient) -> None:
    rid, h = race(api, [{"name": "sgd", "changes": {}}, {"name": "adam", "changes": ADAM}])
    body = api.get(f"/api/races/{rid}/surface", params={"resolution": 5}, headers=h).json()
    assert body["directions"]["directions"] == "pca"
    span = body["range"]
    for run in body["runs"]:
        assert all(abs(v) <= span for pt in run["path"] for v in pt)


def test_paths_before_a_surface_is_a_409(api: ApiClient) -> None:
    rid, h = race(api, [{"name": "a", "changes": {}}, {"name": "b", "changes": ADAM}])
    r = api.get(f"/api/races/{rid}/surface/paths", headers=h)
    assert r.status_code == 409 and r.json()["field"] == "directions"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"resolution": 2}, "resolution"),
        ({"resolution": 1000}, "resolution"),
        ({"resolution": 301}, "resolution"),  # over max_grid
        ({"directions": "sideways"}, "directions"),
        ({"range": -1}, "range"),
        ({"seed": -1}, "seed"),
        ({"directions": "weights", "weight": "0:W:0,0"}, "weight"),
        ({"directions": "weights", "weight": ["0:W:9,9", "0:b:0"]}, "weight.0.index"),
    ],
)
def test_limits_name_the_field(api: ApiClient, params: dict[str, Any], field: str) -> None:
    rid, h = race(api, [{"name": "a", "changes": {}}, {"name": "b", "changes": ADAM}])
    r = api.get(f"/api/races/{rid}/surface", params=params, headers=h)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["field"] == field, r.json()


def test_weights_surface(api: ApiClient) -> None:
    rid, h = race(api, [{"name": "a", "changes": {}}, {"name": "b", "changes": ADAM}])
    r = api.get(
        f"/api/races/{rid}/surface",
        headers=h,
        params={"directions": "weights", "weight": ["0:W:0,0", "0:W:1,0"], "resolution": 3},
    )
    assert r.status_code == 200, r.text
    assert r.json()["directions"]["weights"][1] == {"layer": 0, "param": "W", "index": [1, 0]}
