"""Catalog routes, presets and the health check."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from apptools import ApiClient, make_settings

from app.sessions.presets import PRESETS


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("catalog")))
    yield client
    client.close()


def test_healthz(api: ApiClient) -> None:
    r = api.get("/api/healthz")
    assert r.status_code == 200 and r.json()["ok"] is True


@pytest.mark.parametrize("kind", ["datasets", "activations", "losses", "optimizers",
                                  "schedules", "initializers"])
def test_catalogs_list_params_with_defaults(api: ApiClient, kind: str) -> None:
    entries = api.get(f"/api/catalog/{kind}").json()
    assert entries and all("name" in e and "params" in e for e in entries)
    for entry in entries:
        for param in entry["params"]:
            assert {"name", "kind", "default"} <= set(param)


def test_optimizer_catalog_has_torch_defaults(api: ApiClient) -> None:
    opts = {e["name"]: {p["name"]: p for p in e["params"]}
            for e in api.get("/api/catalog/optimizers").json()}
    assert {"sgd", "adam", "rmsprop", "adagrad", "adamw"} <= set(opts)
    assert opts["adam"]["lr"]["default"] == 1e-3 and opts["adam"]["beta2"]["default"] == 0.999


def test_all_catalogs_at_once(api: ApiClient) -> None:
    body = api.get("/api/catalog").json()
    assert set(body) == {"datasets", "activations", "losses", "optimizers", "schedules",
                         "initializers", "presets"}


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_preset_creates_a_session_that_steps(api: ApiClient, name: str) -> None:
    assert api.get(f"/api/catalog/presets/{name}").status_code == 200
    r = api.post("/api/sessions", json={"preset": name})
    assert r.status_code == 201, r.text
    h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
    step = api.post(f"/api/sessions/{r.json()['id']}/step", json={"count": 2}, headers=h)
    assert step.status_code in (200, 409)  # 409: the diverging preset may diverge at once


def test_preset_with_overrides_and_unknown_preset(api: ApiClient) -> None:
    r = api.post("/api/sessions", json={"preset": "xor-2-4-1",
                                        "config": {"optimizer": {"lr": 0.5}}})
    config = r.json()["session"]["config"]
    assert config["optimizer"]["lr"] == 0.5 and config["hidden"][0]["units"] == 4
    r = api.post("/api/sessions", json={"preset": "nope"})
    assert r.status_code == 422 and r.json()["field"] == "preset"
    assert api.get("/api/catalog/presets/nope").status_code == 404


def test_openapi_documents_every_route(api: ApiClient) -> None:
    paths = api.get("/openapi.json").json()["paths"]
    assert "/api/sessions/{session_id}/events" in paths
    assert api.get("/docs").status_code == 200
