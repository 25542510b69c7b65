"""The Redis fan-out's sender: one thread per process that writes publishes to Redis, so the
store's writer thread (which publishes after each commit) only queues them.

Jobs run in the order submitted (a session's publishes, cuts and closes reach Redis in order);
everything queued when the thread wakes goes in one pipeline, one round trip however many
sessions published meanwhile. A job *builds* its commands when its pipeline is made, so it
decides then what the outcome of the jobs before it calls for (a stream started over after a
failure, app/streaming/redis_fanout.py). Each job then hears whether Redis took it
(``done(True)``) or not (``done(False)``: the pipeline failed, the breaker is open, or the queue
is over :data:`MAX_QUEUED`: Redis far behind is the same as Redis down).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis
from redis.exceptions import NoScriptError

MAX_BATCH = 256  # jobs in one pipeline
MAX_QUEUED = 20_000  # jobs waiting; past it, new ones fail at once


class Link(Protocol):
    client: Any

    def usable(self) -> bool: ...

    def failed(self, exc: Exception) -> None: ...

    def worked(self) -> None: ...

    def load_scripts(self) -> None: ...


@dataclass
class Job:
    build: Callable[[Any], int]  # adds its commands to the pipeline; how many
    done: Callable[[bool], None]  # did Redis take them?


class Sender:
    """A queue of jobs and the thread that pipelines them to Redis (module docstring)."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.jobs: deque[Job] = deque()
        self.cond = threading.Condition()
        self.busy = False
        self.closed = False
        self.thread = threading.Thread(target=self._run, name="bpp-redis-send", daemon=True)
        self.thread.start()

    def submit(self, build: Callable[[Any], int], done: Callable[[bool], None]) -> None:
        with self.cond:
            full = self.closed or len(self.jobs) >= MAX_QUEUED
            if not full:
                self.jobs.append(Job(build, done))
                self.cond.notify()
        if full:
            done(False)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every job submitted so far has been sent (or failed)."""
        with self.cond:
            return self.cond.wait_for(lambda: not self.jobs and not self.busy, timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Send what is queued (within ``timeout``), then stop."""
        self.flush(timeout)
        with self.cond:
            self.closed = True
            self.cond.notify_all()
        self.thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self.cond:
                self.cond.wait_for(lambda: bool(self.jobs) or self.closed)
                if not self.jobs:
                    return  # closed, and nothing left
                batch = [self.jobs.popleft() for _ in range(min(MAX_BATCH, len(self.jobs)))]
                self.busy = True
            try:
                self._send(batch)
            finally:
                with self.cond:
                    self.busy = False
                    self.cond.notify_all()

    def _send(self, batch: list[Job]) -> None:
        if not self.link.usable():
            for job in batch:
                job.done(False)
            return
        for attempt in (1, 2):
            pipe = self.link.client.pipeline(transaction=False)
            counts = [job.build(pipe) for job in batch]
            try:
                results = pipe.execute(raise_on_error=False)
                if attempt == 1 and any(isinstance(r, NoScriptError) for r in results):
                    # a restarted Redis forgot the scripts: every call failed, none ran
                    self.link.load_scripts()
                    continue
            except (redis.RedisError, OSError) as exc:
                self.link.failed(exc)
                for job in batch:
                    job.done(False)
                return
            break
        self.link.worked()
        at = 0
        for job, n in zip(batch, counts, strict=True):
            errors = [r for r in results[at : at + n] if isinstance(r, Exception)]
            at += n
            if errors:  # a command Redis refused: that job's stream is suspect from here
                self.link.failed(errors[0])
            job.done(not errors)
