"""The page at desktop (1280×800) and phone (390×844) sizes: screenshots into
test-output/screenshots/ (to look at), no sideways scrolling, panels stacked on the phone,
every control labelled and reachable from the keyboard."""

from __future__ import annotations

from typing import Any

import pytest
from browsertools import DESKTOP, PHONE, SURFACE_DONE_JS, OpenTab, Tab, poll
from contrast import low_contrast
from pagetools import clipped_texts
from playwright.sync_api import expect

PANELS = [
    "#data-panel",
    "#network-panel",
    "#output-panel",
    "#run-bar",
    "#training-bar",
    "#phase-panel",
    "#chain-rule",
    "#curves",
    "#surface-panel",
]

# Panels (not inside another listed panel) with their boxes in page coordinates.
PANEL_BOXES_JS = """(sels) => {
  const els = sels.map((s) => [s, document.querySelector(s)]).filter(([, e]) => e);
  return els.filter(([, e]) => !els.some(([, o]) => o !== e && o.contains(e)))
    .map(([s, e]) => { const r = e.getBoundingClientRect();
      return {sel: s, left: r.left + scrollX, right: r.right + scrollX, top: r.top + scrollY,
              bottom: r.bottom + scrollY, width: r.width, height: r.height}; });
}"""

# Visible form controls without a label, and controls taken out of the tab order.
UNLABELLED_JS = """() => {
  const visible = (e) => e.getClientRects().length > 0 &&
    getComputedStyle(e).visibility !== 'hidden';
  const named = (e) => (e.labels && e.labels.length > 0) || e.getAttribute('aria-label') ||
    e.getAttribute('aria-labelledby') || e.getAttribute('title');
  const controls = Array.from(document.querySelectorAll('input, select, textarea, button'))
    .filter((e) => e.type !== 'hidden' && visible(e));
  const id = (e) => e.id ? '#' + e.id : e.outerHTML.slice(0, 80);
  return {
    unlabelled: controls.filter((e) => e.tagName === 'BUTTON' ?
      !(e.textContent.trim() || named(e)) : !named(e)).map(id),
    untabbable: controls.filter((e) => e.tabIndex < 0).map(id),
    count: controls.length,
  };
}"""


def draw_something(tab: Tab) -> None:
    """A page with a session that has trained one epoch and a 2-D surface drawn."""
    page = tab.page
    tab.session_id()
    expect(page.locator("svg#network line.edge").first).to_be_attached()
    page.locator("#step-epoch").click()
    poll(lambda: tab.session()["step"] > 0, what="one epoch")
    page.locator("select#surface-kind").select_option("2d")
    page.locator("#surface-compute").click()
    expect(page.locator("svg#surface-2d path.contour").first).to_be_attached(timeout=30_000)
    page.wait_for_function(SURFACE_DONE_JS, timeout=30_000)
    expect(page.locator("#decision")).to_be_visible()


def overlaps(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return a["top"] < b["bottom"] - 1 and b["top"] < a["bottom"] - 1


@pytest.mark.parametrize(("size", "viewport"), [("desktop", DESKTOP), ("phone", PHONE)])
def test_layout_and_screenshot(open_tab: OpenTab, size: str, viewport: dict[str, int]) -> None:
    tab = open_tab("/", viewport=viewport, name=size)
    page = tab.page
    draw_something(tab)
    # the first screen as a user sees it, then the whole page
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_function("() => window.scrollY === 0")
    tab.screenshot(f"{size}-{viewport['width']}x{viewport['height']}", full_page=False)
    tab.screenshot(f"{size}-full")
    width = viewport["width"]
    scroll_width = page.evaluate("() => document.documentElement.scrollWidth")
    assert scroll_width <= width + 1, f"the page scrolls sideways at {width} px: {scroll_width}"
    boxes = page.evaluate(PANEL_BOXES_JS, PANELS)
    assert {b["sel"] for b in boxes} >= {"#data-panel", "#network-panel", "#output-panel"}, boxes
    for box in boxes:
        assert box["width"] > 0 and box["height"] > 0, f"{box['sel']} is not shown: {box}"
        assert box["left"] >= -1 and box["right"] <= width + 1, f"{box['sel']} overflows: {box}"
    assert not clipped_texts(page, "#curves") and not clipped_texts(page, "#surface-out")
    # the network drawing uses the width: nodes are drawn at a readable size on a phone too
    node = page.locator("svg#network .node-box").first.bounding_box()
    assert node and node["width"] >= 24, f"network nodes drawn {node} px wide"
    if size == "phone":  # panels stack: no two side by side
        stacked = [b for b in boxes if b["sel"] != "#run-bar"]  # over them: see below
        side_by_side = [
            (a["sel"], b["sel"])
            for k, a in enumerate(stacked)
            for b in stacked[k + 1 :]
            if overlaps(a, b)
        ]
        assert not side_by_side, f"panels side by side on a phone: {side_by_side}"
        # play and the loss stay at the bottom of the screen, where a thumb finds them,
        # wherever the page is scrolled
        for y in (0, 1500):
            page.evaluate(f"() => window.scrollTo(0, {y})")
            bar = page.locator("#run-bar").bounding_box()
            play = page.locator("#play").bounding_box()
            assert bar and play and abs(bar["y"] + bar["height"] - viewport["height"]) < 2, bar
            assert play["y"] > viewport["height"] / 2 and play["height"] >= 32, play
            expect(page.locator("#run-bar #batch-loss")).to_be_in_viewport()
    else:  # the desktop uses its width: some panels share a row
        assert any(overlaps(a, b) for k, a in enumerate(boxes) for b in boxes[k + 1 :]), boxes
    # every text readable when projected: WCAG AA contrast (4.5:1; 3:1 large)
    page.evaluate("() => window.scrollTo(0, 0)")
    assert not low_contrast(page), low_contrast(page)
    controls = page.evaluate(UNLABELLED_JS)
    assert controls["count"] > 10, controls
    assert not controls["unlabelled"], f"controls without a label: {controls['unlabelled']}"
    assert not controls["untabbable"], f"controls out of the tab order: {controls['untabbable']}"


def test_keyboard_reaches_play(open_tab: OpenTab) -> None:
    """Tabbing from the top of the page reaches the play button; Enter starts training."""
    tab = open_tab("/")
    page = tab.page
    tab.session_id()
    expect(page.locator("#play")).to_be_visible()
    page.evaluate("() => document.activeElement && document.activeElement.blur()")
    for _ in range(200):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "play":
            break
    else:
        raise AssertionError("200 Tab presses did not reach #play")
    page.keyboard.press("Enter")
    poll(lambda: tab.session()["status"] == "running", what="running after Enter on #play")
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")
