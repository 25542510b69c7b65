"""SQLite persistence: sessions, their latest checkpoint, every step's history record, and
the keyframes a replay restarts from.

Writes go through one writer thread (app/core/writer.py: batching, commit order, failure episodes);
readers use one connection per thread, and WAL mode lets them read while the writer writes.
The file is bounded: ``max_bytes`` becomes SQLite's ``max_page_count`` on the writing
connection (over it a write fails with SQLITE_FULL, a storage failure like a full disk), pages
freed by deleting or compacting history go back to the file system (``auto_vacuum =
INCREMENTAL`` and :meth:`Store.vacuum`), and the WAL is truncated after checkpoints
(``journal_size_limit``). What history is kept is app/sessions/retention.py's business.
"""

from __future__ import annotations

import importlib
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

from app.core import schema
from app.core.reads import Params, Reads
from app.core.sql_sqlite import SQLITE
from app.core.writer import PROBE_BYTES, Statement, Write, Writer, run_statements
from app.core.writes import Writes

log = logging.getLogger(__name__)

WAL_LIMIT = 64 * 2**20  # the WAL file is truncated to this whenever it is reset
WAL_RESET = 16 * 2**20  # a WAL larger than this is checkpointed and emptied
# errors that are about a statement, not the storage under it
NOT_STORAGE = (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    target, uri = (f"file:{path}?mode=ro", True) if readonly else (str(path), False)
    conn = sqlite3.connect(
        target, uri=uri, check_same_thread=False, isolation_level=None, timeout=30
    )
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteSink:
    """The writer thread's SQLite connection (app/core/writer.py's ``Sink``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def transact(self, batch: list[Write]) -> None:
        conn = self.conn
        conn.execute("BEGIN")
        try:
            run_statements(conn.execute, conn.executemany, batch)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # SQLITE_FULL has already rolled it back
                conn.execute("ROLLBACK")
            raise

    def probe(self) -> None:
        conn = self.conn
        try:
            conn.execute("BEGIN")
            conn.execute("INSERT INTO probe (data) VALUES (zeroblob(?))", (PROBE_BYTES,))
            conn.execute("DELETE FROM probe")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def storage_cause(self, exc: BaseException) -> str | None:
        if isinstance(exc, sqlite3.Error) and not isinstance(exc, NOT_STORAGE):
            name = getattr(exc, "sqlite_errorname", "") or type(exc).__name__
            return f"{exc} ({name})"
        if isinstance(exc, OSError):
            return str(exc)
        return None


class Store(Reads, Writes):
    """The database file, its writer thread and per-thread readers."""

    sql = SQLITE

    def __init__(
        self,
        path: Path,
        commit_interval: float = 0.015,
        max_bytes: int | None = None,
        on_failed: Callable[[Write], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self._sink = SqliteSink(self._open_writer(readonly=False, setup=True))
        self._writer = Writer(self._sink, commit_interval, on_failed, on_recovered)
        self._local = threading.local()
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="bpp-wal-checkpoint", daemon=True
        )
        self._checkpointer.start()

    def _open_writer(self, readonly: bool, setup: bool = False) -> sqlite3.Connection:
        conn = connect(self.path, readonly)
        if readonly:
            return conn
        if setup:
            # must precede the first table: an existing file without it is vacuumed once
            mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
            if mode != 2:
                conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
                if conn.execute("PRAGMA page_count").fetchone()[0] > 1:
                    log.warning("rewriting %s once for incremental vacuum", self.path)
                    conn.execute("VACUUM")
            # WAL: readers never block the writer; synchronous=NORMAL survives a process kill
            # (the OS keeps the WAL pages), which is the failure promise 15 is about.
            conn.execute("PRAGMA journal_mode=WAL")
            if not schema.ensure(conn):
                # a file behind the newest revision: Alembic migrates it. Imported here and
                # only here because SQLAlchemy and Alembic take ~0.5 s to import, which every
                # start at the newest revision (the fast path) skips; the module has no side
                # effects and nothing else imports it.
                importlib.import_module("app.core.migrate").upgrade_sqlite(self.path)
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT}")
        # Checkpointing the WAL into the main file fsyncs, which can take a second on a slow
        # disk; a separate thread does it so commits (and the stream behind them) never wait.
        conn.execute("PRAGMA wal_autocheckpoint=0")
        if self.max_bytes is not None:
            page = conn.execute("PRAGMA page_size").fetchone()[0]
            conn.execute(f"PRAGMA max_page_count={max(16, self.max_bytes // page)}")
        return conn

    # ---- writing ---------------------------------------------------------------------------

    def submit(
        self,
        statements: list[Statement],
        after: Callable[[], None] | None = None,
        urgent: bool = False,
        session_id: str | None = None,
        frees: bool = False,
    ) -> Write:
        return self._writer.submit(Write(statements, after, urgent, session_id, frees))

    @property
    def failing(self) -> str | None:
        """The cause while writes fail (a full or read-only disk), else None."""
        return self._writer.failing

    def reopen(self, readonly: bool = False) -> None:
        """Reopen the writing connection, read-only if asked (what a disk remounted read-only
        gives: every write then fails; tests use it to cause that failure)."""

        def swap() -> None:
            self._sink.conn.close()
            self._sink.conn = self._open_writer(readonly)

        self._writer.control(swap).done.wait(30)

    def vacuum(self) -> None:
        """Give free pages back to the file system (after deletes), on the writer's connection."""

        def run() -> None:
            # executescript steps the pragma to its end (execute frees one page a step)
            self._sink.conn.executescript("PRAGMA incremental_vacuum;")

        self._writer.control(run).done.wait(60)

    def close(self) -> None:
        """Commit everything queued, then stop the writer and fold the WAL into the file."""
        self._writer.close()
        self._closing.set()
        self._checkpointer.join(timeout=30)
        conn = self._sink.conn
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.Error as exc:
            log.warning("final WAL checkpoint failed: %s", exc)
        conn.close()

    def _checkpoint_loop(self, interval: float = 1.0) -> None:
        """Fold the WAL into the file every ``interval``. A PASSIVE checkpoint never waits,
        but under steady writes it never catches up either (frames keep arriving while it
        copies), and the WAL grew without end (350 MB in a minute at full speed); past
        ``WAL_RESET`` bytes a TRUNCATE checkpoint makes writers wait for the rest (the PASSIVE
        ones did most of the copying) and empties it."""
        conn = connect(self.path)
        wal = self.path.with_name(self.path.name + "-wal")
        try:
            while not self._closing.wait(interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    if wal.exists() and wal.stat().st_size > WAL_RESET:
                        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
                except (sqlite3.Error, OSError) as exc:
                    log.debug("WAL checkpoint failed: %s", exc)
        finally:
            conn.close()

    # ---- reading ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def _rows(self, sql: str, params: Params = ()) -> list[sqlite3.Row]:
        return self._reader().execute(sql, params).fetchall()

    def _one(self, sql: str, params: Params = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self._reader().execute(sql, params).fetchone()
        return row

    def used_bytes(self) -> int:
        """Bytes of the file in use (pages minus free pages), what ``max_bytes`` bounds."""
        conn = self._reader()
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        size = conn.execute("PRAGMA page_size").fetchone()[0]
        return int((pages - free) * size)

    def file_bytes(self) -> int:
        """Bytes on disk: the database file and its WAL."""
        wal = self.path.with_name(self.path.name + "-wal")
        return sum(p.stat().st_size for p in (self.path, wal) if p.exists())
