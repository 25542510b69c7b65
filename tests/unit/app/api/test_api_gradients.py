"""The gradient check and the gradient flow through the REST API: the JSON is the engine's, the
page's panel shows the same result, history rows with metrics carry the flow, and the one
"activation for all layers" PATCH turns the vanishing-sigmoid picture into ReLU/He's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from apptools import FAST, ApiClient, make_settings

from app.page.controls import all_activation
from app.page.draw.palette import fmt
from engine.inspect.flow import flow
from engine.inspect.gradcheck import gradcheck

TIMINGS = ("backprop_seconds", "numerical_seconds", "time_ratio")
SIGMOID_BOUND, RELU_BOUND = 1e-2, 1e-1  # as tests/unit/engine/inspect/test_flow.py measured


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("gradients")))
    yield client
    client.close()


def session_of(api: ApiClient, sid: str) -> Any:
    return api.manager.sessions[sid]


def test_rest_gradcheck_is_the_engines(api: ApiClient) -> None:
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 7}, headers=h)
    body = api.get(f"/api/sessions/{sid}/gradcheck", headers=h).json()
    session = session_of(api, sid)
    with session.lock:
        engine = gradcheck(api.manager.load(session))
    for key in TIMINGS:
        assert body.pop(key) > 0
        engine.pop(key)
    assert body.pop("limit") == api.settings.max_gradcheck_params and body.pop("step") == 7
    assert body == json.loads(json.dumps(engine))
    assert not body["sampled"] and body["checked"] == body["n_params"]


def test_panel_shows_the_apis_numbers(api: ApiClient) -> None:
    sid, h = api.create()
    api.post(f"/api/sessions/{sid}/step", json={"count": 3}, headers=h)
    html = api.get(f"/api/sessions/{sid}/gradcheck.html", headers=h).text
    body = api.get(f"/api/sessions/{sid}/gradcheck", headers=h).json()
    rows = [json.loads(m.replace("&#34;", '"')) for m in re.findall(r'data-exact="([^"]*)"', html)]
    assert rows == body["entries"]  # a small net: every entry, in parameter order
    assert f'data-relative-error="{body["relative_error"]}"' in html
    # the same run, timings and all (kept per weights): the cost sentence is the API's
    shown = re.search(r'id="gc-backprop-ms">([^<]*)<', html)
    assert shown and shown.group(1) == fmt(1000 * body["backprop_seconds"], 3)
    again = api.get(f"/api/sessions/{sid}/gradcheck", headers=h).json()
    assert again["backprop_seconds"] == body["backprop_seconds"]
    bad = api.get(f"/api/sessions/{sid}/gradcheck.html?sample=0", headers=h)
    assert bad.status_code == 422 and "sample" in bad.json()["field"]


def last_flow(api: ApiClient, sid: str, h: dict[str, str]) -> dict[str, Any]:
    body = api.get(f"/api/sessions/{sid}/history?metrics=true", headers=h).json()
    assert body["points"] and all("flow" in row for row in body["points"])
    return dict(body["points"][-1])


def test_history_metric_rows_carry_the_flow(api: ApiClient) -> None:
    sid, h = api.create(FAST)
    api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
    row = last_flow(api, sid, h)
    session = session_of(api, sid)
    with session.lock:
        assert row["flow"] == flow(api.manager.load(session))
    assert len(row["flow"]["grad_norm"]) == 2 and row["flow"]["saturation"][-1] is None


def ratio(api: ApiClient, sid: str, h: dict[str, str]) -> float:
    api.post(f"/api/sessions/{sid}/step", json={"count": 200}, headers=h)
    norms = last_flow(api, sid, h)["flow"]["grad_norm"]
    return float(norms[0] / norms[-1])


def test_one_patch_brings_the_layers_together(api: ApiClient) -> None:
    sid, h = api.create({"batch_size": 10}, preset="vanishing-sigmoid")
    assert ratio(api, sid, h) < SIGMOID_BOUND
    config = api.get(f"/api/sessions/{sid}", headers=h).json()["config"]
    # the body the page's "activation for all layers" control sends for ReLU
    patch = json.loads(all_activation(config["hidden"])["bodies"])["relu"]
    r = api.patch(f"/api/sessions/{sid}", json=patch, headers=h)
    assert r.status_code == 200, r.text
    config = api.get(f"/api/sessions/{sid}", headers=h).json()["config"]
    assert {h_["activation"] for h_ in config["hidden"]} == {"relu"}
    assert config["init"]["name"] == "he_normal"
    assert ratio(api, sid, h) > RELU_BOUND
