"""lbfgs and newton train in worker processes exactly as locally: the L-BFGS memory and Newton's
λ travel with the trainer, and a live change the worker refuses is a 422 naming the field."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apptools import ApiClient, make_settings, wait_status

from engine.inspect import readouts
from engine.trainer import Trainer

BASE: dict[str, Any] = {
    "dataset": {"name": "circle", "n_samples": 60, "seed": 2},
    "hidden": [{"units": 3, "activation": "tanh"}],
    "batch_size": 12,
    "seed": 3,
}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "lbfgs", "max_iter": 3, "history_size": 5, "line_search_fn": "strong_wolfe"},
        {"name": "newton", "damping": 0.01},
    ],
    ids=["lbfgs", "newton"],
)
def test_a_worker_run_equals_local_training(api: ApiClient, optimizer: dict[str, Any]) -> None:
    config = {**BASE, "optimizer": optimizer}
    sid, h = api.create(config)
    api.post(f"/api/sessions/{sid}/step", json={"count": 2}, headers=h)  # state made here
    assert api.post(f"/api/sessions/{sid}/run", json={"steps": 40}, headers=h).status_code == 200
    assert wait_status(api, sid, h, "finished")["step"] == 42
    t = Trainer(config)
    t.step(42)
    state = api.get(f"/api/sessions/{sid}/state", headers=h).json()
    local = json.loads(json.dumps(readouts.snapshot(t)))
    assert state["layers"] == local["layers"]
    assert state["second_order"] == local["second_order"]
    rows = api.get(f"/api/sessions/{sid}/history", headers=h).json()["points"]
    assert len(rows) == 42 and all(row["n_evals"] >= 1 for row in rows)


def test_a_refused_live_change_to_a_running_lbfgs_names_the_field(api: ApiClient) -> None:
    sid, h = api.create({**BASE, "optimizer": {"name": "lbfgs", "max_iter": 2}})
    api.post(f"/api/sessions/{sid}/run", json={"steps": 1_000_000}, headers=h)
    time.sleep(0.2)
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"clip_norm": 1.0}}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "clip_norm", r.text
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["status"] == "running"
    api.post(f"/api/sessions/{sid}/pause", headers=h)
