"""The gradients box of the loss-surface panel: arrows of the full-batch and mini-batch
gradients at the current point equal the REST answer projected on the slice's directions
(recomputed here from the weights and the panel's seed), and the 1-D slice's tangents."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from browsertools import SURFACE_DONE_JS, poll
from pagetools import choose, ready
from playwright.sync_api import expect

from engine.inspect.directions import random_direction


def flat(layers: list[dict[str, Any]]) -> np.ndarray:
    return np.concatenate([np.ravel(layer[k]) for layer in layers for k in ("W", "b")])


def close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 * scale


def test_gradient_arrows_on_the_surface(open_tab: Any) -> None:
    tab = open_tab("/")
    page = tab.page
    sid = ready(tab)
    page.locator("#step-epoch").click()  # a trajectory, and weights off their start
    poll(lambda: tab.session()["step"] > 0, what="one epoch")

    choose(page, "select#surface-kind", "2d")
    choose(page, "select#surface-directions", "random")
    page.locator("#surface-compute").click()
    page.wait_for_function(SURFACE_DONE_JS, timeout=30_000)
    progress = sum(name == "surface-progress" for name, _, _ in tab.sse)
    page.locator("#surface-gradients").check()
    two = page.locator("svg#surface-2d")
    expect(two.locator("line.grad-arrow.full")).to_be_attached(timeout=30_000)
    # the box alone redraws: the map was not computed again (no progress rows counted)
    assert sum(name == "surface-progress" for name, _, _ in tab.sse) == progress
    expect(two.locator("path.contour").first).to_be_attached()

    # the panel's plane: random filter-normalised directions from seed 0 at these weights
    state = tab.state()
    params = [[np.asarray(la["W"], dtype=float), np.asarray(la["b"], dtype=float)]
              for la in state["layers"]]
    rng = np.random.default_rng(0)
    basis = np.stack([random_direction(params, rng), random_direction(params, rng)], axis=1)
    n_batches = two.locator("line.grad-arrow.batch").count()
    noise = tab.api(
        f"/api/sessions/{sid}/gradient-noise", batches=n_batches, seed=0, include="vectors"
    )
    assert n_batches == len(noise["batches"]) >= 2

    def coefficients(layers: list[dict[str, Any]]) -> np.ndarray:
        return np.linalg.lstsq(basis, -flat(layers), rcond=None)[0]

    full = coefficients(noise["full"]["gradient"])
    arrow = two.locator("line.grad-arrow.full")
    got = [float(arrow.get_attribute(f"data-{k}") or "nan") for k in ("alpha", "beta")]
    scale = float(np.abs(full).max())
    assert all(close(g, w, scale) for g, w in zip(got, full, strict=True)), (got, full)
    shown = two.locator("line.grad-arrow.batch")
    for i, batch in enumerate(noise["batches"]):
        want = coefficients(batch["gradient"])
        line = shown.nth(i)
        got = [float(line.get_attribute(f"data-{k}") or "nan") for k in ("alpha", "beta")]
        assert all(close(g, w, float(np.abs(want).max())) for g, w in zip(got, want, strict=True))
        assert float(line.get_attribute("data-cosine") or "nan") == batch["cosine"]
    # every arrow starts at the current point; the longest spans a fixed share of the plot
    point = two.locator("circle.current-point")
    cx, cy = (float(point.get_attribute(k) or "nan") for k in ("cx", "cy"))
    ends = two.locator("line.grad-arrow").evaluate_all(
        "(ls) => ls.map((l) => ['x1', 'y1', 'x2', 'y2'].map((k) => l[k].baseVal.value))"
    )
    assert all(abs(x1 - cx) <= 0.2 and abs(y1 - cy) <= 0.2 for x1, y1, _, _ in ends)
    longest = max(math.hypot(x2 - x1, y2 - y1) for x1, y1, x2, y2 in ends)
    assert 40 < longest < 120, longest
    angle = noise["summary"]["mean_angle_degrees"]
    caption = page.locator("#grad-caption")
    expect(caption).to_contain_text(f"{angle:.0f}°")
    expect(caption).to_contain_text("mini-batches")  # the English page's words only
    expect(caption).not_to_contain_text("미니배치")
    page.locator("#surface-panel").scroll_into_view_if_needed()
    tab.screenshot("desktop-gradient-arrows")

    # live: training moves the weights, the arrows follow; paused, they are the last weights'
    before = arrow.get_attribute("data-alpha")
    page.locator("#play").click()
    poll(lambda: arrow.get_attribute("data-alpha") != before, 20.0, what="the arrows to move")
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")
    paused = tab.session()["step"]
    final = tab.api(
        f"/api/sessions/{sid}/gradient-noise", batches=n_batches, seed=0, include="vectors"
    )
    assert final["iteration"] == paused

    def at_point() -> bool:
        x1, y1 = (float(arrow.get_attribute(k) or "nan") for k in ("x1", "y1"))
        px, py = (float(point.get_attribute(k) or "nan") for k in ("cx", "cy"))
        return abs(x1 - px) <= 0.2 and abs(y1 - py) <= 0.2

    poll(at_point, 10.0, what="the arrows at the paused point")

    # 1-D along one weight: each batch's slope there is its gradient's entry of that weight
    choose(page, "select#surface-kind", "1d")
    choose(page, "select#surface-directions", "weights")
    page.locator("#surface-weight").fill("0:W:0,0")
    page.locator("#surface-compute").click()
    tangents = page.locator("svg#surface-1d line.grad-tangent")
    expect(tangents.first).to_be_attached(timeout=30_000)
    slopes = [float(s) for s in tangents.evaluate_all("(ls) => ls.map((l) => l.dataset.slope)")]
    want = [b["gradient"][0]["W"][0][0] for b in final["batches"]]
    assert len(slopes) == len(want)
    assert all(close(s, w, max(abs(w), 1e-300)) for s, w in zip(slopes, want, strict=True))
    tab.screenshot("desktop-gradient-tangents")
