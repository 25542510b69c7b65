"""Browser tests: Playwright for Python driving Debian's Chromium against a real server.

One uvicorn server (``apptools.Server``, temp data dir) and one browser for the whole run; each
test opens fresh browser contexts (a fresh owner cookie, so a fresh session) with ``open_tab``.
At the end of each test every tab it opened must have had 0 console errors, 0 page errors,
0 CSP violations and never more than one EventSource open at once (see ``browsertools``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from apptools import Server
from browsertools import (
    CHROMIUM,
    CHROMIUM_ARGS,
    TIMEOUT_MS,
    OpenTab,
    Tab,
    final_problems,
    watch_tab,
)
from playwright.sync_api import Browser, expect, sync_playwright

expect.set_options(timeout=TIMEOUT_MS)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with Server(tmp_path_factory.mktemp("browser")) as srv:
        yield srv


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def open_tab(browser: Browser, server: Server) -> Iterator[OpenTab]:
    """``open_tab(path="/", viewport=None, name=None)``: a new context and page, watched,
    navigated to ``path`` on the server; checked and closed after the test."""
    tabs: list[Tab] = []

    def make(
        path: str = "/", viewport: dict[str, int] | None = None, name: str | None = None
    ) -> Tab:
        tab = watch_tab(browser, server.url, name or f"tab{len(tabs) + 1}", viewport)
        tabs.append(tab)
        tab.page.goto(path)
        return tab

    yield make
    problems = [p for tab in tabs for p in final_problems(tab)]
    for tab in tabs:
        tab.context.close()
    assert not problems, "\n".join(problems)
