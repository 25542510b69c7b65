"""The network drawing moves instead of jumping: after the update phase the edges ease from the
widths they had on screen to their new ones (a CSS transition started by static/app.js)."""

from __future__ import annotations

from typing import Any

from browsertools import OpenTab, poll
from pagetools import SMALL_NET, config_url, ready
from playwright.sync_api import expect

# Records every swap of the network drawing as it happens: a MutationObserver callback runs
# right after the script that swapped (before anything is painted), so it sees each edge's
# width at the start of its transition, whatever the machine's load.
RECORD_SWAPS_JS = """() => {
  window.__swaps = [];
  const wrap = document.getElementById('network-wrap');
  new MutationObserver(() => {
    const svg = wrap.querySelector('svg#network');
    if (!svg) return;
    window.__swaps.push({view: svg.dataset.view, edges: Array.from(
      svg.querySelectorAll('line.edge')).map((e) => ({
        key: [e.dataset.layer, e.dataset.i, e.dataset.j].join(':'),
        attr: parseFloat(e.getAttribute('stroke-width')),
        shown: parseFloat(getComputedStyle(e).strokeWidth),
        easing: e.getAnimations().some((a) => a.transitionProperty === 'stroke-width'
                                             && a.playState === 'running'),
      }))});
  }).observe(wrap, {childList: true});
}"""
WIDTHS_JS = """() => Object.fromEntries(
  Array.from(document.querySelectorAll('svg#network line.edge')).map((e) => [
    [e.dataset.layer, e.dataset.i, e.dataset.j].join(':'),
    [parseFloat(e.getAttribute('stroke-width')), parseFloat(getComputedStyle(e).strokeWidth)],
  ]))"""
STILL_JS = """() => Array.from(document.querySelectorAll('svg#network line.edge'))
  .every((e) => e.getAnimations().length === 0)"""


def test_update_phase_eases_edges_to_their_new_widths(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    ready(tab)
    n_layers = len(tab.state()["layers"])
    name = page.locator("#phase-name")
    for _ in range(2 * n_layers + 1):  # forward layer by layer, the loss, backward
        old = name.inner_text()
        page.locator("#phase-next").click()
        expect(name).not_to_have_text(old)
    expect(page.locator("#phase-next-name")).to_contain_text("update")
    poll(lambda: (tab.state()["last_phase"] or {}).get("layer") == 0, what="backward done")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "delta")
    page.wait_for_function(STILL_JS)
    before: dict[str, Any] = page.evaluate(WIDTHS_JS)
    page.evaluate(RECORD_SWAPS_JS)

    page.locator("#phase-next").click()
    poll(lambda: tab.state()["iteration"] == 1, what="the update applied")
    page.wait_for_function("() => window.__swaps.some((s) => s.view === 'weights')")
    swap = next(s for s in page.evaluate("() => window.__swaps") if s["view"] == "weights")
    moved = [e for e in swap["edges"] if abs(e["attr"] - before[e["key"]][0]) > 0.5]
    assert moved, f"no edge changed its width by more than 0.5 at the update: {swap}"
    for e in moved:
        old, new, shown = before[e["key"]][0], e["attr"], e["shown"]
        assert e["easing"], f"edge {e['key']} has no stroke-width transition: {e}"
        assert min(old, new) - 0.05 <= shown <= max(old, new) + 0.05, (old, new, e)
        assert abs(shown - new) > 0.25, f"edge {e['key']} jumped to its new width: {old} → {e}"

    # ... and arrives at the new width
    def arrived() -> bool:
        now = page.evaluate(WIDTHS_JS)
        return all(abs(now[e["key"]][1] - e["attr"]) < 0.05 for e in moved)

    poll(arrived, 10.0, what="edges at their new widths")
    page.wait_for_function(STILL_JS)  # every transition ends
