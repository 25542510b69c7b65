"""/chain and /phase-numbers: the engine's numbers over REST, 422 naming the field for a
weight outside the net, and valid JSON (no NaN) from a diverged session."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings

from engine.inspect.chain import chain
from engine.inspect.phase_numbers import phase_numbers
from engine.trainer import Trainer

STEPS = 7


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("explain")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def trained(api: ApiClient) -> tuple[str, dict[str, str]]:
    sid, h = api.create({**FAST, "optimizer": {"name": "adam", "lr": 0.01}, "probe": 4})
    r = api.post(f"/api/sessions/{sid}/step", json={"count": STEPS}, headers=h)
    assert r.status_code == 200, r.text
    return sid, h


def same_run(api: ApiClient, sid: str, h: dict[str, str]) -> Trainer:
    """The session's run repeated here from its config (training is seeded)."""
    config = api.get(f"/api/sessions/{sid}", headers=h).json()["config"]
    t = Trainer(config)
    t.step(STEPS)
    return t


def strict(text: str) -> Any:
    def no(value: str) -> None:
        raise AssertionError(f"{value} in a response")

    return json.loads(text, parse_constant=no)


def test_chain_equals_the_engine_and_the_stored_gradient(
    api: ApiClient, trained: tuple[str, dict[str, str]]
) -> None:
    sid, h = trained
    t = same_run(api, sid, h)
    state = api.get(f"/api/sessions/{sid}/state?include=gradients", headers=h).json()
    for layer, i, j in ((0, 1, 2), (1, 3, 0)):
        r = api.get(
            f"/api/sessions/{sid}/chain", params={"layer": layer, "i": i, "j": j}, headers=h
        )
        assert r.status_code == 200, r.text
        body = strict(r.text)
        body.pop("session")
        assert body == chain(t, layer, i, j)
        assert body["batch"]["stored"] == state["layers"][layer]["dW"][i][j]
        assert body["batch"]["total"] == pytest.approx(body["batch"]["stored"], rel=1e-10)
        assert body["example"]["product"] == pytest.approx(body["example"]["trace_dW"], rel=1e-10)
        assert body["example"]["index"] == 4


def test_phase_numbers_equal_the_engine(
    api: ApiClient, trained: tuple[str, dict[str, str]]
) -> None:
    sid, h = trained
    t = same_run(api, sid, h)
    r = api.get(f"/api/sessions/{sid}/phase-numbers?layer=0&i=0&j=1", headers=h)
    assert r.status_code == 200, r.text
    body = strict(r.text)
    body.pop("session")
    assert body == phase_numbers(t, 0, 0, 1)
    state = api.get(f"/api/sessions/{sid}/state", headers=h).json()
    assert body["update"]["w_new"] == pytest.approx(state["layers"][0]["W"][0][1], rel=1e-12)
    assert body["loss"]["batch"] == state["loss"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("layer=2", "layer"),
        ("layer=0&i=2", "i"),
        ("layer=1&j=1", "j"),
        ("i=-1", "i"),
        ("layer=x", "layer"),
    ],
)
def test_weights_outside_the_net_are_422_naming_the_field(
    api: ApiClient, trained: tuple[str, dict[str, str]], query: str, field: str
) -> None:
    sid, h = trained
    for path in ("chain", "phase-numbers"):
        r = api.get(f"/api/sessions/{sid}/{path}?{query}", headers=h)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["field"] == field, body
        if query in ("layer=2", "layer=0&i=2", "layer=1&j=1"):
            assert "outside 0.." in body["detail"]


def test_a_diverged_session_still_answers_json(api: ApiClient) -> None:
    sid, h = api.create(
        {
            "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 10.0},
            "batch_size": 10,
        }
    )
    api.post(f"/api/sessions/{sid}/step", json={"count": 50}, headers=h)
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["status"] == "diverged"
    for path in ("chain", "phase-numbers"):
        for layer in (0, 1):
            r = api.get(f"/api/sessions/{sid}/{path}?layer={layer}", headers=h)
            assert r.status_code == 200, r.text
            strict(r.text)


def test_the_page_selects_a_weight_of_its_net(
    api: ApiClient, trained: tuple[str, dict[str, str]]
) -> None:
    sid, h = trained
    ok = api.put(f"/api/sessions/{sid}/ui", json={"edge": [0, 1, 3]}, headers=h)
    assert ok.status_code == 204, ok.text
    for edge, part in (([2, 0, 0], "layer"), ([0, 2, 0], "i"), ([1, 0, 1], "j")):
        r = api.put(f"/api/sessions/{sid}/ui", json={"edge": edge}, headers=h)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["field"] == "edge" and f"{part}:" in body["detail"], body
    short = api.put(f"/api/sessions/{sid}/ui", json={"edge": [0, 1]}, headers=h)
    assert short.status_code == 422 and short.json()["field"].startswith("edge")
