"""A trainer's niceness is at least the setting's, never the setting on top of what it had
(app/training/worker.py ``yield_to_requests``): a Ray actor's worker starts at 15 and must not
train at 19. Each case runs on a thread of its own (on Linux a niceness is a thread's), so the
test process keeps its own."""

from __future__ import annotations

import os
import threading

import pytest

from app.training.worker import yield_to_requests


def niceness_after(start: int, nice: int) -> int:
    """A new thread's niceness after raising it by ``start`` and then ``yield_to_requests``."""
    out: list[int] = []

    def body() -> None:
        os.nice(start)
        yield_to_requests(nice)
        out.append(os.nice(0))

    thread = threading.Thread(target=body)
    thread.start()
    thread.join()
    assert os.nice(0) == 0  # the thread's, not the process's
    return out[0]


@pytest.mark.parametrize(("start", "nice", "want"), [
    (0, 10, 10),  # a worker process started by the web process
    (15, 10, 15),  # a Ray actor's worker: already lower than asked
    (5, 10, 10),
    (3, 0, 3),  # 0: as it is
])  # fmt: skip
def test_the_niceness_is_at_least_the_setting(start: int, nice: int, want: int) -> None:
    if os.nice(0) != 0:
        pytest.skip("the cases are for a test process at niceness 0")
    assert niceness_after(start, nice) == want
