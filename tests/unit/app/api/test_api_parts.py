"""PReLU, thresholded ReLU, RMSE and the notes' metrics through the REST API: the catalog
offers them, /state shows α and the metrics, the export round-trips α, bad values get a 422
naming the field."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings

PRELU = {
    **FAST,
    "hidden": [
        {"units": 4, "activation": "prelu", "activation_params": {"num_parameters": "unit"}},
        {"units": 3, "activation": "thresholded_relu", "activation_params": {"theta": 0.2}},
    ],
    "optimizer": {"name": "adam", "lr": 0.01},
}


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("parts")))
    yield client
    client.close()


def test_catalog_offers_the_new_parts(api: ApiClient) -> None:
    acts = {e["name"]: e for e in api.get("/api/catalog/activations").json()}
    prelu = {p["name"]: p for p in acts["prelu"]["params"]}
    assert prelu["num_parameters"]["choices"] == ["layer", "unit"]
    assert prelu["init"]["default"] == 0.25
    assert acts["thresholded_relu"]["params"][0]["default"] == 1.0
    assert "rmse" in {e["name"] for e in api.get("/api/catalog/losses").json()}


def test_state_shows_alpha_and_the_metrics_and_export_keeps_alpha(api: ApiClient) -> None:
    sid, h = api.create(PRELU)
    api.post(f"/api/sessions/{sid}/step", json={"count": 12}, headers=h)
    views = [("include", v) for v in ("gradients", "updates", "optimizer", "metrics")]
    body = api.get(f"/api/sessions/{sid}/state", headers=h, params=views).json()
    first = body["layers"][0]
    assert len(first["alpha"]) == 4 and len(first["dalpha"]) == 4
    assert first["alpha"] != [0.25] * 4  # Adam moved every α
    assert "alpha" not in body["layers"][1]
    assert set(body["optimizer"]["layers"][0]) == {"W", "b", "alpha"}
    test = body["metrics"]["test"]
    scores = {"accuracy", "f1_macro", "precision", "recall", "f1", "support", "confusion"}
    assert scores <= set(test)
    assert sum(map(sum, test["confusion"])) == sum(test["support"])
    # the export carries α among the params, and an import continues from it
    doc = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    r = api.post("/api/sessions/import", json=doc)
    assert r.status_code == 201, r.text
    new = r.json()
    again = api.get(f"/api/sessions/{new['id']}/state",
                    headers={"Authorization": f"Bearer {new['owner_token']}"}).json()
    assert again["layers"][0]["alpha"] == first["alpha"]


def test_weights_edit_reaches_alpha(api: ApiClient) -> None:
    sid, h = api.create(PRELU)
    r = api.put(f"/api/sessions/{sid}/weights", headers=h,
                json={"layer": 0, "param": "alpha", "value": 0.5, "index": [1]})
    assert r.status_code == 200, r.text
    assert r.json()["layers"][0]["alpha"] == [0.25, 0.5, 0.25, 0.25]
    r = api.put(f"/api/sessions/{sid}/weights", headers=h,
                json={"layer": 1, "param": "alpha", "value": 0.5})
    assert r.status_code == 422 and r.json()["field"] == "param"


def test_regression_metrics_and_rmse(api: ApiClient) -> None:
    config = {**FAST, "dataset": {"name": "reg_plane", "n_samples": 100}, "loss": "rmse"}
    sid, h = api.create(config)
    api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
    m = api.get(f"/api/sessions/{sid}/state?include=metrics", headers=h).json()["metrics"]
    for entry in m.values():
        assert {"loss", "mae", "rmse", "r2"} <= set(entry)
        assert entry["loss"] == pytest.approx(entry["rmse"], rel=1e-12)


def layer(params: dict[str, Any], activation: str = "prelu") -> dict[str, Any]:
    return {**FAST, "hidden": [{"units": 3, "activation": activation,
                                "activation_params": params}]}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        # JSON has no infinity, but Python's parser reads 1e999 as one
        (json.dumps({"config": layer({"init": 0})}).replace('"init": 0', '"init": 1e999'),
         "hidden.0.activation_params.init"),
        (json.dumps({"config": layer({"num_parameters": "all"})}),
         "hidden.0.activation_params.num_parameters"),
        (json.dumps({"config": layer({"theta": -0.5}, "thresholded_relu")}),
         "hidden.0.activation_params.theta"),
        (json.dumps({"config": {**FAST, "loss": {"name": "rmse", "delta": 1}}}), "loss.delta"),
    ],
)
def test_bad_values_get_a_422_naming_the_field(api: ApiClient, body: str, field: str) -> None:
    r = api.post("/api/sessions", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["field"].endswith(field), r.json()
