"""The race page: ``/race?preset=`` makes the race and opens ``/race/{id}``; play draws a line
per run (train and test) in the run's colour, the runs stay in step, pause stops them together,
the "steps to reach loss X" table answers from the same numbers the API gives, a diverged run
says so while the others go on; contrast is WCAG AA and the page is screenshot at 1280×800
and 390×844."""

from __future__ import annotations

import re

from browsertools import DESKTOP, PHONE, OpenTab, poll_for
from contrast import low_contrast
from pagetools import SMALL_NET, config_url, ready
from playwright.sync_api import expect


def race_id(url: str) -> str:
    found = re.search(r"/race/([\w-]+)$", url)
    assert found, url
    return found.group(1)


def test_a_race_draws_a_line_per_run_and_the_table(open_tab: OpenTab) -> None:
    tab = open_tab("/race?preset=optimizers", viewport=DESKTOP)
    page = tab.page
    page.wait_for_url(re.compile(r"/race/[\w-]+$"))
    rid = race_id(page.url)
    race = tab.api(f"/api/races/{rid}")
    names = [run["name"] for run in race["runs"]]
    expect(page.locator(".race-run-name")).to_have_text(names)
    expect(page.locator(".race-share").first).to_contain_text("same start")
    page.locator("#race-play").click()
    lines = page.locator("#race-chart path.race-line.train")
    expect(lines).to_have_count(4)
    expect(page.locator("#race-chart path.race-line.test")).to_have_count(4)
    colours = {lines.nth(i).get_attribute("stroke") for i in range(4)}
    assert len(colours) == 4
    poll_for(lambda: tab.api(f"/api/races/{rid}")["runs"][0]["state"]["step"],
             lambda step: step >= 300, what="300 steps")
    page.locator("#race-pause").click()
    body = poll_for(lambda: tab.api(f"/api/races/{rid}"),
                    lambda b: all(r["status"] == "paused" for r in b["runs"]), what="paused")
    steps = [r["state"]["step"] for r in body["runs"]]
    assert max(steps) - min(steps) <= 1, steps
    # the page shows the steps it reached (one number when they are equal)
    expect(page.locator("#race-steps b")).to_have_text(
        re.compile(rf"^{min(steps)}(–{max(steps)})?$"))
    # the table: the first step whose batch loss is at most X, from each run's own history
    page.locator("#race-x").fill("0.001")
    for i, run in enumerate(body["runs"]):
        hist = tab.api(f"/api/sessions/{run['session']}/history", limit=100000)["points"]
        first = next((p["step"] for p in hist if p["loss"] <= 0.001), None)
        cell = page.locator(f'#race-table tr[data-run="{i}"] .reach-train')
        expect(cell).to_have_text("not yet" if first is None else str(first))
    # the small multiples: a network drawing and an output picture per run
    expect(page.locator(".race-multiple svg[id^=network-r]")).to_have_count(4)
    expect(page.locator(".race-multiple img[id^=decision-r]")).to_have_count(4)
    page.locator("#race-log").check()
    expect(lines).to_have_count(4)
    assert low_contrast(page) == []
    tab.screenshot("race-desktop")
    page.set_viewport_size(PHONE)
    assert low_contrast(page) == []
    tab.screenshot("race-phone", full_page=False)


def test_a_diverged_run_stops_with_its_alert_and_the_others_go_on(open_tab: OpenTab) -> None:
    tab = open_tab("/race?preset=learning-rate", viewport=DESKTOP)
    page = tab.page
    page.wait_for_url(re.compile(r"/race/[\w-]+$"))
    rid = race_id(page.url)
    page.locator("#race-play").click()
    alert = page.locator('.race-run[data-run="2"] .race-alert')
    expect(alert).to_contain_text("diverged")
    expect(page.locator('.race-run[data-run="2"] .race-status')).to_have_attribute(
        "data-status", "diverged")
    body = tab.api(f"/api/races/{rid}")
    assert body["runs"][2]["status"] == "diverged"
    assert [r["status"] for r in body["runs"][:2]] == ["running", "running"]
    page.locator("#race-pause").click()
    expect(page.locator('.race-run[data-run="0"] .race-status')).to_have_attribute(
        "data-status", "paused")
    expect(page.locator('.race-run[data-run="0"] .race-alert')).to_have_text("")


def test_race_this_config_from_the_share_panel(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET), viewport=DESKTOP)
    page = tab.page
    sid = ready(tab)
    config = tab.api(f"/api/sessions/{sid}")["config"]
    page.locator("#race-link").click()
    page.wait_for_url(re.compile(r"/race/[\w-]+$"))
    race = tab.api(f"/api/races/{race_id(page.url)}")
    assert [r["name"] for r in race["runs"]] == ["SGD", "Momentum 0.9", "RMSProp", "Adam"]
    for run in race["runs"]:
        got = run["state"]["config"]
        assert got["dataset"] == config["dataset"] and got["hidden"] == config["hidden"]
        assert got["optimizer"]["lr"] == config["optimizer"]["lr"]
        assert run["same_start"] and run["same_batches"]
    expect(page.locator(".race-run-name")).to_have_count(4)
