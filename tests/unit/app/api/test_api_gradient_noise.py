"""GET /api/sessions/{id}/gradient-noise: the engine's numbers as JSON, limits naming the field
and the limit, and a diverged session answered without NaN."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from apptools import FAST, ApiClient, make_settings

from engine.inspect.gradient_noise import gradient_noise


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("noise"), max_noise_batches=20))
    yield client
    client.close()


def engine_result(api: ApiClient, sid: str, **kw: Any) -> dict[str, Any]:
    session = api.manager.sessions[sid]
    with session.lock:
        return gradient_noise(api.manager.load(session), **kw)


def flat(layers: list[dict[str, Any]]) -> np.ndarray:
    return np.concatenate(
        [np.ravel(layer[k]) for layer in layers for k in ("W", "b", "gamma", "beta") if k in layer]
    )


def test_the_json_is_the_engines(api: ApiClient) -> None:
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
    url = f"/api/sessions/{sid}/gradient-noise?batches=6&seed=4&include=vectors"
    body = api.get(url, headers=h).json()
    engine = engine_result(api, sid, batches=6, seed=4)
    assert body["iteration"] == 5 and body["batch_size"] == FAST["batch_size"]
    assert np.array_equal(flat(body["full"]["gradient"]), engine["full"]["gradient"])
    assert body["full"]["norm"] == engine["full"]["norm"]
    assert len(body["batches"]) == 6
    for got, want in zip(body["batches"], engine["batches"], strict=True):
        assert got["cosine"] == want["cosine"] and got["norm"] == want["norm"]
        assert got["indices"] == want["indices"]
        assert np.array_equal(flat(got["gradient"]), want["gradient"])
    assert body["summary"] == json.loads(json.dumps(engine["summary"]))
    # layer shapes: W (fan_in, fan_out), b (fan_out,)
    assert np.shape(body["full"]["gradient"][0]["W"]) == (2, 4)
    small = api.get(f"/api/sessions/{sid}/gradient-noise?batches=6&seed=4", headers=h).json()
    assert "gradient" not in small["batches"][0] and "average" not in small
    assert small["summary"] == body["summary"]


def test_covering_batches_average_to_the_full_gradient(api: ApiClient) -> None:
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    url = f"/api/sessions/{sid}/gradient-noise?cover=true&include=vectors"
    body = api.get(url, headers=h).json()
    n = body["n_train"]
    assert sum(b["size"] for b in body["batches"]) == n
    weighted = sum(b["size"] * flat(b["gradient"]) for b in body["batches"]) / n
    full = flat(body["full"]["gradient"])
    assert np.linalg.norm(weighted - full) <= 1e-12 * np.linalg.norm(full)


@pytest.mark.parametrize(
    ("query", "field", "limit"),
    [
        ("batches=21", "batches", "max_noise_batches"),
        ("batches=0", "batches", None),
        ("cover=true", "batches", "max_noise_batches"),  # N covering batches of 1
        ("include=everything", "include", None),
        ("seed=-1", "seed", None),
    ],
)
def test_limits_name_the_field(api: ApiClient, query: str, field: str, limit: str | None) -> None:
    sid, h = api.create({**FAST, "batch_size": 1})
    r = api.get(f"/api/sessions/{sid}/gradient-noise?{query}", headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    if limit:
        assert r.json()["limit"] == limit


def test_the_work_limit(tmp_path_factory: pytest.TempPathFactory) -> None:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("work"), max_noise_work=1000))
    try:
        sid, h = client.create()
        r = client.get(f"/api/sessions/{sid}/gradient-noise?batches=2", headers=h)
        assert r.status_code == 422 and r.json()["limit"] == "max_noise_work", r.text
        assert r.json()["field"] == "batches"
    finally:
        client.close()


def test_a_diverged_session_answers_without_nan(api: ApiClient) -> None:
    config = {**FAST, "optimizer": {"name": "sgd", "lr": 1e8}, "hidden": [{"units": 4}]}
    config["dataset"] = {"name": "reg_plane", "n_samples": 60, "seed": 1}
    config["output_activation"], config["loss"] = "linear", "mse"
    sid, h = api.create(config)
    api.post(f"/api/sessions/{sid}/step", json={"count": 30}, headers=h)
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["status"] == "diverged"
    r = api.get(f"/api/sessions/{sid}/gradient-noise?batches=4&include=vectors", headers=h)
    assert r.status_code == 200, r.text
    assert "NaN" not in r.text and "Infinity" not in r.text
    json.loads(r.text, parse_constant=lambda c: pytest.fail(f"{c} in the JSON"))
