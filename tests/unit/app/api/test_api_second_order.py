"""lbfgs and newton through the API: catalog, stepping, the readout in /state, the update panel's
numbers, checkpoints, and the 422s naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from apptools import ApiClient, make_settings

SMALL: dict[str, Any] = {
    "dataset": {"name": "circle", "n_samples": 40, "seed": 1},
    "hidden": [{"units": 3, "activation": "tanh"}],
    "batch_size": 40,
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("second"), newton_max_params=30))
    yield client
    client.close()


def test_catalog_offers_both_with_torchs_lbfgs_defaults(api: ApiClient) -> None:
    opts = {e["name"]: e for e in api.get("/api/catalog/optimizers").json()}
    lbfgs = {p["name"]: p for p in opts["lbfgs"]["params"]}
    assert lbfgs["max_iter"]["default"] == 20 and lbfgs["history_size"]["default"] == 100
    assert lbfgs["line_search_fn"]["choices"] == ["strong_wolfe"]
    assert lbfgs["line_search_fn"]["nullable"] is True
    assert {p["name"] for p in opts["newton"]["params"]} == {
        "lr",
        "damping",
        "damping_factor",
        "max_tries",
    }


def test_newton_steps_and_reports_the_hessian(api: ApiClient) -> None:
    sid, h = api.create({**SMALL, "optimizer": {"name": "newton"}})
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    assert r.status_code == 200, r.text
    state = api.get(f"/api/sessions/{sid}/state", headers=h).json()
    info = state["second_order"]
    assert info["eig_min"] <= info["eig_max"] and info["n_evals"] >= 2
    assert info["condition"] is None or info["condition"] >= 1.0
    rows = api.get(f"/api/sessions/{sid}/history", headers=h).json()["points"]
    assert len(rows) == 3 and all(row["n_evals"] >= 2 and "condition" in row for row in rows)


def test_lbfgs_state_reports_evaluations(api: ApiClient) -> None:
    config = {**SMALL, "optimizer": {"name": "lbfgs", "line_search_fn": "strong_wolfe"}}
    sid, h = api.create(config)
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 2}, headers=h).status_code == 200
    state = api.get(f"/api/sessions/{sid}/state", headers=h).json()
    assert state["second_order"]["n_evals"] > 1
    sgd, hs = api.create(SMALL)
    assert api.get(f"/api/sessions/{sgd}/state", headers=hs).json()["second_order"] is None


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"optimizer": {"name": "lbfgs"}, "dropout": 0.1}, "dropout"),
        ({"optimizer": {"name": "lbfgs"}, "clip_norm": 1.0}, "clip_norm"),
        ({"optimizer": {"name": "lbfgs", "history_size": 0}}, "optimizer.history_size"),
        ({"optimizer": {"name": "lbfgs", "line_search_fn": "armijo"}}, "optimizer.line_search_fn"),
        ({"optimizer": {"name": "newton"}, "batchnorm": True}, "batchnorm"),
        ({"optimizer": {"name": "newton", "damping": 0}}, "optimizer.damping"),
        # 2·8 + 8 + 8·1 + 1 = 33 parameters, over this service's newton_max_params = 30
        (
            {"optimizer": {"name": "newton"}, "hidden": [{"units": 8, "activation": "tanh"}]},
            "optimizer.name",
        ),
    ],
)
def test_bad_combinations_are_422_naming_the_field(
    api: ApiClient, config: dict[str, Any], field: str
) -> None:
    r = api.post("/api/sessions", json={"config": {**SMALL, **config}})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field, r.text


def test_live_switch_to_newton_over_the_limit_is_422(api: ApiClient) -> None:
    sid, h = api.create({**SMALL, "hidden": [{"units": 8, "activation": "tanh"}]})
    r = api.patch(
        f"/api/sessions/{sid}", json={"config": {"optimizer": {"name": "newton"}}}, headers=h
    )
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "optimizer.name" and body["limit"] == "newton_max_params"
    # a net under the limit switches live and steps
    sid2, h2 = api.create(SMALL)
    r = api.patch(
        f"/api/sessions/{sid2}", json={"config": {"optimizer": {"name": "newton"}}}, headers=h2
    )
    assert r.status_code == 200, r.text
    assert api.post(f"/api/sessions/{sid2}/step", json={"count": 1}, headers=h2).status_code == 200


def test_export_and_import_keep_lbfgs_memory(api: ApiClient) -> None:
    config = {**SMALL, "optimizer": {"name": "lbfgs", "max_iter": 3, "history_size": 4}}
    sid, h = api.create(config)
    api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    doc = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    memory = doc["checkpoint"]["optimizer"]["memory"]
    assert 0 < len(memory["old_dirs"]) <= 4 and 3 <= memory["n_iter"] <= 9
    r = api.post("/api/sessions/import", json=doc, headers=h)
    assert r.status_code == 201, r.text
    copy = r.json()["id"]
    a = api.post(f"/api/sessions/{sid}/step", json={"count": 2}, headers=h).json()
    b = api.post(f"/api/sessions/{copy}/step", json={"count": 2}, headers=h).json()
    assert [s["loss"] for s in a["records"]] == [s["loss"] for s in b["records"]]
