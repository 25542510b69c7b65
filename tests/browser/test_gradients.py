"""The gradient-check panel and the gradient-flow chart on the page: the check's rows are the
API's and a central difference computed here from /state; the flow chart's latest values are
/history's last metrics row, and the vanishing-sigmoid picture turns into ReLU/He's with the one
"activation for all layers" control."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
from browsertools import OpenTab, Tab, poll_for
from pagetools import choose, config_url, ready, wait_config
from playwright.sync_api import expect

TINY = {  # the whole training set in one batch: /state's batch is the set the check uses
    "dataset": {
        "name": "circle",
        "n_samples": 20,
        "noise": 0.1,
        "seed": 3,
        "split": {"train": 1.0, "val": 0.0, "test": 0.0},
    },
    "hidden": [{"units": 3, "activation": "tanh"}],
    "batch_size": 20,
    "seed": 2,
}
SIGMOID_BOUND, RELU_BOUND = 1e-2, 1e-1  # as tests/unit/engine/inspect/test_flow.py measured


def bce_loss(params: list[np.ndarray], x: np.ndarray, y: np.ndarray) -> float:
    """The tiny net's J(θ): tanh hidden layer, sigmoid output, mean binary cross-entropy."""
    W0, b0, W1, b1 = params
    p = 1.0 / (1.0 + np.exp(-(np.tanh(x @ W0 + b0) @ W1 + b1)))
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def test_gradient_check_panel_is_the_api_and_a_central_difference(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(TINY))
    page = tab.page
    ready(tab)
    page.locator("#step").click()
    poll_for(lambda: tab.session()["step"], lambda s: s == 1, what="one step")
    page.locator("#gc-run").click()
    rows = page.locator("#gc-rows tr.gc-row")
    expect(rows.first).to_be_visible()
    shown = [json.loads(r.get_attribute("data-exact") or "") for r in rows.all()]
    sid = tab.session_id()
    api = tab.api(f"/api/sessions/{sid}/gradcheck")
    assert shown == api["entries"] and len(shown) == api["n_params"] == 13
    expect(page.locator("#gc-checked")).to_have_text("13")

    # the numerical column again, from the weights and the training set /state shows
    state = tab.state("batch")
    params = [np.array(v, dtype=np.float64) for la in state["layers"] for v in (la["W"], la["b"])]
    out = state["layers"][-1]
    x = np.array(state["layers"][0]["batch_x"])
    # bce on logits: δ = (σ(z) − y) / N, so the targets are a − N·δ
    y = np.rint(np.array(out["batch_a"]) - len(x) * np.array(out["batch_delta"]))
    eps = api["eps"]
    for row in shown:
        k = 2 * row["layer"] + ("W", "b").index(row["param"])
        idx = tuple(row["index"])
        plus, minus = [p.copy() for p in params], [p.copy() for p in params]
        plus[k][idx] += eps
        minus[k][idx] -= eps
        num = (bce_loss(plus, x, y) - bce_loss(minus, x, y)) / (2 * eps)
        assert abs(row["numerical"] - num) <= 1e-9 + 1e-6 * abs(num), (row, num)
        assert abs(row["backprop"] - num) <= 1e-8 + 1e-5 * abs(num), (row, num)


def run_steps(tab: Tab, steps: int) -> dict[str, Any]:
    """Run ``steps`` steps, wait for the run to end and the chart to show its last flow row;
    returns that row."""
    sid = tab.session_id()
    start = tab.session()["step"]
    r = tab.context.request.post(f"/api/sessions/{sid}/run", data={"steps": steps})
    assert r.ok, r.text()
    poll_for(
        tab.session, lambda s: s["step"] == start + steps and s["status"] != "running", 60,
        what=f"{steps} steps",
    )  # fmt: skip
    rows = tab.api(f"/api/sessions/{sid}/history?metrics=true")["points"]
    last = rows[-1]
    latest = tab.page.locator("#grad-flow-latest")
    expect(latest).to_have_attribute("data-step", str(last["step"]), timeout=30_000)
    return dict(last)


def page_flow(tab: Tab) -> dict[str, Any]:
    latest = tab.page.locator("#grad-flow-latest")
    return {
        "grad_norm": json.loads(latest.get_attribute("data-grad-norm") or ""),
        "saturation": json.loads(latest.get_attribute("data-saturation") or ""),
    }


def test_grad_flow_vanishing_sigmoid_then_relu_he(open_tab: OpenTab) -> None:
    tab = open_tab("/?preset=vanishing-sigmoid")
    page = tab.page
    ready(tab)
    last = run_steps(tab, 300)
    shown = page_flow(tab)
    assert shown == last["flow"]
    assert len(shown["grad_norm"]) == 7
    assert shown["grad_norm"][0] / shown["grad_norm"][-1] < SIGMOID_BOUND
    expect(page.locator("#grad-flow-chart polyline.flow-line")).to_have_count(7)

    choose(page, "select#all-activation", "relu")
    wait_config(
        tab,
        lambda c: {h["activation"] for h in c["hidden"]} == {"relu"}
        and c["init"]["name"] == "he_normal",
        "every hidden layer ReLU with He initialisation",
    )
    last = run_steps(tab, 300)
    shown = page_flow(tab)
    assert shown == last["flow"]
    assert shown["grad_norm"][0] / shown["grad_norm"][-1] > RELU_BOUND
