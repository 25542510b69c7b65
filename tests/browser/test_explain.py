"""The explain panels in Chromium: the phase panel's numbers as the page steps phases, the
chain-rule inspector of a clicked edge, and the traced example picked on the output plot —
each number the page shows (its full value in data-value) against the REST API's."""

from __future__ import annotations

from typing import Any

from browsertools import OpenTab, Tab, poll, poll_for
from pagetools import SMALL_NET, config_url, ready
from playwright.sync_api import Page, expect

CONFIG = {**SMALL_NET, "optimizer": {"name": "sgd", "lr": 0.1, "momentum": 0.9}}
SHOWN_JS = """(sel) => Object.fromEntries(Array.from(document.querySelectorAll(sel + ' [data-n]'))
  .map((e) => [e.dataset.n, e.dataset.value === '' ? null : Number(e.dataset.value)]))"""


def shown(page: Page, where: str) -> dict[str, float | None]:
    """The numbers of a panel by their data-n key (full values)."""
    return dict(page.evaluate(SHOWN_JS, where))


def rest_value(body: dict[str, Any], key: str) -> Any:
    """``body`` at the dotted path a data-n key names (``backward.1.delta.0``)."""
    node: Any = body
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


def same_numbers(page: Page, where: str, body: dict[str, Any]) -> list[str]:
    diffs = []
    for key, value in shown(page, where).items():
        want = rest_value(body, key)
        if value != want and not (value is None and want is None):
            diffs.append(f"{key}: page {value} != REST {want}")
    return diffs


def phase_numbers(tab: Tab, edge: tuple[int, int, int]) -> dict[str, Any]:
    layer, i, j = edge
    return tab.api(f"/api/sessions/{tab.session_id()}/phase-numbers", layer=layer, i=i, j=j)


def chain(tab: Tab, edge: tuple[int, int, int]) -> dict[str, Any]:
    layer, i, j = edge
    return tab.api(f"/api/sessions/{tab.session_id()}/chain", layer=layer, i=i, j=j)


def shown_edge(page: Page) -> tuple[int, int, int]:
    text = page.locator("#phase-numbers .explain").get_attribute("data-edge") or ""
    a, b, c = (int(v) for v in text.split(","))
    return a, b, c


def test_phase_panel_numbers_follow_the_steps_and_equal_the_api(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(CONFIG))
    page = tab.page
    ready(tab)
    panel = page.locator("#phase-numbers .explain")
    expect(panel).to_have_attribute("data-stage", "summary")
    n_layers = len(tab.state()["layers"])
    order = [("forward", k) for k in range(n_layers)] + [("loss", None)]
    order += [("backward", k) for k in reversed(range(n_layers))] + [("update", None)]
    for _ in range(2):  # two iterations: the second update has momentum from the first
        for phase, layer in order:
            page.locator("#phase-next").click()
            expect(panel).to_have_attribute("data-stage", phase)
            expect(panel).to_have_attribute("data-layer", "" if layer is None else str(layer))
            body = phase_numbers(tab, shown_edge(page))
            numbers = shown(page, "#phase-numbers")
            assert numbers, f"no numbers shown at {phase} {layer}"
            assert not same_numbers(page, "#phase-numbers", body), same_numbers(
                page, "#phase-numbers", body
            )
            if phase == "loss":
                assert numbers["loss.batch"] == tab.state()["loss"]
                assert "loss.example" in numbers
            if phase == "update":
                layer_, i, j = shown_edge(page)
                w = tab.state()["layers"][layer_]["W"][i][j]
                assert numbers["update.w_new"] == body["update"]["w_new"]
                assert abs(numbers["update.w_new"] - w) <= 1e-12 * max(1.0, abs(w))
                expect(panel.locator("math").first).to_be_visible()


def test_clicking_an_edge_shows_its_chain_rule(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(CONFIG))
    page = tab.page
    ready(tab)
    page.locator("#step").click()
    poll(lambda: tab.session()["step"] >= 1, what="one iteration")
    edge = (0, 1, 1)  # input x2 → hidden unit 1: a hidden layer's factors
    # a click event on the line (the page listens on the document): a horizontal line's box
    # is 0 px high, which Playwright's click can take for invisible, and every frame replaces it
    page.locator(
        f'svg#network line.edge[data-layer="{edge[0]}"][data-i="{edge[1]}"][data-j="{edge[2]}"]'
    ).dispatch_event("click")
    box = page.locator("#chain-wrap .explain")
    expect(box).to_have_attribute("data-edge", "[0, 1, 1]")
    expect(box).to_have_attribute("data-form", "hidden")
    # the weight editor still opens on the click (tooltip.js)
    expect(page.locator("#weight-editor")).to_be_visible()
    body = chain(tab, edge)
    numbers = poll_for(
        lambda: shown(page, "#chain-wrap"),
        lambda now: now.get("example.product") == body["example"]["product"],
        what="the chain rule of the clicked edge",
    )
    assert not same_numbers(page, "#chain-wrap", body), same_numbers(page, "#chain-wrap", body)
    grads = tab.state("gradients")["layers"][0]["dW"][edge[1]][edge[2]]
    assert numbers["batch.stored"] == grads
    assert abs(numbers["batch.total"] - grads) <= 1e-10 * max(1e-12, abs(grads))
    assert numbers["example.product"] == body["example"]["trace_dW"] or abs(
        numbers["example.product"] - body["example"]["trace_dW"]
    ) <= 1e-12 * abs(body["example"]["trace_dW"])
    expect(page.locator("svg#network line.edge.selected")).to_have_count(1)


def test_clicking_a_point_traces_it(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(CONFIG))
    page = tab.page
    ready(tab)
    expect(page.locator("#click-trace")).to_be_checked()
    mark = page.locator("svg#probe-mark")
    expect(mark).to_have_attribute("data-index", str(tab.state("probe")["probe"]["index"]))
    before = mark.get_attribute("data-cx"), mark.get_attribute("data-cy")
    # a training point far from the traced one, clicked where it is drawn
    img = page.locator("img#decision")
    box = img.bounding_box()
    assert box is not None
    dots = page.evaluate(
        """() => Array.from(document.querySelectorAll('svg#points circle'))
        .map((c, k) => ({k, cls: c.getAttribute('class'), cx: Number(c.getAttribute('cx')),
                         cy: Number(c.getAttribute('cy'))}))"""
    )
    cx0, cy0 = float(before[0] or 0), float(before[1] or 0)
    target = max(
        (d for d in dots if d["cls"] == "pt"),
        key=lambda d: (d["cx"] - cx0) ** 2 + (d["cy"] - cy0) ** 2,
    )
    scale = box["width"] / 300
    steps_before = tab.session()["step"]
    img.click(position={"x": target["cx"] * scale, "y": target["cy"] * scale})
    poll(lambda: tab.session()["config"]["probe"] == target["k"], what="the probe to change")
    expect(mark).to_have_attribute("data-index", str(target["k"]))
    expect(mark).to_have_attribute("data-cx", f"{target['cx']:.1f}")
    assert (mark.get_attribute("data-cx"), mark.get_attribute("data-cy")) != before
    # the phase panel traces it too, and no point was added (the data set is unchanged)
    expect(page.locator("#probe-index")).to_have_text(str(target["k"]))
    assert tab.session()["config"]["dataset"]["name"] == "circle"
    assert tab.session()["step"] == steps_before


def test_add_points_mode_still_adds_a_point(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(CONFIG))
    page = tab.page
    ready(tab)
    probe = tab.session()["config"]["probe"]
    page.locator("#click-add").check()
    expect(page.locator("#point-tools")).to_be_visible()
    n = len(tab.api(f"/api/sessions/{tab.session_id()}/points")["x"])
    page.locator("img#decision").click(position={"x": 20, "y": 20})
    cfg = poll_for(
        lambda: tab.session()["config"],
        lambda c: c["dataset"]["name"] == "inline",
        what="the added point",
    )
    assert len(cfg["dataset"]["x"]) == n + 1
    assert cfg["probe"] == probe  # adding is not tracing
