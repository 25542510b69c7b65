"""A worker makes a session's page frames no faster than the web process takes them: at most
PAGE_CREDIT on their way, one more for each taken (messages.Drawn), and never stalled for
good by a Drawn that does not come (CREDIT_SECONDS).

The worker's own loop (app/training/worker.py ``Worker.serve``) runs on a thread here, over a
real pipe, as it runs in a worker process."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from multiprocessing import Pipe
from multiprocessing.connection import Connection
from typing import Any

import pytest
from apptools import FAST

from app.streaming.demand import Demand
from app.training import messages, runs
from app.training.transfer import dumps
from app.training.worker import Worker
from engine.trainer import Trainer

OPTIONS = runs.Options(
    slice_s=0.01, round_s=0.01, metrics_interval_s=0.5, checkpoint_s=60.0, nice=0
)


@pytest.fixture
def web() -> Iterator[Connection]:
    """The web process's end of a pipe to a worker training one session, pages asking 60/s."""
    ours, theirs = Pipe()
    thread = threading.Thread(target=Worker(theirs, OPTIONS).serve, daemon=True)
    thread.start()
    spec = messages.RunSpec(
        seq_base=0, generation=0, budget=10**9, speed=None, demand=Demand(pages=60.0)
    )
    ours.send([messages.Start("s", dumps(Trainer(FAST)), spec)])
    yield ours
    ours.send([messages.Quit()])
    thread.join(10)


def pages_within(conn: Connection, seconds: float, until: int = 10**9) -> int:
    """Page frames the worker sends in ``seconds`` (or until ``until`` came)."""
    got, end = 0, time.monotonic() + seconds
    while got < until and (left := end - time.monotonic()) > 0:
        if conn.poll(left):
            msgs: list[Any] = conn.recv()
            got += sum(1 for m in msgs if isinstance(m, messages.Slice) and m.page is not None)
    return got


def test_frames_not_taken_stop_the_worker_making_more(web: Connection) -> None:
    # 60 a second asked for: 0.5 s would be 30 frames; untaken, the worker stops at its credit
    assert pages_within(web, 0.5) == runs.PAGE_CREDIT
    web.send([messages.Drawn(("s",))])
    assert pages_within(web, 5.0, until=1) == 1  # one taken, one more
    assert pages_within(web, 0.3) == 0


def test_taken_frames_keep_them_coming(web: Connection) -> None:
    got, end = 0, time.monotonic() + 1.0
    while time.monotonic() < end:
        if web.poll(0.05):
            for m in web.recv():
                if isinstance(m, messages.Slice) and m.page is not None:
                    got += 1
                    web.send([messages.Drawn(("s",))])  # drawn at once
    # 60 asked for: far more than the credit's 2 (a quarter leaves room for a busy machine)
    assert got >= 15


def test_a_drawn_that_never_comes_stalls_a_page_for_a_while_only(web: Connection) -> None:
    assert pages_within(web, 0.5) == runs.PAGE_CREDIT
    # CREDIT_SECONDS after the last one, the frames on their way are taken as lost
    assert pages_within(web, runs.CREDIT_SECONDS + 5.0, until=1) == 1
