"""The page's loss curves follow the step records: from the hub's ring while the page keeps up,
and from the database when a fast small net trains more steps between two frames than the ring
holds. Catching up reads only the rows with metrics after the page's cursor, through the
partial index on them; before, it re-read the whole history every frame (25 ms and growing,
which held xor-no-hidden's page at 19 frames/s)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from app.core.store import Store
from app.page.feed import PageFeed
from app.page.feed_curves import take_history
from app.streaming.hub import Hub
from engine.inspect import readouts

METRICS_EVERY = 50


def record(step: int, generation: int = 0) -> str:
    rec: dict[str, Any] = {"seq": step, "generation": generation, "step": step, "loss": 1 / step}
    if step % METRICS_EVERY == 0:
        rec["metrics"] = {"train": {"loss": 1 / step, "accuracy": 0.5}}
    return json.dumps(rec)


class Fixture:
    """A real store and hub, written and published the way a session does (commit first)."""

    def __init__(self, path: Path) -> None:
        self.store = Store(path)
        self.loop = asyncio.new_event_loop()  # never run: no subscribers to wake
        self.hub = Hub(ring_size=16, last_seq=0, loop=self.loop)
        self.session = SimpleNamespace(id="s", hub=self.hub, generation=0)
        self.manager = SimpleNamespace(store=self.store)
        row = ("s", "owner", "", "{}", "running", 0, 0, "{}", 0.0, 0.0)
        insert = (
            "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base,"
            " counters, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)"
        )
        assert self.store.submit([(insert, row, False)]).wait()

    def train(self, first: int, last: int, generation: int = 0, chunk: int = 10) -> None:
        for start in range(first, last + 1, chunk):
            steps = [
                (s, record(s, generation)) for s in range(start, min(last, start + chunk - 1) + 1)
            ]
            rows = [(s, s, 1 / s, int(s % METRICS_EVERY == 0), text) for s, text in steps]
            assert self.store.submit([self.store.put_steps("s", generation, rows)]).wait()
            self.hub.publish(steps)

    def close(self) -> None:
        self.store.close()
        self.loop.close()


@pytest.fixture
def fx(tmp_path: Path) -> Iterator[Fixture]:
    f = Fixture(tmp_path / "db.sqlite3")
    yield f
    f.close()


def test_curves_catch_up_from_the_database_without_rereading_the_history(
    fx: Fixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    feed = PageFeed("s")
    # the first: the whole history (none yet)
    take_history(feed.curves, fx.session, fx.store, False)
    full_reads: list[int] = []
    real = fx.store.history
    monkeypatch.setattr(fx.store, "history", lambda *a: full_reads.append(1) or real(*a))

    fx.train(1, 60)  # 60 steps against a ring of 16: behind at once
    take_history(feed.curves, fx.session, fx.store, False)
    assert feed.curves.chart.steps == [50] and feed.curves.cursor == 60
    fx.train(61, 64)  # a few: read from the ring
    take_history(feed.curves, fx.session, fx.store, False)
    assert feed.curves.cursor == 64
    fx.train(65, 2000, chunk=100)  # far behind the ring (in fewer commits: each waits ~15 ms)
    take_history(feed.curves, fx.session, fx.store, False)
    fx.train(2001, 2050)
    take_history(feed.curves, fx.session, fx.store, False)

    expected = list(range(METRICS_EVERY, 2051, METRICS_EVERY))
    assert feed.curves.chart.steps == expected  # each metric row once, in order
    assert feed.curves.chart.loss["train"] == [1 / s for s in expected]
    assert feed.curves.cursor == 2050
    assert full_reads == []  # caught up from its cursor, never by reloading everything
    fresh = PageFeed("s")
    take_history(fresh.curves, fx.session, fx.store, False)
    assert fresh.curves.chart.steps == expected


def test_catching_up_skips_another_generation(fx: Fixture) -> None:
    feed = PageFeed("s")
    take_history(feed.curves, fx.session, fx.store, False)
    fx.train(1, 100, generation=0)
    fx.train(101, 300, generation=1)  # the reset's rows, before the page saw the new generation
    take_history(feed.curves, fx.session, fx.store, False)
    assert feed.curves.chart.steps == [50, 100]
    assert feed.curves.cursor == 300


def test_metric_reads_use_the_partial_index(fx: Fixture) -> None:
    """Without statistics SQLite's planner walks the primary key over every step row the
    session wrote; the metric reads must name the index."""
    fx.train(1, 200)
    conn = fx.store._reader()  # the reader of this thread, as the methods below use it
    sent: list[str] = []
    conn.set_trace_callback(sent.append)
    fx.store.metrics_between("s", 0, 0, 200)
    fx.store.history("s", 0, 0, 1000, 1, True)
    conn.set_trace_callback(None)
    assert len(sent) == 2
    for sql in sent:
        plan = " ".join(str(row[3]) for row in conn.execute("EXPLAIN QUERY PLAN " + sql))
        assert "history_metrics" in plan, plan


def test_curves_end_on_the_step_a_stopped_run_shows() -> None:
    """Training computes full-set metrics every metrics_interval only: a paused run's curves
    and legend would stop up to that long before the step shown. The page closes them."""
    from engine.trainer import Trainer
    from tests.conftest import small_config
    from tests.unit.app.page.test_page_frames import FakeSession, Manager

    trainer = Trainer(small_config())
    trainer.step(10)
    session, manager = FakeSession(trainer), Manager()
    feed = PageFeed("s1")
    feed.curves.generation = 0  # loaded: no history to read back
    feed.curves.chart.add({"step": 10, "metrics": readouts.metrics(trainer)})
    trainer.step(25)  # trained on, then paused before the next metric row
    feed.refresh_local(session, manager)
    assert feed.curves.chart.steps == [10, 35]
    assert feed.curves.chart.last("train") == readouts.metrics(trainer)["train"]["loss"]
    session.hub.last_seq += 1  # something else changed: drawn again, but closed once per stop
    feed.refresh_local(session, manager)
    assert feed.curves.chart.steps == [10, 35]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fixture]:
    """1000 steps written once for the tests that only read them."""
    f = Fixture(tmp_path_factory.mktemp("curves") / "db.sqlite3")
    f.train(1, 1000, chunk=100)  # the rows are what the reads see, not how they were committed
    yield f
    f.close()


@pytest.mark.parametrize(("after", "stride"), [(0, 7), (0, 50), (13, 3), (990, 4), (0, 5000)])
def test_downsampled_history_by_key_equals_the_scan(
    trained: Fixture, after: int, stride: int
) -> None:
    """/history?points= looks the wanted steps up by primary key: the same rows, in the same
    order, as testing step % stride (and has_metrics) on every row."""
    scanned = trained.store.history("s", 0, after, 100_000, stride, False)
    assert trained.store.sampled("s", 0, 0, (after, 1000), stride, 100_000) == scanned
    assert trained.store.sampled("s", 0, 0, (after, 1000), stride, 5) == scanned[:5]
