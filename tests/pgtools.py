"""A throwaway PostgreSQL cluster for the tests: initdb'd in a temp dir as the ``postgres`` user
(PostgreSQL refuses to run as root), listening on 127.0.0.1 and a free port only, its unix
socket in the temp dir too, stopped and removed at the end.

``shared()`` is the one cluster of a test process, started on first use (the session fixture in
tests/system/postgres/conftest.py, and apptools when ``BPP_TEST_STORE=postgres`` runs the server
suites against PostgreSQL); ``database(name)`` makes an empty database and returns its URL.
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

BIN = Path("/usr/lib/postgresql/15/bin")
USER = "postgres"
# the tests' cluster trades durability against an OS crash for speed (fsync off); a stopped
# or killed server still loses nothing it acknowledged, which is what the tests check
OPTIONS = "-c fsync=off -c full_page_writes=off -c max_connections=200"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    """Run a PostgreSQL program as ``postgres`` when we are root (it refuses root), else as
    ourselves."""
    prefix = ["runuser", "-u", USER, "--"] if os.geteuid() == 0 else []
    return subprocess.run([*prefix, *args], check=check, capture_output=True, timeout=120)


class PgCluster:
    """One PostgreSQL server in its own temp dir."""

    def __init__(self, options: str = OPTIONS, root: Path | None = None) -> None:
        """A new cluster in a temporary folder (in ``root`` if given: a tmpfs, say)."""
        self.options = options
        self.dir = Path(tempfile.mkdtemp(prefix="bpp-pg-", dir=root))
        if os.geteuid() == 0:
            shutil.chown(self.dir, USER, USER)
        self.data = self.dir / "data"
        self.port = free_port()
        _as_postgres(str(BIN / "initdb"), "-D", str(self.data), "-U", USER, "-A", "trust",
                     "-E", "UTF8", "--locale=C", "--no-sync")  # fmt: skip
        self.start()

    def start(self) -> None:
        opts = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.dir} {self.options}"
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-o", opts,
                     "-l", str(self.dir / "log"), "-w", "-t", "60", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        _as_postgres(str(BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop",
                     check=False)  # fmt: skip

    def url(self, db: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{db}"

    def database(self, name: str) -> str:
        """A new, empty database ``name`` (dropped first if it exists); its URL."""
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def database_of(self, data_dir: Path) -> str:
        """The URL of ``data_dir``'s own database, made empty on first use (a server started
        again on the same data dir finds what the first one stored)."""
        name = "d" + hashlib.sha1(str(data_dir.resolve()).encode()).hexdigest()[:20]
        with psycopg.connect(self.url(), autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                return self.url(name)
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def remove(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


_shared: PgCluster | None = None
_owner = 0


def shared() -> PgCluster:
    """The test process's cluster, started on first use and removed when the process ends."""
    global _shared, _owner
    if _shared is None or _owner != os.getpid():
        _shared, _owner = PgCluster(), os.getpid()
        atexit.register(_shared.remove)
    return _shared


def wait_ready(cluster: PgCluster, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(psycopg.OperationalError):
            psycopg.connect(cluster.url(), connect_timeout=2).close()
            return
        time.sleep(0.1)
    raise RuntimeError("PostgreSQL did not come up")


def rows(database: str, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as pg:
        return pg.execute(sql, params).fetchall()


def stop_between_transactions(pid: int, database: str, app: str) -> None:
    """SIGSTOP process ``pid`` (a server connected as ``application_name`` ``app``) where it is
    not inside a write transaction: one left open would hold its sessions' rows, and another
    replica's claim of them would wait for it to wake (a transaction that wrote or locked a
    row has an xid; a stream's reads, which may sit idle in a transaction, hold no row)."""
    for _ in range(50):
        os.kill(pid, signal.SIGSTOP)
        busy = rows(database, "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                    " AND backend_xid IS NOT NULL", app)[0][0]  # fmt: skip
        if busy == 0:
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError(f"{app} was always inside a transaction")
