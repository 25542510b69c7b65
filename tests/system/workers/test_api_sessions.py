"""REST API: creating, driving, changing, exporting and deleting sessions (in-process app)."""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import FAST, ApiClient, make_settings, wait_status

from app.main import GC_THRESHOLDS


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


def test_create_returns_id_token_cookie_and_state(api: ApiClient) -> None:
    r = api.post("/api/sessions", json={"config": FAST, "name": "first"})
    assert r.status_code == 201
    body = r.json()
    assert len(body["id"]) >= 22 and len(body["owner_token"]) >= 43  # >= 128 bits each
    assert body["session"]["status"] == "paused" and body["session"]["step"] == 0
    assert body["session"]["name"] == "first"
    assert len(body["state"]["layers"]) == 2
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=lax" in cookie
    # the cookie alone authenticates the browser
    token = body["owner_token"]
    listed = api.get("/api/sessions", headers={"Cookie": f"bpp_owner={token}"}).json()
    assert [s["id"] for s in listed] == [body["id"]]


def test_bearer_owner_keeps_its_sessions_together(api: ApiClient) -> None:
    sid1, headers = api.create()
    token = headers["Authorization"].split()[1]
    sid2, _ = api.create(token=token)
    listed = api.get("/api/sessions", headers=headers).json()
    assert [s["id"] for s in listed] == [sid1, sid2]
    assert api.get("/api/sessions").json() == []  # no owner, no sessions


def test_step_count_epoch_and_phases(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    assert r.status_code == 200
    assert [rec["step"] for rec in r.json()["records"]] == [1, 2, 3]
    assert r.json()["session"]["seq"] == 3
    r = api.post(f"/api/sessions/{sid}/step", headers=h)  # no body: one iteration
    assert r.status_code == 200 and [rec["step"] for rec in r.json()["records"]] == [4], r.text
    r = api.post(f"/api/sessions/{sid}/step", json={"unit": "epoch"}, headers=h).json()
    ipe = r["session"]["iterations_per_epoch"]
    assert r["session"]["step"] == ipe and r["session"]["epoch"] == 1
    # phases: forward per layer, loss, backward per layer from the output back, update
    ran = []
    for _ in range(6):
        r = api.post(f"/api/sessions/{sid}/step", json={"phase": "next"}, headers=h).json()
        ran.append((r["ran"]["phase"], r["ran"]["layer"]))
    assert ran == [("forward", 0), ("forward", 1), ("loss", None), ("backward", 1),
                   ("backward", 0), ("update", None)]
    assert r["records"][0]["step"] == ipe + 1
    bad = api.post(f"/api/sessions/{sid}/step", json={"phase": "update"}, headers=h)
    assert bad.status_code == 409 and bad.json()["field"] == "phase"
    state = api.post(f"/api/sessions/{sid}/step", json={"phase": "forward",
                     "include": ["gradients"]}, headers=h).json()["state"]
    assert "dW" in state["layers"][0]


@pytest.mark.timed
def test_run_pause_and_budget_finish(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/run", json={"steps": 300}, headers=h)
    assert r.status_code == 200 and r.json()["status"] in ("running", "finished")
    done = wait_status(api, sid, h, "finished")
    assert done["step"] == 300
    r = api.post(f"/api/sessions/{sid}/run", json={"steps": 1_000_000, "speed": 200}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "running"
    time.sleep(0.3)
    conflict = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
    assert conflict.status_code == 409
    paused = api.post(f"/api/sessions/{sid}/pause", headers=h).json()
    assert paused["status"] == "paused"
    # speed 200 steps/s for ~0.3 s: far fewer than an unthrottled run would do
    assert 300 < paused["step"] < 300 + 200


def test_run_budget_in_epochs_is_that_many_epochs_of_iterations(api: ApiClient) -> None:
    """100 training rows, batch 50, 100 epochs = 200 iterations (the study notes' count)."""
    counting = {"dataset": {"name": "circle", "n_samples": 200, "split": {"train": 0.5,
                "val": 0.0, "test": 0.5}}, "batch_size": 50}
    sid, h = api.create(counting)
    r = api.post(f"/api/sessions/{sid}/run", json={"epochs": 100}, headers=h)
    assert r.status_code == 200
    done = wait_status(api, sid, h, "finished")
    assert done["step"] == 200
    state = api.get(f"/api/sessions/{sid}/state", headers=h).json()
    assert state["epoch"] == 100
    both = api.post(f"/api/sessions/{sid}/run", json={"epochs": 1, "steps": 2}, headers=h)
    assert both.status_code == 422
    big = api.post(f"/api/sessions/{sid}/run", json={"epochs": 999_999}, headers=h)
    assert big.status_code == 422 and big.json()["field"] == "epochs"


def test_run_budget_is_bounded(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/run", json={"steps": 10**9}, headers=h)
    assert r.status_code == 422 and r.json()["limit"] == "max_run_steps"


def test_patch_live_keeps_state_and_architecture_resets(api: ApiClient) -> None:
    sid, h = api.create(dict(FAST, optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9}))
    api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
    before = api.get(f"/api/sessions/{sid}/state?include=optimizer", headers=h).json()
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {"lr": 0.05}}}, headers=h)
    assert r.status_code == 200
    assert r.json()["reset"] is False and r.json()["changed"] == ["optimizer"]
    after = api.get(f"/api/sessions/{sid}/state?include=optimizer", headers=h).json()
    assert after["iteration"] == 5 and after["layers"] == before["layers"]
    assert after["optimizer"] == before["optimizer"]  # momentum buffers kept
    assert r.json()["session"]["config"]["optimizer"]["lr"] == 0.05
    rec = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h).json()["records"]
    assert rec[0]["lr"] == 0.05
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"hidden": [{"units": 6}]}}, headers=h)
    body = r.json()
    assert body["reset"] is True and body["changed"] == ["hidden"]
    assert body["session"]["step"] == 0 and body["session"]["generation"] == 1
    assert body["session"]["seq"] == 6  # sequence numbers keep growing across a reset


def test_patch_to_data_of_another_task_takes_its_loss(api: ApiClient) -> None:
    """The page's dataset picker sends only the dataset: classification -> regression -> digits."""
    sid, h = api.create()
    for name, loss, out in (("reg_plane", "mse", "linear"), ("digits", "ce", "softmax")):
        r = api.patch(f"/api/sessions/{sid}", json={"config": {"dataset": {"name": name}}},
                      headers=h)
        assert r.status_code == 200, r.text
        config = r.json()["session"]["config"]
        assert r.json()["reset"] is True
        assert (config["loss"]["name"], config["output_activation"]) == (loss, out)
    # a loss named in the same change is kept (and checked)
    r = api.patch(f"/api/sessions/{sid}", headers=h, json={
        "config": {"dataset": {"name": "circle"}, "loss": {"name": "mse"}}})
    config = r.json()["session"]["config"]
    assert (config["loss"]["name"], config["output_activation"]) == ("mse", "sigmoid")


def test_patch_bad_value_names_field(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {"lr": -1}}}, headers=h)
    assert r.status_code == 422
    assert r.json()["field"].startswith("optimizer")


def test_reset_gives_fresh_weights_same_seed(api: ApiClient) -> None:
    sid, h = api.create()
    w0 = api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"]
    api.post(f"/api/sessions/{sid}/step", json={"count": 20}, headers=h)
    r = api.post(f"/api/sessions/{sid}/reset", headers=h).json()
    assert r["step"] == 0 and r["generation"] == 1 and r["seq"] == 20
    assert api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"] == w0


def test_reset_with_changed_settings_is_one_request(api: ApiClient) -> None:
    """The divergence alert's cure: the rate and the reset together; a bad value refuses both."""
    sid, h = api.create()
    w0 = api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"]
    api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
    body = {"config": {"optimizer": {"lr": 0.01}}}
    r = api.post(f"/api/sessions/{sid}/reset", json=body, headers=h).json()
    assert r["generation"] == 1 and r["step"] == 0 and r["reason"] == "reset"
    assert r["config"]["optimizer"]["lr"] == 0.01
    assert api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"] == w0
    bad = api.post(f"/api/sessions/{sid}/reset", json={"config": {"batch_size": 0}}, headers=h)
    assert bad.status_code == 422 and "batch_size" in bad.text
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["generation"] == 1  # not reset


def test_weights_edit_one_and_whole(api: ApiClient) -> None:
    sid, h = api.create()
    r = api.put(f"/api/sessions/{sid}/weights",
                json={"layer": 0, "param": "W", "index": [1, 2], "value": 0.5}, headers=h)
    assert r.status_code == 200 and r.json()["layers"][0]["W"][1][2] == 0.5
    r = api.put(f"/api/sessions/{sid}/weights",
                json={"layer": 1, "param": "b", "value": [0.25]}, headers=h)
    assert r.status_code == 200 and r.json()["layers"][1]["b"] == [0.25]
    bad = api.put(f"/api/sessions/{sid}/weights",
                  json={"layer": 1, "param": "b", "value": [1.0, 2.0]}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "value"
    bad = api.put(f"/api/sessions/{sid}/weights",
                  json={"layer": 9, "param": "W", "value": 1.0, "index": [0, 0]}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "layer"


def test_export_import_continues_bit_identically(api: ApiClient) -> None:
    sid, h = api.create(dict(FAST, optimizer={"name": "adam", "lr": 0.01}))
    api.post(f"/api/sessions/{sid}/step", json={"count": 13}, headers=h)
    doc = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    r = api.post("/api/sessions/import", json=doc, headers=h)
    assert r.status_code == 201
    copy = r.json()["id"]
    assert r.json()["session"]["step"] == 13
    a = api.post(f"/api/sessions/{sid}/step", json={"count": 7}, headers=h).json()
    b = api.post(f"/api/sessions/{copy}/step", json={"count": 7}, headers=h).json()
    assert a["records"] == b["records"] and a["state"]["layers"] == b["state"]["layers"]
    bad = api.post("/api/sessions/import", json={"format": "x", "checkpoint": {}}, headers=h)
    assert bad.status_code == 422 and bad.json()["field"] == "format"
    broken = dict(doc, checkpoint=dict(doc["checkpoint"], params=[[1.0]]))
    bad = api.post("/api/sessions/import", json=broken, headers=h)
    assert bad.status_code == 422 and bad.json()["field"].startswith("checkpoint")


def test_import_bounds_every_counter_and_the_data_order(api: ApiClient) -> None:
    """A checkpoint's counters, batch order and status are checked on import: an iteration of
    2**70 reached SQLite and ended its writer thread (every later write hung), a bad order
    failed every later step with a 500."""
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    doc = api.get(f"/api/sessions/{sid}/export", headers=h).json()
    n = len(doc["checkpoint"]["perm"])
    for key, value in [
        ("iteration", 2**70),
        ("iteration", -1),
        ("epoch", 1e308),
        ("samples_seen", True),
        ("pointer", n + 1),
        ("perm", []),
        ("perm", [0] * n),
        ("status", "exploded"),
        ("divergence", 5),
    ]:
        broken = dict(doc, checkpoint=dict(doc["checkpoint"], **{key: value}))
        r = api.post("/api/sessions/import", json=broken, headers=h)
        assert r.status_code == 422, (key, value, r.text)
        assert r.json()["field"] == f"checkpoint.{key}", (key, r.json())
    # the server still writes
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h).status_code == 200


def test_delete_then_404(api: ApiClient) -> None:
    sid, h = api.create()
    assert api.delete(f"/api/sessions/{sid}", headers=h).status_code == 204
    assert api.get(f"/api/sessions/{sid}", headers=h).status_code == 404
    assert api.delete(f"/api/sessions/{sid}", headers=h).status_code == 404
    assert api.get("/api/sessions", headers=h).json() == []


def reject(name: str) -> None:
    raise AssertionError(f"{name} in a response")


def test_divergence_is_a_state_and_never_nan(api: ApiClient) -> None:
    r = api.post("/api/sessions", json={"preset": "lr-too-large"})
    sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
    api.post(f"/api/sessions/{sid}/run", json={"steps": 5000}, headers=h)
    body = wait_status(api, sid, h, "diverged")
    assert body["divergence"]
    for url in (f"/api/sessions/{sid}", f"/api/sessions/{sid}/history",
                f"/api/sessions/{sid}/state?include=gradients&include=updates&include=metrics"):
        json.loads(api.get(url, headers=h).text, parse_constant=reject)
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
    assert r.status_code == 409
    r = api.post(f"/api/sessions/{sid}/run", headers=h)
    assert r.status_code == 409
    # a smaller learning rate continues from the last finite weights
    before = api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"]
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {"lr": 0.001}}},
                  headers=h)
    assert r.json()["reset"] is False and r.json()["session"]["status"] == "paused"
    assert r.json()["session"]["step"] == body["step"]
    assert api.get(f"/api/sessions/{sid}/state", headers=h).json()["layers"] == before
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    assert r.status_code == 200  # steppable again (it may diverge again from such weights)
    assert api.post(f"/api/sessions/{sid}/reset", headers=h).json()["status"] == "paused"


def test_inline_data(api: ApiClient) -> None:
    config = {"dataset": {"name": "inline", "x": [[0, 0], [0, 1], [1, 0], [1, 1]] * 5,
                          "y": [0, 1, 1, 0] * 5}, "hidden": [{"units": 3}]}
    sid, h = api.create(config)
    r = api.post(f"/api/sessions/{sid}/step", json={"count": 2}, headers=h)
    assert r.status_code == 200
    bad = {"dataset": {"name": "inline", "x": [[0, 0], [1]], "y": [0, 1]}}
    r = api.post("/api/sessions", json={"config": bad})
    assert r.status_code == 422 and r.json()["field"].startswith("dataset")


def test_clip_norm_null_turns_clipping_off(api: ApiClient) -> None:
    """null means "not given" for every config key except clip_norm, where it means off."""
    sid, h = api.create(dict(FAST, clip_norm=1.0))
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["config"]["clip_norm"] == 1.0
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"clip_norm": None}}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["reset"] is False and r.json()["changed"] == ["clip_norm"]
    assert r.json()["session"]["config"]["clip_norm"] is None
    batch = r.json()["session"]["config"]["batch_size"]
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"batch_size": None}}, headers=h)
    assert r.status_code == 200
    assert r.json()["session"]["config"]["batch_size"] == batch  # null: not given


def test_history_survives_a_patch_and_a_reset(api: ApiClient) -> None:
    """The session row is upserted: an INSERT OR REPLACE deleted it first, and the history
    rows (ON DELETE CASCADE) went with it on every PATCH, even a rename."""
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 30}, headers=h)

    def steps() -> list[int]:
        points = api.get(f"/api/sessions/{sid}/history", headers=h).json()["points"]
        return [p["step"] for p in points]

    assert steps() == list(range(1, 31))
    assert api.patch(f"/api/sessions/{sid}", json={"name": "renamed"}, headers=h).status_code == 200
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"optimizer": {"lr": 0.05}}}, headers=h)
    assert r.status_code == 200
    assert steps() == list(range(1, 31))
    before = api.manager.store.records_after(sid, 0, 1000)
    assert api.post(f"/api/sessions/{sid}/reset", headers=h).status_code == 200
    assert steps() == []  # a new generation starts its own history
    assert api.manager.store.records_after(sid, 0, 1000) == before  # the old one is kept


def test_run_speed_has_a_floor(api: ApiClient) -> None:
    """A speed of 1e-300 steps/s once reached the worker, whose wake-up time then overflowed
    and killed it; below one step per 100 s is refused, naming the field."""
    sid, h = api.create()
    r = api.post(f"/api/sessions/{sid}/run", json={"speed": 1e-300}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "speed", r.text
    r = api.post(f"/api/sessions/{sid}/run", json={"speed": 0.01, "steps": 5}, headers=h)
    assert r.status_code == 200
    api.post(f"/api/sessions/{sid}/pause", headers=h)


def test_the_server_hands_the_gil_back_often_and_collects_young(api: ApiClient) -> None:
    """The app's start sets what keeps a busy server's requests quick (app/main.py): a 1 ms
    GIL switch interval and the classroom's collector thresholds (rare full passes)."""
    assert api.get("/api/healthz").status_code == 200
    assert sys.getswitchinterval() == pytest.approx(0.001)
    assert gc.get_threshold() == GC_THRESHOLDS != (700, 10, 10)
