"""The loss-surface panel: 1-D and 2-D slices with the current point, live while training."""

from __future__ import annotations

import math
from typing import Any

from browsertools import SURFACE_DONE_JS, OpenTab, poll, poll_for
from pagetools import (
    choose,
    numbers,
    ready,
)
from playwright.sync_api import Page, expect


def surface_point_checks(page: Page, svg: str, curve: str) -> dict[str, Any]:
    """Where the current point is, relative to its svg and to the curve (screen pixels)."""
    return dict(
        page.evaluate(
            """([svgSel, curveSel]) => {
          const svg = document.querySelector(svgSel);
          const pt = svg.querySelector('circle.current-point');
          const box = svg.getBoundingClientRect(), p = pt.getBoundingClientRect();
          const cx = p.x + p.width / 2, cy = p.y + p.height / 2;
          const out = {inside: cx >= box.left && cx <= box.right && cy >= box.top &&
                                cy <= box.bottom, cx, cy, r: p.width / 2};
          const curves = Array.from(svg.querySelectorAll(curveSel));
          let best = Infinity;
          for (const c of curves) {
            const m = c.getScreenCTM(), n = c.getTotalLength();
            for (let k = 0; k <= 400; k++) {
              const q = c.getPointAtLength(n * k / 400);
              const x = m.a * q.x + m.c * q.y + m.e, y = m.b * q.x + m.d * q.y + m.f;
              best = Math.min(best, Math.hypot(x - cx, y - cy));
            }
          }
          out.distance = best;
          return out;
        }""",
            [svg, curve],
        )
    )


def test_loss_surface_1d_and_2d_render_with_current_point(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    page.locator("#step-epoch").click()  # a trajectory to draw
    poll(lambda: tab.session()["step"] > 0, what="one epoch")

    choose(page, "select#surface-kind", "1d")
    page.locator("#surface-compute").click()
    one = page.locator("svg#surface-1d")
    expect(one.locator("path.curve").first).to_be_visible()
    expect(one.locator("line.tangent")).to_be_visible()
    expect(one.locator("circle.current-point")).to_be_visible()
    where = surface_point_checks(page, "svg#surface-1d", "path.curve")
    assert where["inside"], where
    assert where["distance"] <= where["r"] + 3, f"current point is off the 1-D curve: {where}"
    tangent = one.locator("line.tangent").evaluate(
        """(t) => { const m = t.getScreenCTM();
           const s = (x, y) => [m.a * x + m.c * y + m.e, m.b * x + m.d * y + m.f];
           return [s(t.x1.baseVal.value, t.y1.baseVal.value),
                   s(t.x2.baseVal.value, t.y2.baseVal.value)]; }"""
    )
    (x1, y1), (x2, y2) = tangent
    off = abs((y2 - y1) * where["cx"] - (x2 - x1) * where["cy"] + x2 * y1 - y2 * x1) / max(
        math.hypot(x2 - x1, y2 - y1), 1e-9
    )
    assert off <= 3, f"the tangent does not pass through the current point ({off:.1f} px)"

    choose(page, "select#surface-kind", "2d")
    page.locator("#surface-compute").click()
    two = page.locator("svg#surface-2d")
    expect(two.locator("path.contour").first).to_be_attached(timeout=30_000)
    expect(two.locator("circle.current-point")).to_be_visible()
    expect(two.locator("polyline.trajectory")).to_be_attached()
    points = two.locator("polyline.trajectory").get_attribute("points") or ""
    assert len(numbers(points)) >= 4, f"trajectory has fewer than 2 points: {points!r}"
    where = surface_point_checks(page, "svg#surface-2d", "polyline.trajectory")
    assert where["inside"], where
    assert where["distance"] <= where["r"] + 3, f"the current point is off the path: {where}"
    # the rows fill in; the whole grid arrives and the progress stops counting
    page.wait_for_function(SURFACE_DONE_JS, timeout=30_000)
    where = surface_point_checks(page, "svg#surface-2d", "polyline.trajectory")
    assert where["inside"] and where["distance"] <= where["r"] + 3, where
    tab.screenshot("desktop-surface")


def test_surface_current_point_moves_while_training(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    choose(page, "select#surface-kind", "2d")
    page.locator("#surface-compute").click()
    point = page.locator("svg#surface-2d circle.current-point")
    expect(point).to_be_visible(timeout=30_000)
    # (a box is None for a moment while the stream swaps the drawing)
    start = poll_for(point.bounding_box, lambda box: box is not None, what="the point's box")
    page.locator("#play").click()
    poll(
        lambda: (
            (box := point.bounding_box()) is not None
            and math.hypot(box["x"] - start["x"], box["y"] - start["y"]) > 2
        ),
        20.0,
        what="the 2-D current point to move while training",
    )
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")
