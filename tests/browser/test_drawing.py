"""The network drawing shows what is there, says what its numbers are, and is readable: every
unit of an 8-unit layer, digits' ten outputs labelled 0–9, a legend naming the view's quantity
and its width scale (frozen by "fixed scale"), tooltips that name the number and leave the
hovered node visible, labels >= 13 px as rendered, and the optimizer views equal to the API's
optimizer state."""

from __future__ import annotations

from typing import Any

import pytest
from browsertools import PHONE, OpenTab, Tab, poll
from pagetools import choose, config_url, numbers, ready, wait_edges_match
from playwright.sync_api import expect

from app.page.draw.palette import fmt

NET_8 = {  # 2-8-8-1 on circle data
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.1, "seed": 3},
    "hidden": [{"units": 8, "activation": "tanh"}, {"units": 8, "activation": "tanh"}],
    "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9},
    "batch_size": 10,
    "seed": 1,
}
# the rendered font size of every label and number of the drawing: its CSS size times the
# scale the SVG is drawn at (getScreenCTM: the viewBox fitted into the element's box)
FONTS_JS = """() => Array.from(document.querySelectorAll('svg#network text'))
  .filter((t) => t.textContent.trim()).map((t) => ({text: t.textContent,
    px: parseFloat(getComputedStyle(t).fontSize) * t.getScreenCTM().a}))"""
# the box of the number written under a node box (the nearest node-value text below it)
NUMBER_BOX_JS = """(b) => { const near = Array.from(
  document.querySelectorAll('svg#network text.node-value')).map((t) => t.getBoundingClientRect())
  .filter((r) => r.top >= b.top && r.top < b.bottom + 20 && r.left < b.right && r.right > b.left);
  return near.length ? {left: near[0].left, right: near[0].right, top: near[0].top,
                        bottom: near[0].bottom} : null; }"""
BOX_JS = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }"""


def step(tab: Tab, count: int) -> None:
    sid = tab.session_id()
    r = tab.context.request.post(f"/api/sessions/{sid}/step", data={"count": count})
    assert r.ok, r.text()


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    return not (
        a["right"] <= b["left"] or b["right"] <= a["left"]
        or a["bottom"] <= b["top"] or b["bottom"] <= a["top"]
    )  # fmt: skip


def test_an_8_unit_layer_draws_8_nodes_with_labels_of_13px(open_tab: OpenTab) -> None:
    for viewport in (None, PHONE):  # the default tab is 1280×800
        tab = open_tab(config_url(NET_8), viewport=viewport)
        ready(tab)
        page = tab.page
        for layer in ("0", "1"):
            expect(page.locator(f'svg#network g.node[data-layer="{layer}"]')).to_have_count(8)
        assert page.locator("svg#network text.more").count() == 0  # no "+n": all are drawn
        fonts: list[dict[str, Any]] = page.evaluate(FONTS_JS)
        small = [f for f in fonts if f["px"] < 13]
        assert fonts and not small, f"labels under 13 px at {viewport or '1280×800'}: {small}"


def test_digits_draws_its_ten_outputs_labelled_and_informative_pixels(open_tab: OpenTab) -> None:
    tab = open_tab("/?preset=digits-mlp")
    ready(tab)
    page = tab.page
    last = str(len(tab.state()["layers"]) - 1)
    outputs = page.locator(f'svg#network g.node[data-layer="{last}"]')
    expect(outputs).to_have_count(10)
    labels = page.locator(f'svg#network g.node[data-layer="{last}"] text.class-label')
    assert labels.all_text_contents() == [str(k) for k in range(10)]
    # the drawn pixels are labelled (row, col) and none is a corner (always 0 in digits)
    pixels = page.locator('svg#network g.node[data-layer="in"] text.feat-label').all_text_contents()
    assert len(pixels) == 8 and all(p.startswith("(") for p in pixels), pixels
    assert not {"(0,0)", "(0,7)", "(7,0)", "(7,7)"} & set(pixels), pixels


def test_legend_states_the_scale_and_fixed_scale_keeps_it(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(NET_8))
    ready(tab)
    page = tab.page
    legend = page.locator("#network-legend")
    peak = max(abs(w) for layer in tab.state()["layers"] for row in layer["W"] for w in row)
    expect(legend).to_have_attribute("data-scale", fmt(peak, 3))
    expect(legend).to_contain_text(f"largest |value| in this view: {fmt(peak, 3)}")
    expect(legend).to_contain_text("w_jk")

    page.locator("#fixed-scale").check()
    expect(legend).to_have_attribute("data-fixed", "true")
    frozen = legend.get_attribute("data-scale")
    expect(legend).to_contain_text(f"fixed scale: widths relative to |value| {frozen}")
    iteration = tab.state()["iteration"]
    step(tab, 200)
    poll(lambda: tab.state()["iteration"] >= iteration + 200, what="200 steps taken")
    after = max(abs(w) for layer in tab.state()["layers"] for row in layer["W"] for w in row)
    assert fmt(after, 3) != frozen  # the weights' peak moved: the frozen scale must not
    counter = page.locator("#counters")
    expect(counter).to_contain_text(str(iteration + 200))
    expect(legend).to_have_attribute("data-scale", frozen or "")

    page.locator("#fixed-scale").uncheck()
    expect(legend).to_have_attribute("data-fixed", "false")
    expect(legend).to_have_attribute("data-scale", fmt(after, 3))


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["desktop", "phone"])
def test_delta_tooltip_names_the_quantity_and_leaves_the_node_visible(
    open_tab: OpenTab, viewport: dict[str, int] | None
) -> None:
    tab = open_tab(config_url(NET_8), viewport=viewport)
    ready(tab)
    page = tab.page
    choose(page, "#view", "delta")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "delta")
    tip = page.locator("#tooltip")
    node = 'svg#network g.node[data-layer="1"][data-unit="2"]'  # the middle of the drawing

    def hovered() -> bool:  # moved again on each try: the stream may redraw under the mouse
        box = page.evaluate(BOX_JS, node + " rect.node-box")
        page.mouse.move((box["left"] + box["right"]) / 2, (box["top"] + box["bottom"]) / 2)
        return tip.is_visible() and "δ_k = dL/dz_k" in tip.inner_text()

    poll(hovered, 10, what="the node's tooltip")
    assert tip.locator("svg.tip-heatmap").count() == 1  # the unit's heatmap, larger
    tip_box = page.evaluate(BOX_JS, "#tooltip")
    node_box = page.evaluate(BOX_JS, node + " rect.node-box")
    assert not overlap(tip_box, node_box), (tip_box, node_box)
    # nor the probe's number written under the node
    number = page.evaluate(NUMBER_BOX_JS, node_box)
    assert number and not overlap(tip_box, number), (tip_box, number)
    edge = page.locator('svg#network line.edge[data-layer="1"]').first
    box = edge.bounding_box()
    assert box
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    poll(lambda: "dL/dw_jk = a_j · δ_k" in tip.inner_text(), 10, what="the edge's quantity")


def test_velocity_view_equals_the_optimizer_state(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(NET_8))
    ready(tab)
    step(tab, 3)
    poll(lambda: tab.state()["iteration"] >= 3, what="3 steps")
    page = tab.page
    assert "velocity" in page.locator("#view option").evaluate_all("os => os.map(o => o.value)")
    choose(page, "#view", "velocity")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "velocity")
    state = tab.state("optimizer", "updates", "gradients")
    velocity = {
        "layers": [
            {"v": layer["W"]["momentum_buffer"]} for layer in state["optimizer"]["layers"]
        ]
    }
    wait_edges_match(page, "v", velocity)
    # the effective step: the last update over the last gradient, weight by weight
    choose(page, "#view", "effective_step")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "effective_step")
    ratio = {
        "layers": [
            {"r": [[u / g if g else 0.0 for u, g in zip(urow, grow, strict=True)]
                   for urow, grow in zip(layer["dW_update"], layer["dW"], strict=True)]}
            for layer in state["layers"]
        ]
    }  # fmt: skip
    wait_edges_match(page, "r", ratio)
    shown = [float(x) for x in page.locator("svg#network line.edge").evaluate_all(
        "es => es.map(e => e.dataset.value)")]  # fmt: skip
    assert any(abs(v) > 0 for v in shown) and numbers(
        page.locator("#network-legend").inner_text()
    )


def test_the_menu_follows_the_optimizer_live(open_tab: OpenTab) -> None:
    """Plain SGD keeps no state the menu could show; switching to Adam offers its m and v
    (named by torch's keys), and the second-moment view draws Adam's exp_avg_sq."""
    plain = {**NET_8, "optimizer": {"name": "sgd", "lr": 0.1}}
    tab = open_tab(config_url(plain))
    ready(tab)
    page = tab.page
    options = page.locator("#view option")
    expect(options).to_have_count(6)  # weights … updates, effective step
    assert "velocity" not in options.evaluate_all("os => os.map(o => o.value)")
    choose(page, "select#optimizer", "adam")
    expect(page.locator('#view option[value="second_moment"]')).to_contain_text("exp_avg_sq")
    expect(page.locator('#view option[value="velocity"]')).to_contain_text("exp_avg")
    step(tab, 2)
    poll(lambda: tab.state()["iteration"] >= 2, what="2 Adam steps")
    choose(page, "#view", "second_moment")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "second_moment")
    state = tab.state("optimizer")
    assert state["optimizer"]["name"] == "adam"
    v = {"layers": [{"v": layer["W"]["exp_avg_sq"]} for layer in state["optimizer"]["layers"]]}
    wait_edges_match(page, "v", v)
