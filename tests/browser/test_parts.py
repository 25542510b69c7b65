"""The new parts on the page: the menus offer prelu, thresholded_relu and rmse; a PReLU node's
tooltip gives its unit's learned α as /state has it; the scores table under the output shows
the metrics rows' numbers after a step."""

from __future__ import annotations

from browsertools import OpenTab, poll
from pagetools import config_url, numbers, ready
from playwright.sync_api import expect

PRELU_NET = {
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.1, "seed": 3},
    "hidden": [
        {"units": 3, "activation": "prelu", "activation_params": {"num_parameters": "unit"}},
    ],
    "optimizer": {"name": "adam", "lr": 0.05},
    "batch_size": 10,
    "seed": 1,
}
BOX_JS = """(sel) => { const r = document.querySelector(sel).getBoundingClientRect();
  return {x: (r.left + r.right) / 2, y: (r.top + r.bottom) / 2}; }"""


def test_menus_tooltip_and_scores(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(PRELU_NET))
    page = tab.page
    ready(tab)
    # the menus offer the new parts (values: the engine's names; words: the page's language)
    options = page.locator("select.layer-activation").first.locator("option")
    values = {o.get_attribute("value") for o in options.all()}
    assert {"prelu", "thresholded_relu"} <= values
    assert "PReLU (learned slope)" in options.all_inner_texts()
    expect(page.locator("select.layer-activation").first).to_have_value("prelu")
    losses = page.locator("#loss option")
    assert "rmse" in {o.get_attribute("value") for o in losses.all()}
    assert "root mean squared error (rmse)" in losses.all_inner_texts()

    page.locator("#step").click()  # one iteration: α moves, and a metrics row comes
    poll(lambda: tab.state()["iteration"] >= 1, 10, what="a step")
    alpha = tab.state()["layers"][0]["alpha"]
    assert alpha != [0.25, 0.25, 0.25]
    node = 'svg#network g.node[data-layer="0"][data-unit="1"]'
    expect(page.locator(node)).to_have_attribute("data-alpha", f"{alpha[1]:.6g}")
    tip = page.locator("#tooltip")

    def hovered() -> bool:  # moved again on each try: the stream may redraw under the mouse
        at = page.evaluate(BOX_JS, node + " rect.node-box")
        page.mouse.move(at["x"], at["y"])
        return tip.is_visible() and "PReLU α" in tip.inner_text()

    poll(hovered, 10, what="the PReLU node's tooltip")
    text = tip.inner_text()
    shown = numbers(text.split("PReLU α", 1)[1])[0]
    assert abs(shown - alpha[1]) <= 1e-5 * max(1.0, abs(alpha[1])), text
    assert "its learned slope below 0" in text  # the page's language: English
    page.mouse.move(0, 0)

    table = page.locator("#scores-splits")
    expect(table).to_be_visible()
    metrics = tab.state("metrics")["metrics"]
    test_row = table.locator("tr").last
    expect(test_row.locator("td").first).to_have_attribute(
        "data-value", repr(metrics["test"]["accuracy"])
    )
    expect(page.locator("#scores-classes")).to_contain_text("precision")
    expect(page.locator("#scores-confusion td.diag").first).to_be_visible()


def test_the_new_parts_are_offered_in_korean(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(PRELU_NET) + "&lang=ko")
    page = tab.page
    ready(tab)
    acts = page.locator("select.layer-activation").first.locator("option").all_inner_texts()
    assert "PReLU (학습되는 기울기)" in acts and "임계 ReLU" in acts
    assert "평균 제곱근 오차 (rmse)" in page.locator("#loss option").all_inner_texts()
