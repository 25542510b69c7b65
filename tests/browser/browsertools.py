"""Helpers for the browser tests (Playwright for Python driving Debian's Chromium).

``watch_tab`` opens a page in a new browser context and watches it from its first document on:

- console messages of type ``error`` and uncaught page errors;
- CSP violations (a ``securitypolicyviolation`` listener added by an init script records them
  into ``window.__csp`` and reports them to the test through a binding, so none is lost when the
  tab navigates);
- EventSource use (``window.EventSource`` is wrapped to count constructions and instances that
  are not closed, per document);
- the server-sent events the page receives (name, bytes, arrival time) through the DevTools
  protocol (``Network.eventSourceMessageReceived``);
- the URL of every request the page makes.

``Tab.problems()`` lists what must not happen: console errors, page errors, CSP violations, more
than one EventSource open at once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from apptools import ROOT
from playwright.sync_api import Browser, BrowserContext, Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
SCREENSHOTS = ROOT / "test-output" / "screenshots"
TIMEOUT_MS = 15_000  # default for every Playwright wait and expect in these tests

# Runs before any script of every document of every page of a context.
WATCH_SCRIPT = """
(() => {
  const report = (kind, detail) => {
    try { if (window.__bppReport) window.__bppReport(kind, detail); } catch (e) { /* ignore */ }
  };
  window.__csp = [];
  document.addEventListener('securitypolicyviolation', (e) => {
    const v = {directive: e.violatedDirective, blocked: e.blockedURI, sample: e.sample,
               source: e.sourceFile, line: e.lineNumber};
    window.__csp.push(v);
    report('csp', v);
  }, true);
  const Native = window.EventSource;
  const es = {created: 0, maxOpen: 0, urls: [], instances: []};
  es.open = () => es.instances.filter((s) => s.readyState !== 2).length;
  window.__es = es;
  if (!Native) return;
  class CountedEventSource extends Native {
    constructor(url, init) {
      super(url, init);
      es.created += 1;
      es.urls.push(String(url));
      es.instances.push(this);
      es.maxOpen = Math.max(es.maxOpen, es.open());
      report('eventsource', {created: es.created, open: es.open(), url: String(url)});
    }
  }
  window.EventSource = CountedEventSource;
})();
"""


@dataclass
class Tab:
    """A page plus everything the watchers saw in it."""

    page: Page
    context: BrowserContext
    name: str
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    csp: list[dict[str, Any]] = field(default_factory=list)
    es_reports: list[dict[str, Any]] = field(default_factory=list)
    # (event name, bytes, DevTools monotonic arrival time in s)
    sse: list[tuple[str, int, float]] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)

    # -- helpers used by the tests -------------------------------------------------------------

    def session_id(self) -> str:
        body = self.page.locator("body[data-session-id]:not([data-session-id=''])")
        body.wait_for(state="attached")
        sid = body.get_attribute("data-session-id")
        assert sid
        return sid

    def api(self, path: str, **params: Any) -> dict[str, Any]:
        """GET an API path with this tab's cookie (the same owner as the page)."""
        r = self.context.request.get(path, params=params or None)
        assert r.ok, f"GET {path}: {r.status} {r.text()}"
        return dict(r.json())

    def session(self) -> dict[str, Any]:
        return self.api(f"/api/sessions/{self.session_id()}")

    def state(self, *include: str) -> dict[str, Any]:
        query = "&".join(f"include={v}" for v in include)
        return self.api(f"/api/sessions/{self.session_id()}/state" + (f"?{query}" if query else ""))

    def eventsources(self) -> dict[str, Any]:
        """This document's EventSource counters: created, open now, most open at once, urls."""
        return dict(
            self.page.evaluate(
                "() => window.__es ? {created: __es.created, open: __es.open(), "
                "maxOpen: __es.maxOpen, urls: __es.urls} : null"
            )
            or {}
        )

    def screenshot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def problems(self) -> list[str]:
        out = [f"{self.name}: console error: {m}" for m in self.console_errors]
        out += [f"{self.name}: page error: {m}" for m in self.page_errors]
        out += [f"{self.name}: CSP violation: {json.dumps(v)}" for v in self.csp]
        worst = max((r["open"] for r in self.es_reports), default=0)
        if worst > 1:
            urls = [r["url"] for r in self.es_reports]
            out.append(f"{self.name}: {worst} EventSources open at once (urls: {urls})")
        return out


# True once a 2-D surface is complete on screen: contours drawn, #surface-progress no longer
# counting rows ("computing… k / N rows" while they arrive, empty when done).
SURFACE_DONE_JS = """() => {
  const svg = document.querySelector('svg#surface-2d');
  if (!svg || !svg.querySelector('path.contour')) return false;
  const out = document.querySelector('#surface-out');
  if (out && /computing/i.test(out.textContent)) return false;
  const p = document.querySelector('#surface-progress');
  return !p || !/computing|\\d+\\s*\\/\\s*\\d+/i.test(p.textContent);
}"""

OpenTab = Callable[..., "Tab"]


def poll(
    check: Callable[[], Any], timeout: float = 15.0, interval: float = 0.1, what: str = "condition"
) -> Any:
    """Call ``check`` until it returns something truthy (returned) or ``timeout`` passes."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what} (last: {last!r})")
        time.sleep(interval)


def watch_tab(
    browser: Browser, base_url: str, name: str, viewport: dict[str, int] | None = None
) -> Tab:
    """A new context and page on ``base_url`` with every watcher attached (not navigated)."""
    context = browser.new_context(base_url=base_url, viewport=viewport or DESKTOP)
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    page = context.new_page()
    tab = Tab(page=page, context=context, name=name)

    def on_report(_source: Any, kind: str, detail: dict[str, Any]) -> None:
        (tab.csp if kind == "csp" else tab.es_reports).append(detail)

    def on_console(message: Any) -> None:
        if message.type == "error":
            where = message.location
            tab.console_errors.append(
                f"{message.text} @ {where.get('url')}:{where.get('lineNumber')}"
            )

    def on_sse(event: dict[str, Any]) -> None:
        tab.sse.append((event["eventName"], len(event["data"].encode()), event["timestamp"]))

    context.expose_binding("__bppReport", on_report)
    context.add_init_script(WATCH_SCRIPT)
    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    page.on("request", lambda request: tab.requests.append(request.url))
    cdp = context.new_cdp_session(page)
    cdp.on("Network.eventSourceMessageReceived", on_sse)
    cdp.send("Network.enable")
    return tab


def final_problems(tab: Tab) -> list[str]:
    """``tab.problems()`` plus what the current document itself recorded."""
    problems: list[str] = []
    if not tab.page.is_closed():
        tab.csp += [v for v in tab.page.evaluate("() => window.__csp || []") if v not in tab.csp]
        es = tab.eventsources()
        if es.get("maxOpen", 0) > 1:
            problems.append(f"{tab.name}: {es['maxOpen']} EventSources open at once: {es}")
    return problems + tab.problems()


def poll_for(
    get: Callable[[], Any],
    check: Callable[[Any], Any],
    timeout: float = 15.0,
    what: str = "condition",
) -> Any:
    """Call ``get`` until ``check(value)`` is truthy; returns that value."""
    box: list[Any] = []

    def once() -> bool:
        box[:] = [get()]
        return bool(check(box[0]))

    poll(once, timeout, what=what)
    return box[0]
