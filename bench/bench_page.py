"""Bench: the playground page in Chromium (Playwright) against a real server. Not a test.

Prints the figures issue 4 asks for, measured in the browser:

- time to first paint of the page (First Contentful Paint of ``/`` and of the session page it
  becomes) and the time from ``goto("/")`` until the network is drawn;
- the time from clicking play until the first trained step is on screen;
- while the default net trains: server-sent messages received per second and bytes per message
  (per event name, from the DevTools protocol), and frames painted per second (animation frames
  in which the network drawing changed, counted in the page by a MutationObserver + rAF loop);
- time from clicking "compute" until a full 41×41 2-D loss surface is on screen.

    .venv/bin/python bench/bench_page.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "browser")]
from apptools import Server  # noqa: E402
from browsertools import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    SURFACE_DONE_JS,
    final_problems,
    watch_tab,
)
from playwright.sync_api import sync_playwright  # noqa: E402

# Reports each document's paint timings (relative to its own navigation start).
PAINT_OBSERVER_JS = """new PerformanceObserver((list) => { for (const e of list.getEntries())
  window.__bppPaint({name: e.name, t: e.startTime, url: location.href}); })
  .observe({type: 'paint', buffered: true});"""

# Counts animation frames in which something inside #network-panel changed.
PAINT_COUNTER_JS = """() => {
  const c = window.__paint = {ticks: 0, painted: 0, mutations: 0, dirty: false, run: true};
  new MutationObserver((records) => {
    for (const r of records) {
      const el = r.target.nodeType === 1 ? r.target : r.target.parentElement;
      if (el && el.closest('#network-panel')) { c.mutations += 1; c.dirty = true; }
    }
  }).observe(document.body, {subtree: true, childList: true, attributes: true,
                             characterData: true});
  const tick = () => { c.ticks += 1; if (c.dirty) { c.painted += 1; c.dirty = false; }
                       if (c.run) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
}"""




def fmt(x: float, unit: str = "") -> str:
    return f"{x:,.1f}{unit}" if x >= 10 else f"{x:.3g}{unit}"


def surface_figure(page: Any, grid: int, rows: list[tuple[str, str]]) -> None:
    """Click "compute" for a 2-D loss surface and time it until it is fully on screen."""
    page.locator("select#surface-kind").select_option("2d")
    resolution = page.locator("#surface-resolution")
    if resolution.count():
        resolution.fill(str(grid))
    t1 = time.perf_counter()
    page.locator("#surface-compute").click()
    page.wait_for_function(SURFACE_DONE_JS, timeout=120_000)
    surface = time.perf_counter() - t1
    contours = page.locator("svg#surface-2d path.contour").count()
    rows.append((f"click → full {grid}×{grid} 2-D surface on screen",
                 fmt(surface * 1000, " ms") + f" ({contours} contour paths)"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=10.0, help="training window")
    ap.add_argument("--grid", type=int, default=41, help="2-D surface points per axis")
    ap.add_argument("--preset", default="", help="open /?preset=NAME instead of the default net")
    ap.add_argument("--no-surface", action="store_true", help="skip the 2-D surface figure")
    ap.add_argument("--speed", default="", help="the page's speed control while playing "
                    "(steps/s: 100, 10, 2; default full speed)")
    ap.add_argument("--set", action="append", default=[], metavar="SETTING=VALUE",
                    help="server setting, e.g. --set worker_nice=0")
    args = ap.parse_args()
    extra = dict(item.split("=", 1) for item in args.set)
    rows: list[tuple[str, str]] = []
    with (tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), **extra) as server,
          sync_playwright() as pw):
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        # the server starts its first worker in the background: let it finish, as it would
        # have long before a visitor came
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if httpx.get(server.url + "/api/healthz").json().get("workers", 1) >= 1:
                break
            time.sleep(0.05)
        tab = watch_tab(browser, server.url, "bench")
        page = tab.page

        paints: list[dict[str, Any]] = []
        tab.context.expose_binding("__bppPaint", lambda _src, e: paints.append(e))
        tab.context.add_init_script(PAINT_OBSERVER_JS)
        t0 = time.perf_counter()
        page.goto(f"/?preset={args.preset}" if args.preset else "/")
        page.locator("body[data-session-id]:not([data-session-id=''])").wait_for()
        page.locator("svg#network line.edge").first.wait_for(state="attached")
        drawn = time.perf_counter() - t0
        page.wait_for_function(
            "() => performance.getEntriesByName('first-contentful-paint').length > 0")
        for e in paints:
            if e["name"] == "first-contentful-paint":
                where = "/" if "?s=" not in e["url"] else "/?s=<id> (the session page)"
                rows.append((f"first contentful paint of {where}", fmt(e["t"], " ms")))
        rows.append(('goto("/") → network drawn', fmt(drawn * 1000, " ms")))
        sid = page.locator("body").get_attribute("data-session-id")
        ses: dict[str, Any] = tab.context.request.get(f"/api/sessions/{sid}").json()
        hidden = "-".join(str(h["units"]) for h in ses["config"]["hidden"])
        rows.append(("net", f"{ses['config']['dataset']['name']}, hidden {hidden}, "
                                    f"{ses['n_params']} params"))

        page.evaluate(PAINT_COUNTER_JS)
        if args.speed:
            page.locator("#speed").select_option(args.speed)
        before = int(page.locator("#iteration").inner_text())
        t_play = time.perf_counter()
        page.locator("#play").click()
        page.wait_for_function(
            "n => parseInt(document.querySelector('#iteration').textContent) > n", arg=before)
        rows.append(("click play → first trained step on screen",
                     fmt((time.perf_counter() - t_play) * 1000, " ms")))
        page.wait_for_function("() => window.__paint.painted > 0")
        start_msgs = len(tab.sse)
        p0 = page.evaluate("() => ({...window.__paint})")
        s0 = tab.context.request.get(f"/api/sessions/{sid}").json()["step"]
        w0 = time.perf_counter()
        while time.perf_counter() - w0 < args.seconds:
            page.wait_for_timeout(250)  # keeps Playwright's event queue flowing
        window = time.perf_counter() - w0
        p1 = page.evaluate("() => ({...window.__paint})")
        s1 = tab.context.request.get(f"/api/sessions/{sid}").json()["step"]
        msgs = tab.sse[start_msgs:]
        page.locator("#pause").click()

        rows.append(("training window", fmt(window, " s")))
        rows.append(("training steps/s (API)", fmt((s1 - s0) / window)))
        names = sorted({m[0] for m in msgs})
        for name in names:
            sizes = [m[1] for m in msgs if m[0] == name]
            rows.append((f"sse '{name}' received/s", fmt(len(sizes) / window)))
            rows.append((f"sse '{name}' bytes: mean / max",
                         f"{statistics.fmean(sizes):,.0f} / {max(sizes):,}"))
        total = sum(m[1] for m in msgs)
        rows.append(("sse bytes/s, all events", f"{total / window:,.0f}"))
        rows.append(("frames painted/s (network changed)",
                     fmt((p1["painted"] - p0["painted"]) / window)))
        rows.append(("animation frames/s (display)", fmt((p1["ticks"] - p0["ticks"]) / window)))

        if not args.no_surface:
            surface_figure(page, args.grid, rows)
        problems = final_problems(tab)
        rows.append(("console errors / CSP violations / >1 EventSource",
                     "none" if not problems else f"{len(problems)}: {problems[:3]}"))
        tab.context.close()
        browser.close()

    width = max(len(k) for k, _ in rows)
    print(f"{'page figure'.ljust(width)}  value")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")


if __name__ == "__main__":
    main()
