"""Helpers for the page tests: reading edges and numbers, setting controls, REST state."""

from __future__ import annotations

import base64
import contextlib
import json
import math
import re
from typing import Any

from browsertools import Tab, poll, poll_for
from playwright.sync_api import Locator, Page, expect

NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
FRAME_LIMIT = 32 * 1024

EDGES_JS = """() => Array.from(document.querySelectorAll('svg#network line.edge')).map((e) => ({
  layer: Number(e.dataset.layer), i: Number(e.dataset.i), j: Number(e.dataset.j),
  value: e.dataset.value, stroke: e.getAttribute('stroke'),
  width: e.getAttribute('stroke-width')}))"""
BIASES_JS = """() => Array.from(document.querySelectorAll('svg#network .bias')).map((e) => ({
  layer: Number(e.dataset.layer), j: Number(e.dataset.j), value: e.dataset.value}))"""
NUMBER_RE_JS = r"/[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?/"
# First number in an element's text, or null.
NUMBER_JS = """(sel) => { const el = document.querySelector(sel);
  const m = el && el.textContent.match(NUMBER_RE);
  return m ? Number(m[0]) : null; }""".replace("NUMBER_RE", NUMBER_RE_JS)
# True once the number in an element is below 90 % of the first number it showed.
FALLING_JS = """(sel) => { const el = document.querySelector(sel);
  const m = el && el.textContent.match(NUMBER_RE);
  if (!m || !isFinite(Number(m[0]))) return false;
  const v = Number(m[0]);
  if (window.__firstLoss === undefined) window.__firstLoss = v;
  return v < 0.9 * window.__firstLoss; }""".replace("NUMBER_RE", NUMBER_RE_JS)


# -- helpers --------------------------------------------------------------------------------------


def edges(page: Page) -> list[dict[str, Any]]:
    return list(page.evaluate(EDGES_JS))


def numbers(text: str) -> list[float]:
    return [float(m) for m in NUMBER.findall(text)]


def shown_number(page: Page, selector: str) -> float | None:
    value = page.evaluate(NUMBER_JS, selector)
    return None if value is None else float(value)


def set_input(control: Locator, value: float | str) -> None:
    """Type a value the way a user does (fill, then leave the field so ``change`` fires);
    range sliders are set and get ``input`` + ``change`` events."""
    if control.get_attribute("type") == "range":
        control.evaluate(
            "(el, v) => { el.value = v; el.dispatchEvent(new Event('input', {bubbles: true}));"
            " el.dispatchEvent(new Event('change', {bubbles: true})); }",
            str(value),
        )
    else:
        control.fill(str(value))
        control.blur()


def choose(page: Page, selector: str, value: str) -> None:
    page.locator(selector).select_option(value)


def config(tab: Tab) -> dict[str, Any]:
    return dict(tab.session()["config"])


def wait_config(tab: Tab, check: Any, what: str, timeout: float = 15.0) -> dict[str, Any]:
    return dict(poll_for(lambda: config(tab), check, timeout, what=what))


def ready(tab: Tab) -> str:
    """Wait for the page's session, its network drawing and the stream's first frame (which
    sends the controls again: a control used before it lands can be replaced under the click);
    returns the session id."""
    sid = tab.session_id()
    expect(tab.page.locator("svg#network line.edge").first).to_be_attached()
    # a few seconds at most: this only narrows the race (a stream that is slow to start is
    # checked by the tests that need it)
    with contextlib.suppress(AssertionError):
        poll(lambda: any(n == "share" for n, _, _ in tab.sse), 5.0, what="the first frame")
    tab.page.evaluate("() => new Promise((done) => requestAnimationFrame(() => done()))")
    return sid


def use_dataset(tab: Tab, name: str) -> None:
    choose(tab.page, "select#dataset", name)
    wait_config(tab, lambda c: c["dataset"]["name"] == name, f"dataset {name}")


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def compare_edges(page: Page, key: str, state: dict[str, Any]) -> list[str]:
    """Differences between the edges' data-value and ``state["layers"][L][key][i][j]``."""
    shown = edges(page)
    want = {
        (L, i, j): v
        for L, layer in enumerate(state["layers"])
        for i, row in enumerate(layer[key])
        for j, v in enumerate(row)
    }
    bad = (
        [f"{len(shown)} edges drawn, the API has {len(want)} weights"]
        if len(shown) != len(want)
        else []
    )
    for e in shown:
        k = (e["layer"], e["i"], e["j"])
        if k not in want:
            bad.append(f"edge {k} is not a weight of the API's state")
        elif not close(float(e["value"]), want[k], rel=1e-4):
            bad.append(f"edge {k} shows {e['value']}, the API's {key} is {want[k]}")
    return bad


def wait_edges_match(page: Page, key: str, state: dict[str, Any]) -> None:
    try:
        poll(lambda: not compare_edges(page, key, state), 10.0, what=f"edges = API {key}")
    except AssertionError:
        raise AssertionError("\n".join(compare_edges(page, key, state))) from None


EDGE_MIDDLE_JS = """(sel) => { const e = document.querySelector(sel);
  if (!e) return null;
  let r = e.getBoundingClientRect();
  if (r.top < 0 || r.bottom > innerHeight) {  // scrolled away (by a click lower on the page)
    e.scrollIntoView({block: 'center'});
    r = e.getBoundingClientRect();
  }
  const x = r.left + r.width / 2, y = r.top + r.height / 2;
  const h = document.elementFromPoint(x, y);
  return {x, y, hit: h === e, there: h ? h.outerHTML.slice(0, 120) : null}; }"""


# Texts of the svgs under a selector that stick out of their svg (drawn but cut off).
CLIPPED_TEXT_JS = """(sel) => Array.from(document.querySelectorAll(sel + ' svg text'))
  .filter((t) => t.textContent.trim()).flatMap((t) => {
    const s = t.ownerSVGElement.getBoundingClientRect(), r = t.getBoundingClientRect();
    return r.left < s.left - 0.5 || r.right > s.right + 0.5 ? [t.textContent] : [];
  })"""


def clipped_texts(page: Page, selector: str) -> list[str]:
    return list(page.evaluate(CLIPPED_TEXT_JS, selector))


def tooltip_shows(page: Page, selector: str, value: float) -> None:
    """Hovering the edge shows #tooltip with the value (as displayed: 3+ significant digits).
    The mouse goes to the middle of the line's box (on the line; a horizontal line's box is 0 px
    high, which Playwright's hover calls invisible) once the edge is what is there; moved again
    on each try, since the stream may redraw the network under it."""
    tip = page.locator("#tooltip")
    seen: dict[str, Any] = {}

    def shows() -> bool:
        mid = page.evaluate(EDGE_MIDDLE_JS, selector)
        seen.update(middle=mid)
        if not mid or not mid["hit"]:
            return False
        page.mouse.move(mid["x"], mid["y"])
        if not tip.is_visible():
            return False
        seen.update(text=tip.inner_text())
        return any(close(v, value, rel=6e-3, abs_=1e-12) for v in numbers(seen["text"]))

    poll(shows, 10.0, what=f"#tooltip showing {value} on hover of {selector} (saw {seen})")
    page.mouse.move(0, 0)


def sse_sizes(tab: Tab) -> dict[str, int]:
    """The largest message of each event name the page's stream delivered (bytes)."""
    out: dict[str, int] = {}
    for name, size, _t in tab.sse:
        out[name] = max(out.get(name, 0), size)
    return out


# -- tests ----------------------------------------------------------------------------------------


def config_url(config: dict[str, Any]) -> str:
    """The page's config link: ``/?c=<base64url JSON>`` (what a#share-link carries)."""
    text = json.dumps(config, separators=(",", ":"), sort_keys=True)
    return "/?c=" + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


EDGE_000 = 'svg#network line.edge[data-layer="0"][data-i="0"][data-j="0"]'  # x1 -> h1
SMALL_NET = {  # 2-2-1 on circle data, inputs x1 and x2
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.1, "seed": 3},
    "hidden": [{"units": 2, "activation": "tanh"}],
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch_size": 10,
    "seed": 1,
}
