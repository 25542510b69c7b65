"""The playground page in Chromium against a real server (issue 4's browser tests).

Selectors come from the page contract (ids and data- attributes); numbers the page shows are
checked against the REST API read with the page's own cookie. Every test also passes the
``open_tab`` checks: no console errors, no CSP violations, at most one EventSource per tab.
"""

from __future__ import annotations

import base64
import json
import math
import re
from typing import Any

from browsertools import SURFACE_DONE_JS, OpenTab, Tab, poll, poll_for
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
            " el.dispatchEvent(new Event('change', {bubbles: true})); }", str(value))
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
    """Wait for the page's session and its network drawing; returns the session id."""
    sid = tab.session_id()
    expect(tab.page.locator("svg#network line.edge").first).to_be_attached()
    return sid


def use_dataset(tab: Tab, name: str) -> None:
    choose(tab.page, "select#dataset", name)
    wait_config(tab, lambda c: c["dataset"]["name"] == name, f"dataset {name}")


def close(a: float, b: float, rel: float = 1e-6, abs_: float = 1e-9) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=abs_)


def compare_edges(page: Page, key: str, state: dict[str, Any]) -> list[str]:
    """Differences between the edges' data-value and ``state["layers"][L][key][i][j]``."""
    shown = edges(page)
    want = {(L, i, j): v for L, layer in enumerate(state["layers"])
            for i, row in enumerate(layer[key]) for j, v in enumerate(row)}
    bad = [f"{len(shown)} edges drawn, the API has {len(want)} weights"] \
        if len(shown) != len(want) else []
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
  const r = e.getBoundingClientRect(), x = r.left + r.width / 2, y = r.top + r.height / 2;
  const h = document.elementFromPoint(x, y);
  return {x, y, hit: h === e, there: h ? h.outerHTML.slice(0, 120) : null}; }"""


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


def test_training_on_circle_loss_falls_and_edges_change(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    use_dataset(tab, "circle")
    expect(page.locator("svg#network line.edge").first).to_be_attached()
    before = edges(page)
    assert before and all(math.isfinite(float(e["value"])) for e in before)
    # colour by sign: positive and negative weights are drawn in different colours
    pos = {e["stroke"] for e in before if float(e["value"]) > 0}
    neg = {e["stroke"] for e in before if float(e["value"]) < 0}
    assert pos and neg and not pos & neg, f"edge colours by sign: + {pos}, - {neg}"

    # the loss shown before training (or the first one shown) is the reference
    page.evaluate("() => { window.__firstLoss = undefined; }")
    page.locator("#play").click()
    page.wait_for_function(FALLING_JS, arg="#train-loss", timeout=30_000)
    first = page.evaluate("() => window.__firstLoss")
    last = shown_number(page, "#train-loss")
    assert last is not None and last < 0.9 * first, (first, last)

    values = [e["value"] for e in before]
    after = poll_for(lambda: edges(page), lambda now: [e["value"] for e in now] != values,
                     what="edges to change")
    assert len(after) == len(before)
    assert any(a["width"] != b["width"] for a, b in zip(after, before, strict=True)), \
        "edge widths (stroke-width) did not change while training"
    ses = tab.session()
    assert ses["status"] in ("running", "finished") and ses["step"] > 0
    iteration = shown_number(page, "#iteration")
    assert iteration is not None and iteration > 0
    # one stream, frames within the budget
    es = tab.eventsources()
    assert es["created"] == 1 and es["open"] == 1, es
    sizes = sse_sizes(tab)
    assert sizes, "no server-sent events arrived while training"
    assert max(sizes.values()) <= FRAME_LIMIT, f"messages over {FRAME_LIMIT} bytes: {sizes}"
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")


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


def test_phase_stepper_matches_rest_state(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    ready(tab)
    state = tab.state()
    assert [len(layer["W"][0]) for layer in state["layers"]] == [2, 1]
    assert state["phase"]["phase"] == "forward" and state["phase"]["layer"] == 0
    n_layers = len(state["layers"])
    name = page.locator("#phase-name")
    expect(name).to_be_visible()
    expected = [("forward", k) for k in range(n_layers)] + [("loss", None)]
    expected += [("backward", k) for k in reversed(range(n_layers))] + [("update", None)]
    offsets = set()
    gradients: dict[str, Any] = {}
    for phase, layer in expected:
        old = name.inner_text()
        page.locator("#phase-next").click()
        expect(name).not_to_have_text(old)
        expect(name).to_contain_text(phase, ignore_case=True)
        if phase == "update":
            poll(lambda: tab.state()["iteration"] == 1, what="the update applied")
        else:
            poll(lambda p=phase, k=layer: (tab.state()["last_phase"] or {}) ==
                 {"phase": p, "layer": k}, what=f"API at {phase} {layer}")
        if layer is not None:  # the page names the layer: "output", or one numbering throughout
            text = name.inner_text()
            shown = numbers(text)
            if layer == n_layers - 1 and "output" in text.lower():
                assert not shown, f"{text!r} names the output layer and a number"
            else:
                assert shown, f"no layer number in {text!r}"
                offsets.add(shown[0] - layer)
        if phase == "backward" and layer == 0:
            # every gradient dL/dw is computed: the edges in the gradients view show them
            weights_before = tab.state()
            gradients = tab.state("gradients")
            choose(page, "select#view", "gradients")
            wait_edges_match(page, "dW", gradients)
            tooltip_shows(page, EDGE_000, gradients["layers"][0]["dW"][0][0])
    assert len(offsets) == 1, f"layer numbering in #phase-name is inconsistent: {offsets}"

    after = tab.state()
    changed = [a != b for la, lb in zip(after["layers"], weights_before["layers"], strict=True)
               for ra, rb in zip(la["W"], lb["W"], strict=True)
               for a, b in zip(ra, rb, strict=True)]
    assert any(changed), "the update did not change any weight"
    choose(page, "select#view", "weights")
    wait_edges_match(page, "W", after)
    tooltip_shows(page, EDGE_000, after["layers"][0]["W"][0][0])
    biases = page.evaluate(BIASES_JS)
    want = {(L, j): v for L, layer in enumerate(after["layers"]) for j, v in enumerate(layer["b"])}
    assert {(b["layer"], b["j"]) for b in biases} == set(want), biases
    for b in biases:
        assert close(float(b["value"]), want[(b["layer"], b["j"])], rel=1e-4), b
    es = tab.eventsources()
    assert es["created"] <= 1, es


def test_learning_rate_change_while_running_applies_without_reset(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    page.locator("#play").click()
    poll(lambda: tab.session()["status"] == "running", what="running")
    poll(lambda: (shown_number(page, "#iteration") or 0) > 0, what="#iteration to count")
    ses = tab.session()
    generation, lr0 = ses["generation"], ses["config"]["optimizer"]["lr"]
    new_lr = 0.0123 if not close(lr0, 0.0123) else 0.0456
    step_before = ses["step"]
    shown_before = shown_number(page, "#iteration")

    set_input(page.locator("#lr"), new_lr)
    ses = poll_for(tab.session, lambda s: close(s["config"]["optimizer"]["lr"], new_lr),
                   what=f"lr {new_lr} applied")
    assert ses["generation"] == generation, "changing the learning rate reset the session"
    assert ses["status"] == "running"
    assert ses["step"] >= step_before
    # the iteration keeps growing from where it was, on the API and on the page
    poll(lambda: tab.session()["step"] > ses["step"], what="steps after the change")
    poll(lambda: (shown_number(page, "#iteration") or 0) > max(shown_before or 0, ses["step"]),
         what="#iteration to keep growing")
    assert tab.session()["generation"] == generation
    assert close(float(page.locator("#lr").input_value()), new_lr)
    # the log-scale slider mirrors the rate, and moving it sets the rate too
    lr_log = page.locator("#lr-log")
    assert close(float(lr_log.input_value()), math.log10(new_lr), abs_=0.05), \
        lr_log.input_value()
    set_input(lr_log, -1.5)
    ses = poll_for(tab.session,
                   lambda s: close(s["config"]["optimizer"]["lr"], 10 ** -1.5, rel=0.02),
                   what="lr from the log slider")
    assert ses["generation"] == generation and ses["status"] == "running"
    expect(page.locator("#lr")).not_to_have_value(str(new_lr))
    assert close(float(page.locator("#lr").input_value()), 10 ** -1.5, rel=0.02)
    # recent step records carry the new rate
    records = tab.api(f"/api/sessions/{ses['id']}/history", after=max(0, ses["seq"] - 1))
    assert records["points"] and close(records["points"][-1]["lr"], 10 ** -1.5, rel=0.02)
    es = tab.eventsources()
    assert es["created"] == 1, es
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")


def test_too_large_learning_rate_shows_divergence_without_nan(open_tab: OpenTab) -> None:
    tab = open_tab(config_url({**SMALL_NET, "dataset": {"name": "reg_plane", "n_samples": 200}}))
    page = tab.page
    ready(tab)
    divergence = page.locator("#divergence")
    expect(divergence).to_be_hidden()
    set_input(page.locator("#lr"), 50)
    wait_config(tab, lambda c: c["optimizer"]["lr"] == 50, "lr 50")
    page.locator("#play").click()
    expect(divergence).to_be_visible(timeout=20_000)
    assert tab.session()["status"] == "diverged"
    text = divergence.inner_text()
    assert re.search(r"learning rate", text, re.I), text
    assert len(text.split()) >= 6, f"divergence message too short: {text!r}"
    body = page.evaluate("() => document.body.innerText")
    assert "NaN" not in body
    bad_attrs = page.evaluate(
        """() => Array.from(document.querySelectorAll('*')).flatMap((el) =>
             Array.from(el.attributes).filter((a) => /\\bNaN\\b/.test(a.value))
               .map((a) => `${el.tagName}.${a.name}=${a.value.slice(0, 80)}`))""")
    assert not bad_attrs, bad_attrs
    # the last finite state stays drawn
    shown = edges(page)
    assert shown and all(math.isfinite(float(e["value"])) for e in shown)
    tab.screenshot("desktop-diverged")
    # it offers a reset with a smaller rate
    page.locator("#reset-smaller-lr").click()
    expect(divergence).to_be_hidden()
    ses = poll_for(tab.session, lambda s: s["status"] != "diverged",
                   what="reset after divergence")
    assert ses["config"]["optimizer"]["lr"] < 50
    assert close(float(page.locator("#lr").input_value()), ses["config"]["optimizer"]["lr"])
    assert "NaN" not in page.evaluate("() => document.body.innerText")


def test_shared_url_opens_the_same_config(open_tab: OpenTab) -> None:
    tab = open_tab("/", name="sharer")
    page = tab.page
    ready(tab)
    link = page.locator("a#share-link")

    def change(action: Any, check: Any, what: str) -> None:
        href = link.get_attribute("href")
        action()
        wait_config(tab, check, what)
        expect(link).not_to_have_attribute("href", href or "")

    change(lambda: use_dataset(tab, "xor"), lambda c: c["dataset"]["name"] == "xor", "xor")
    change(lambda: set_input(page.locator("#noise"), page.locator("#noise").get_attribute("max")
                             and 0.2 * float(page.locator("#noise").get_attribute("max") or 1)
                             or 0.2),
           lambda c: c["dataset"].get("noise", 0) > 0, "noise")
    layers = len(config(tab)["hidden"])
    change(lambda: page.locator("#add-layer").click(),
           lambda c: len(c["hidden"]) == layers + 1, "one more layer")
    change(lambda: set_input(page.locator("#lr"), 0.0123),
           lambda c: close(c["optimizer"]["lr"], 0.0123), "lr")
    change(lambda: set_input(page.locator("#seed"), 4242), lambda c: c["seed"] == 4242, "seed")
    href = link.get_attribute("href")
    assert href
    original = tab.session()

    other = open_tab(href, name="opener")
    ready(other)
    opened = other.session()
    assert opened["id"] != original["id"], "the shared link reused the sharer's session"
    assert opened["config"] == original["config"]
    for sel in ("#dataset", "#noise", "#lr", "#seed", "#batch-size", "#optimizer"):
        assert other.page.locator(sel).input_value() == page.locator(sel).input_value(), sel
    expect(other.page.locator("svg#network line.edge")).to_have_count(
        page.locator("svg#network line.edge").count())


def surface_point_checks(page: Page, svg: str, curve: str) -> dict[str, Any]:
    """Where the current point is, relative to its svg and to the curve (screen pixels)."""
    return dict(page.evaluate(
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
        }""", [svg, curve]))


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
                   s(t.x2.baseVal.value, t.y2.baseVal.value)]; }""")
    (x1, y1), (x2, y2) = tangent
    off = abs((y2 - y1) * where["cx"] - (x2 - x1) * where["cy"] + x2 * y1 - y2 * x1) / \
        max(math.hypot(x2 - x1, y2 - y1), 1e-9)
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
    poll(lambda: (box := point.bounding_box()) is not None
         and math.hypot(box["x"] - start["x"], box["y"] - start["y"]) > 2,
         20.0, what="the 2-D current point to move while training")
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")
