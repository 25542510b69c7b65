"""The race page's loss-surface panel: after a few steps of the optimizers race, "compute"
draws run 0's contours with one path and one current point per run in the runs' colours, the
points' data-alpha/data-beta are the REST answer's numbers, the paths follow a later step
without a new compute, contrast is WCAG AA, screenshots at 1280×800 and 390×844."""

from __future__ import annotations

import re

from browsertools import DESKTOP, PHONE, OpenTab, poll_for
from contrast import low_contrast
from playwright.sync_api import expect


def test_every_run_is_drawn_on_one_surface(open_tab: OpenTab) -> None:
    tab = open_tab("/race?preset=optimizers", viewport=DESKTOP)
    page = tab.page
    page.wait_for_url(re.compile(r"/race/[\w-]+$"))
    rid = page.url.rsplit("/", 1)[1]
    page.locator("#race-step-100").click()
    expect(page.locator("#race-steps b")).to_have_text("100")
    page.locator("#race-surface-directions").select_option("random")
    page.locator("#race-surface-compute").click()
    svg = page.locator("#race-surface-map")
    expect(svg).to_be_visible()
    assert page.locator("#race-surface-map path.contour").count() > 5
    paths = page.locator("#race-surface-map polyline.race-path")
    points = page.locator("#race-surface-map circle.race-point")
    expect(paths).to_have_count(4)
    expect(points).to_have_count(4)
    race = tab.api(f"/api/races/{rid}")
    colours = [page.locator(f'.race-run[data-run="{i}"] .race-swatch line').get_attribute("stroke")
               for i in range(4)]
    assert [paths.nth(i).get_attribute("stroke") for i in range(4)] == colours
    assert len(set(colours)) == 4
    body = tab.api(f"/api/races/{rid}/surface", directions="random", resolution=41)
    assert [r["name"] for r in body["runs"]] == [r["name"] for r in race["runs"]]
    for i, run in enumerate(body["runs"]):
        dot = page.locator(f'#race-surface-map circle.race-point[data-run="{i}"]')
        assert float(dot.get_attribute("data-alpha") or "nan") == run["current"][0]
        assert float(dot.get_attribute("data-beta") or "nan") == run["current"][1]
        assert run["same_surface"] and run["steps"][-1] == 100
        assert len((paths.nth(i).get_attribute("points") or "").split()) >= 2
    expect(page.locator(".race-surface-legend li")).to_have_count(4)
    # live: a step moves the points (from /surface/paths) without a new compute
    contours = page.locator("#race-surface-map path.contour").count()
    before = page.locator('#race-surface-map circle.race-point[data-run="3"]').get_attribute(
        "data-alpha")
    page.locator("#race-step-100").click()
    expect(page.locator("#race-steps b")).to_have_text("200")
    live = poll_for(lambda: tab.api(f"/api/races/{rid}/surface/paths")["runs"],
                    lambda runs: all(r["steps"][-1] == 200 for r in runs), what="200 steps")
    adam = page.locator('#race-surface-map circle.race-point[data-run="3"]')
    want = live[3]["current"][0]
    poll_for(lambda: float(adam.get_attribute("data-alpha") or "nan"), lambda v: v == want,
             what="Adam's point at step 200")
    assert before is not None and float(before) != want
    assert page.locator("#race-surface-map path.contour").count() == contours
    page.locator("#race-surface").scroll_into_view_if_needed()
    assert low_contrast(page) == []
    tab.screenshot("race-surface-desktop")
    page.set_viewport_size(PHONE)
    page.locator("#race-surface").scroll_into_view_if_needed()
    assert low_contrast(page) == []
    tab.screenshot("race-surface-phone", full_page=False)
