"""The replay scrubber on the page: dragging it back shows that step's numbers (the drawing's
edge values are ``GET /at/{step}``'s weights, the counters its iteration, the loss curves a
mark at it), "back to now" the live ones, and "continue from here" opens a new session at the
step shown."""

from __future__ import annotations

import json

from browsertools import OpenTab, poll_for
from pagetools import SMALL_NET, compare_edges, config_url, ready, set_input, wait_edges_match
from playwright.sync_api import expect


def test_scrubbing_shows_the_replayed_step_and_forks_from_it(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    sid = ready(tab)
    for _ in range(6):  # each request ends with a metrics row: the curves get six points
        r = tab.context.request.post(f"/api/sessions/{sid}/step",
                                     data=json.dumps({"count": 10}),
                                     headers={"Content-Type": "application/json"})
        assert r.ok, r.text()
    expect(page.locator("#iteration")).to_have_text("60")
    slider = page.locator("#replay-step")
    expect(slider).to_have_attribute("max", "60")
    live = tab.state()

    set_input(slider, 23)
    at_23 = tab.api(f"/api/sessions/{sid}/at/23")
    expect(page.locator("#iteration")).to_have_text("23")
    expect(page.locator("#replay-at")).to_have_text("23")
    wait_edges_match(page, "W", at_23)
    assert compare_edges(page, "W", live), "the live weights would have matched too"
    expect(page.locator("#replay-note")).to_contain_text("step 23 of 60")
    expect(page.locator('#loss-chart line.hp-mark[data-step="23"]')).to_be_attached()
    # the session itself is where it was
    assert tab.session()["step"] == 60 and tab.state()["layers"] == live["layers"]

    page.locator("#replay-live").click()
    expect(page.locator("#iteration")).to_have_text("60")
    wait_edges_match(page, "W", live)
    expect(page.locator('#loss-chart line.hp-mark[data-step="23"]')).to_have_count(0)

    set_input(slider, 10)
    expect(page.locator("#iteration")).to_have_text("10")
    at_10 = tab.api(f"/api/sessions/{sid}/at/10")
    page.locator("#replay-fork").click()
    fork = poll_for(tab.session_id, lambda s: s != sid, what="the fork's page")
    body = tab.api(f"/api/sessions/{fork}")
    assert body["step"] == 10 and body["status"] == "paused"
    expect(page.locator("#iteration")).to_have_text("10")
    wait_edges_match(page, "W", at_10)
    assert tab.api(f"/api/sessions/{fork}/state")["layers"] == at_10["layers"]
    expect(page.locator("#replay-step")).to_have_attribute("max", "10")
