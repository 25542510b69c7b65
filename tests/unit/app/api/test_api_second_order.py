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


VIEWS = ("gradients", "updates", "optimizer", "batchnorm", "batch")


def _state(api: ApiClient, sid: str, h: dict[str, str], url: str = "state") -> dict[str, Any]:
    r = api.get(f"/api/sessions/{sid}/{url}", headers=h, params=[("include", v) for v in VIEWS])
    assert r.status_code == 200, r.text
    body = dict(r.json())
    body.pop("session")
    body.pop("replay", None)
    return body


@pytest.mark.parametrize(
    "changes",
    [
        {"optimizer": {"name": "lbfgs", "max_iter": 4, "line_search_fn": "strong_wolfe"}},
        {"optimizer": {"name": "lbfgs", "max_iter": 2}, "batchnorm": True, "batch_size": 10},
        {"optimizer": {"name": "newton", "damping": 0.01}, "batch_size": 10},
    ],
    ids=["lbfgs-wolfe", "lbfgs-batchnorm-minibatch", "newton-minibatch"],
)
def test_replay_at_every_step_equals_the_recorded_run(
    tmp_path_factory: pytest.TempPathFactory, changes: dict[str, Any]
) -> None:
    """Keyframes restore the L-BFGS memory and Newton's λ: a replay re-trains to the same bits."""
    settings = make_settings(tmp_path_factory.mktemp("replay2"), replay_every=10)
    client = ApiClient(settings)
    try:
        sid, h = client.create({**SMALL, **changes})
        seen = {}
        for n in range(1, 24):
            r = client.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
            assert r.status_code == 200, r.text
            seen[n] = _state(client, sid, h)
        for n, want in seen.items():
            got = _state(client, sid, h, f"at/{n}")
            assert got == want, f"step {n}: {[k for k in want if got.get(k) != want[k]]}"
    finally:
        client.close()


def test_a_race_of_first_and_second_order_optimizers(api: ApiClient) -> None:
    runs = [
        {"name": "adam", "changes": {"optimizer": {"name": "adam", "lr": 0.01}}},
        {"name": "lbfgs", "changes": {"optimizer": {"name": "lbfgs", "max_iter": 3}}},
        {"name": "newton", "changes": {"optimizer": {"name": "newton"}}},
    ]
    r = api.post("/api/races", json={"config": SMALL, "runs": runs})
    assert r.status_code == 201, r.text
    race, h = r.json()["race"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
    assert all(run["same_start"] and run["same_batches"] for run in race["runs"])
    r = api.post(f"/api/races/{race['id']}/step", json={"count": 4}, headers=h)
    assert r.status_code == 200, r.text
    assert {run["state"]["step"] for run in r.json()["runs"]} == {4}
    losses = {run["name"]: run["state"]["loss"] for run in r.json()["runs"]}
    assert all(v is not None for v in losses.values())
    # a race run over newton's limit is refused naming the field, nothing half made
    wide = {
        "name": "wide newton",
        "changes": {
            "optimizer": {"name": "newton"},
            "hidden": [{"units": 8, "activation": "tanh"}],
        },
    }
    r = api.post("/api/races", json={"config": SMALL, "runs": [runs[0], wide]})
    assert r.status_code == 422 and r.json()["limit"] == "newton_max_params", r.text


def test_lbfgs_memory_is_bounded_naming_history_size(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # SMALL has 2·3 + 3 + 3 + 1 = 13 parameters: 2 × 100 × 13 = 2600 numbers at torch's default
    client = ApiClient(make_settings(tmp_path_factory.mktemp("mem"), max_lbfgs_memory=1000))
    try:
        r = client.post("/api/sessions", json={"config": {**SMALL, "optimizer": "lbfgs"}})
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["field"] == "optimizer.history_size" and body["limit"] == "max_lbfgs_memory"
        assert body["max"] == 1000 and "2600" in body["detail"]
        small = {**SMALL, "optimizer": {"name": "lbfgs", "history_size": 30}}  # 780 numbers
        sid, h = client.create(small)
        r = client.patch(
            f"/api/sessions/{sid}",
            json={"config": {"optimizer": {"history_size": 50}}},
            headers=h,
        )
        assert r.status_code == 422 and r.json()["field"] == "optimizer.history_size", r.text
    finally:
        client.close()
