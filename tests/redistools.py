"""A real ``redis-server`` for the fan-out tests, on 127.0.0.1 and a free port, in a temp dir,
without persistence; and the switch that runs other suites against it.

``RedisServer`` starts, stops (SIGTERM; its data goes, as a crashed Redis's would without
persistence) and restarts one server on the same port. The session fixture ``redis_url``
is the shared one (import it into a test module).

The switch: with ``BPP_TEST_FANOUT=redis`` in the environment, ``switch_on()`` (run from
``tests/conftest.py`` when pytest starts) starts a server for this pytest process and sets
``BPP_FANOUT`` to it, which every ``Settings`` built in the tests and every ``Server`` they
start then read: the existing suites run against the Redis fan-out unchanged.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis
from apptools import free_port


class RedisServer:
    """``redis-server`` on 127.0.0.1 only, in ``folder``, no RDB or AOF."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> RedisServer:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        deadline = time.monotonic() + timeout
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                assert self.proc.poll() is None, "redis-server exited"
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.02)
        client.close()
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc = None


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    server = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield server.url
    server.stop()


def switch_on() -> None:
    """Run this pytest process's apps and servers with the Redis fan-out when
    ``BPP_TEST_FANOUT=redis`` (see the module docstring)."""
    if os.environ.get("BPP_TEST_FANOUT") != "redis" or os.environ.get("BPP_FANOUT"):
        return
    folder = Path(tempfile.mkdtemp(prefix="bpp-redis-"))
    server = RedisServer(folder).start()
    os.environ["BPP_FANOUT"] = server.url

    def stop() -> None:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)

    atexit.register(stop)

T = TypeVar("T")


def run_apart(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(main)`` on a thread of its own: a pytest worker that ran browser tests
    before has Playwright's event loop running on its main thread (pytest-xdist hands a worker
    files of both kinds), where asyncio.run refuses to start another."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, main).result()
