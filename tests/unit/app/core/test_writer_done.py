"""The writer's one-shot signal (app/core/writer.py ``Done``): waiters before and after it is
set all pass, a wait with a timeout ends in time when it is not set, and setting twice is one
set."""

from __future__ import annotations

import threading

from app.core.writer import Done


def test_every_waiter_passes_once_set() -> None:
    done = Done()
    passed: list[bool] = []
    waiters = [threading.Thread(target=lambda: passed.append(done.wait(30))) for _ in range(4)]
    for w in waiters:
        w.start()
    assert not done.is_set()
    done.set()
    done.set()  # a second set changes nothing (and does not release an unheld lock)
    for w in waiters:
        w.join(30)
    assert passed == [True] * 4
    assert done.is_set() and done.wait() and done.wait(0)


def test_a_wait_that_times_out_says_so() -> None:
    done = Done()
    assert done.wait(0.01) is False
    assert done.wait(0) is False
    done.set()
    assert done.wait(0) is True
