"""Helpers for the app tests: an in-process client and a real uvicorn server in a subprocess.

``ApiClient`` drives the ASGI app through httpx's ASGITransport on an anyio portal thread, with
the app's lifespan running (so the real session manager, SQLite file and worker processes run).
``Server`` starts ``python -m app.serve`` (uvicorn on ``app.main:app`` with the flags of ``make
run``) on 127.0.0.1 on a free port with its own data dir: the stream, persistence and README
tests talk to it over real sockets.

``BPP_TEST_STORE=postgres`` runs whatever uses these against PostgreSQL instead of SQLite: each
data dir gets its own database in the test process's throwaway cluster (tests/pgtools.py), so a
server started again on the same data dir finds what it stored.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anyio.from_thread
import httpx
import pgtools
import psycopg

from app.core.settings import Settings
from app.main import create_app

ROOT = Path(__file__).resolve().parent.parent

FAST = {
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.1, "seed": 3},
    "hidden": [{"units": 4, "activation": "tanh"}],
    "optimizer": {"name": "sgd", "lr": 0.1},
    "batch_size": 10,
    "seed": 1,
}


def store_url(data_dir: Path) -> str | None:
    """``data_dir``'s PostgreSQL database under ``BPP_TEST_STORE=postgres``, else None."""
    if os.environ.get("BPP_TEST_STORE") != "postgres":
        return None
    return pgtools.shared().database_of(data_dir)


def db_rows(data_dir: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` (``?`` placeholders) on the database of the server of ``data_dir``: its
    SQLite file, or its PostgreSQL database under ``BPP_TEST_STORE=postgres``."""
    url = store_url(data_dir)
    if url is None:
        conn = sqlite3.connect(data_dir / "playground.sqlite3")
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()
    with psycopg.connect(url) as pg:
        return pg.execute(sql.replace("?", "%s"), params).fetchall()


def db_usage(data_dir: Path) -> tuple[int, int]:
    """(bytes in use, bytes free for reuse) of the server's database: SQLite's pages minus its
    free pages, and the free pages; PostgreSQL's tables less the free space VACUUM recorded (as
    app/core/pgstore.py measures what its cap bounds), and that free space."""
    url = store_url(data_dir)
    if url is None:
        conn = sqlite3.connect(data_dir / "playground.sqlite3")
        try:
            pragmas = ("page_count", "freelist_count", "page_size")
            pages, free, size = (conn.execute(f"PRAGMA {p}").fetchone()[0] for p in pragmas)
        finally:
            conn.close()
        return (pages - free) * size, free * size
    # app.core.pgstore imports SQLAlchemy and Alembic (~0.5 s): only the PostgreSQL runs pay it
    pgstore = importlib.import_module("app.core.pgstore")
    tables = list(pgstore.TABLES)
    with psycopg.connect(url) as pg:
        total = pg.execute(pgstore.TOTAL_SIZE, (tables,)).fetchone()
        free = pg.execute(pgstore.FREE_SPACE, (tables, tables)).fetchone()
    assert total is not None and free is not None
    return int(total[0]) - int(free[0]), int(free[0])


def make_settings(data_dir: Path, **overrides: Any) -> Settings:
    # in-process apps come and go with each test: start workers only when a run needs one
    url = store_url(data_dir)
    if url is not None:
        overrides = {"database_url": url, **overrides}
    return Settings(data_dir=data_dir, **{"warm_workers": 0, **overrides})


class ApiClient:
    """Synchronous client for an in-process app; cookies are not kept between requests."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self._portal_cm = anyio.from_thread.start_blocking_portal()
        self.portal = self._portal_cm.__enter__()
        self._lifespan = self.app.router.lifespan_context(self.app)
        try:
            self.portal.call(self._lifespan.__aenter__)
        except BaseException:
            # a portal left open is collected later, perhaps on its own thread, where its
            # exit joins that thread: "cannot join current thread" in some later test
            self._portal_cm.__exit__(None, None, None)
            raise
        self.client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://testserver"
        )

    @property
    def manager(self) -> Any:
        return self.app.state.manager

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            response = await self.client.request(method, url, **kw)
            self.client.cookies.clear()
            return response

        return self.portal.call(go)

    def get(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.request("DELETE", url, **kw)

    def create(self, config: dict[str, Any] | None = None, token: str | None = None,
               **body: Any) -> tuple[str, dict[str, str]]:
        """Create a session; returns (id, bearer headers)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        r = self.post("/api/sessions", json={"config": config or FAST, **body}, headers=headers)
        assert r.status_code == 201, r.text
        data = r.json()
        return data["id"], {"Authorization": f"Bearer {data['owner_token']}"}

    def close(self) -> None:
        self.portal.call(self.client.aclose)
        self.portal.call(self._lifespan.__aexit__, None, None, None)
        self._portal_cm.__exit__(None, None, None)

    def __enter__(self) -> ApiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def wait_status(api: ApiClient, sid: str, headers: dict[str, str], want: str,
                timeout: float = 20.0) -> dict:
    """Poll a session until its status is ``want``; returns the session."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = api.get(f"/api/sessions/{sid}", headers=headers).json()
        if body["status"] == want:
            return body
        time.sleep(0.02)
    raise AssertionError(f"status never became {want}: {body}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Exited(RuntimeError):
    """The server process ended before it answered."""


class Server:
    """``python -m app.serve`` (uvicorn on ``app.main:app``) in a subprocess on 127.0.0.1."""

    def __init__(self, data_dir: Path, log: Path | None = None, **env: Any) -> None:
        self.data_dir = data_dir
        self.log = log  # the server's stderr goes here (appended), if given
        self.env = {f"BPP_{k.upper()}": str(v) for k, v in env.items()}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> Server:
        """Start the server and wait for its healthz. A server that exits at once is started
        again on another port, twice at most: the free port :func:`free_port` found can be
        taken by another process before the server binds it (a Ray cluster's workers take
        ports as they start), and uvicorn then exits with a startup failure."""
        for _ in range(2):
            with contextlib.suppress(Exited):
                return self._start(timeout)
        return self._start(timeout)

    def _start(self, timeout: float) -> Server:
        self.port = free_port()
        env = {**os.environ, "BPP_DATA_DIR": str(self.data_dir), **self.env}
        url = store_url(self.data_dir)
        if url is not None:
            env.setdefault("BPP_DATABASE_URL", url)
        stderr = None if self.log is None else self.log.open("ab")
        self.proc = subprocess.Popen(
            # app/serve.py: uvicorn with the flags `make run` uses
            [sys.executable, "-m", "app.serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT, env=env, stderr=stderr,
        )
        if stderr is not None:
            stderr.close()  # the child has its own copy
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Exited(f"server exited with {self.proc.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.url + "/api/healthz", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        # not left running: no __exit__ follows a failed start, and an orphaned server (three
        # were found after a load average of 30) takes the CPU from the tests after it
        self.kill9()
        raise RuntimeError("server did not start")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    def kill9(self) -> None:
        self.stop(signal.SIGKILL)

    def rss_kb(self) -> int:
        assert self.proc is not None
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")

    def __enter__(self) -> Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---- pages open on a real server ------------------------------------------------------------


class PageStream(threading.Thread):
    """A page's event stream, read (and counted) until closed."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        super().__init__(daemon=True)
        self.url, self.headers = url, headers
        self.bytes = 0
        self.stop = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=None) as c, c.stream("GET", self.url, headers=self.headers) as r:
            for chunk in r.iter_raw():
                self.bytes += len(chunk)
                if self.stop.is_set():
                    return


@contextlib.contextmanager
def pages_open(base: str, ids: list[str], headers: dict[str, str]) -> Iterator[list[PageStream]]:
    """Open the page stream of each session (2 frames a second); closed on leaving."""
    streams = [PageStream(f"{base}/api/sessions/{i}/page-events?fps=2", headers) for i in ids]
    for s in streams:
        s.start()
    try:
        yield streams
    finally:
        for s in streams:
            s.stop.set()
        for s in streams:
            s.join(30)


def wait_for(what: str, check: Callable[[], bool], timeout: float = 120.0) -> None:
    """Poll ``check`` until it holds (AssertionError naming ``what`` after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.1)


def train_with_pages_open(
    srv: Server, http: httpx.Client, ids: list[str], headers: dict[str, str], steps: int
) -> int:
    """Run every session ``steps`` steps (from step 0) while its page is open, at 2 frames a
    second; returns the server's RSS (KB) at the end, the pages still open."""
    with pages_open(srv.url, ids, headers) as streams:
        wait_for("every page got its first frame", lambda: all(s.bytes > 1000 for s in streams))
        for i in ids:
            assert http.post(
                f"/api/sessions/{i}/run", json={"steps": steps}, headers=headers
            ).is_success
        wait_for(
            "every run spent its budget",
            lambda: all(
                http.get(f"/api/sessions/{i}", headers=headers).json()["step"] == steps for i in ids
            ),
        )
        return srv.rss_kb()


def loaded_sessions(http: httpx.Client) -> int:
    """Sessions holding memory in the server's web process (healthz ``loaded``)."""
    return int(http.get("/api/healthz").json().get("loaded", 0))
