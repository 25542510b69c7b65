"""The page feeds' render thread paces the regions nobody reads at frame rate: at their own
intervals for a few sessions, at a share of its time for a class."""

from __future__ import annotations

import threading
import time

import pytest

from app.page import explain_view, frames, render_thread
from app.page import feed as page_feed
from app.page.render_thread import Renderer
from engine.trainer import Trainer
from tests.conftest import small_config


class Slow:
    """A feed whose drawing takes ``cost`` seconds of the thread's time."""

    def __init__(self, sid: str, cost: float = 0.0) -> None:
        self.sid = sid
        self.cost = cost
        self.drawn = threading.Event()

    def render_pending(self) -> None:
        time.sleep(self.cost)
        self.drawn.set()


def test_one_session_gets_the_least_interval_and_a_class_a_share_of_the_thread() -> None:
    r = Renderer()
    r.cost("charts", 0.003)
    assert r.interval("charts", 0.1, 0.15) == 0.1  # nothing drawn by the thread yet
    feeds = [Slow(f"s{i}") for i in range(100)]
    deadline = time.monotonic() + 30
    # the thread draws 100 sessions for over a window: 100 × 3 ms / 0.15 = 2 s each
    while r.active < 100 and time.monotonic() < deadline:
        for feed in feeds:
            feed.drawn.clear()
            r.due(feed)
        for feed in feeds:
            assert feed.drawn.wait(10)
    assert r.active == 100
    assert r.interval("charts", 0.1, 0.15) == pytest.approx(2.0)
    r.cost("charts", 0.001)  # cheaper drawings: a moving average, so part of the way
    assert r.interval("charts", 0.1, 0.15) == pytest.approx(100 * 0.0026 / 0.15)


def test_a_region_that_costs_more_under_load_waits_longer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = Trainer(small_config())
    t.step(1)
    frame = frames.build(t, 0, frames.Look(), False)

    def drawn(active: int) -> bool:
        monkeypatch.setattr(render_thread.RENDERER, "active", active)
        monkeypatch.setitem(render_thread.RENDERER.costs, "explain", 0.002)
        memo: dict[str, object] = {"explain_at": time.monotonic() - 1.2 * frames.EXPLAIN_SECONDS}

        def due(name: str, key: object) -> bool:
            return memo.setdefault(name, key) is key

        feed = page_feed.PageFeed("s")
        return "phase-panel" in explain_view.render(frame, feed, due, memo, running=True)

    assert drawn(1)  # one session: its own interval has passed
    # 100 sessions × 2 ms / EXPLAIN_SHARE = 1.3 s: not yet
    assert not drawn(100)


def test_frames_taken_while_the_thread_draws_are_told_together() -> None:
    """Workers hear of their taken page frames in one message each, not one per frame."""
    r = Renderer()
    busy = Slow("busy", cost=0.2)
    told: list[list[str]] = []
    other: list[list[str]] = []
    r.due(busy)  # the thread draws for 0.2 s
    for sid in "abcde":
        r.taken((told.append, sid))
    r.taken((other.append, "z"))  # another worker's
    deadline = time.monotonic() + 10
    while not (told and other) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert busy.drawn.is_set()
    assert told == [list("abcde")]
    assert other == [["z"]]
