"""SQLite persistence: sessions, their latest checkpoint, and every step's history record.

One writer thread owns the only writing connection and commits in small batches (every
``commit_interval`` or sooner when a caller waits), so training threads never wait on disk and a
kill -9 loses at most the batch being gathered (RELIABILITY.md promise 15). Each write may carry
an ``after`` callback that runs once its batch is committed: the stream hub publishes steps only
then, so a step a client has seen is always on disk. Readers use one connection per thread;
WAL mode lets them read while the writer writes.
"""

from __future__ import annotations

import json
import logging
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL,
    generation INTEGER NOT NULL,
    seq_base INTEGER NOT NULL,
    counters TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_owner ON sessions(owner);
CREATE TABLE IF NOT EXISTS checkpoints (
    session_id TEXT PRIMARY KEY REFERENCES sessions(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    step INTEGER NOT NULL,
    data TEXT NOT NULL,
    saved REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS history (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    generation INTEGER NOT NULL,
    step INTEGER NOT NULL,
    loss REAL,
    has_metrics INTEGER NOT NULL,
    record TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
) WITHOUT ROWID;
-- the rows that carry full-set metrics (the curves), a few a second among thousands of steps:
-- without it, reading a session's curves scans every step row it ever wrote
CREATE INDEX IF NOT EXISTS history_metrics ON history(session_id, generation, seq)
    WHERE has_metrics = 1;
"""

Statement = tuple[str, Sequence[Any] | Iterable[Sequence[Any]], bool]  # (sql, params, many)


@dataclass
class Write:
    """One unit of work for the writer: statements, then ``after`` once committed."""

    statements: list[Statement]
    after: Callable[[], None] | None = None
    urgent: bool = False
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float = 10.0) -> bool:
        return self.done.wait(timeout)


def connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store:
    """The database file plus its writer thread."""

    def __init__(self, path: Path, commit_interval: float = 0.015) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.commit_interval = commit_interval
        self._conn = connect(path)
        # WAL: readers never block the writer; synchronous=NORMAL survives a process kill
        # (the OS keeps the WAL pages), which is the failure promise 15 is about.
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        # Checkpointing the WAL into the main file fsyncs, which can take a second on a slow
        # disk; a separate thread does it so commits (and the stream behind them) never wait.
        self._conn.execute("PRAGMA wal_autocheckpoint=0")
        self._conn.executescript(SCHEMA)
        self._queue: queue.Queue[Write | None] = queue.Queue()
        self._local = threading.local()
        self._thread = threading.Thread(target=self._run, name="bpp-writer", daemon=True)
        self._thread.start()
        self._closing = threading.Event()
        self._checkpointer = threading.Thread(
            target=self._checkpoint_loop, name="bpp-wal-checkpoint", daemon=True
        )
        self._checkpointer.start()

    # ---- writing ---------------------------------------------------------------------------

    def submit(
        self,
        statements: list[Statement],
        after: Callable[[], None] | None = None,
        urgent: bool = False,
    ) -> Write:
        write = Write(statements, after, urgent)
        self._queue.put(write)
        return write

    def close(self) -> None:
        """Commit everything queued, then stop the writer and fold the WAL into the file."""
        self._queue.put(None)
        self._thread.join(timeout=30)
        self._closing.set()
        self._checkpointer.join(timeout=30)
        self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._conn.close()

    def _checkpoint_loop(self, interval: float = 1.0) -> None:
        conn = connect(self.path)
        try:
            while not self._closing.wait(interval):
                try:
                    # PASSIVE: copies what it can without blocking the writer or readers
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    log.exception("WAL checkpoint failed")
        finally:
            conn.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            deadline = time.monotonic() + (0 if first.urgent else self.commit_interval)
            while True:
                try:
                    item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                batch.append(item)
                if item.urgent:
                    deadline = 0.0
            self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[Write]) -> None:
        # Any error, not only sqlite3's: a value SQLite cannot bind (an int over 64 bits raises
        # OverflowError) once ended this thread, and every later write waited for ever.
        try:
            self._execute(batch)
        except Exception:
            # One bad write must not lose the others: retry each on its own.
            log.exception("batch commit failed; retrying writes one by one")
            for write in batch:
                try:
                    self._execute([write])
                except Exception:
                    log.exception("write failed: %s", write.statements[:1])
        for write in batch:
            if write.after is not None:
                try:
                    write.after()
                except Exception:  # a publisher bug must not stop the writer
                    log.exception("after-commit callback failed")
            write.done.set()

    def _execute(self, batch: list[Write]) -> None:
        conn = self._conn
        conn.execute("BEGIN")
        try:
            for write in batch:
                for sql, params, many in write.statements:
                    if many:
                        conn.executemany(sql, cast(Iterable[Sequence[Any]], params))
                    else:
                        conn.execute(sql, cast(Sequence[Any], params))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    # ---- reading ---------------------------------------------------------------------------

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path)
            conn.row_factory = sqlite3.Row
            self._local.conn = conn
        return conn

    def sessions(self, owner: str | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM sessions"
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql, args = sql + " WHERE owner = ?", (owner,)
        return list(self._reader().execute(sql + " ORDER BY created", args))

    def checkpoint(self, session_id: str) -> dict[str, Any] | None:
        row = (
            self._reader()
            .execute("SELECT data FROM checkpoints WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return None if row is None else dict(json.loads(row["data"]))

    def max_seq(self, session_id: str) -> int:
        row = (
            self._reader()
            .execute("SELECT MAX(seq) AS m FROM history WHERE session_id = ?", (session_id,))
            .fetchone()
        )
        return int(row["m"] or 0)

    def records_after(self, session_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        """Step records with ``seq > after``, oldest first, as stored JSON text."""
        rows = self._reader().execute(
            "SELECT seq, record FROM history WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, after, limit),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def metrics_between(
        self, session_id: str, generation: int, after: int, upto: int
    ) -> list[tuple[int, str]]:
        """Records with full-set metrics of one generation, ``after < seq <= upto``, oldest
        first, as stored JSON text."""
        rows = self._reader().execute(
            "SELECT seq, record FROM history INDEXED BY history_metrics WHERE session_id = ? "
            "AND generation = ? AND has_metrics = 1 AND seq > ? AND seq <= ? ORDER BY seq",
            (session_id, generation, after, upto),
        )
        return [(int(r[0]), str(r[1])) for r in rows]

    def history(
        self,
        session_id: str,
        generation: int,
        after: int,
        limit: int,
        stride: int,
        metrics_only: bool,
    ) -> list[str]:
        """Records of one generation, every ``stride``-th step, as JSON text."""
        # named, because without statistics the planner walks the primary key instead
        source = "history INDEXED BY history_metrics" if metrics_only else "history"
        sql = (
            f"SELECT record FROM {source} WHERE session_id = ? AND generation = ? AND step > ? "
            "AND (step % ? = 0 OR has_metrics = 1)"
        )
        if metrics_only:
            sql += " AND has_metrics = 1"
        rows = self._reader().execute(
            sql + " ORDER BY seq LIMIT ?", (session_id, generation, after, stride, limit)
        )
        return [str(r[0]) for r in rows]

    def sampled(
        self,
        session_id: str,
        generation: int,
        seq_base: int,
        span: tuple[int, int],
        stride: int,
        limit: int,
    ) -> list[str]:
        """Every ``stride``-th step of one generation in ``span`` = (after, upto], and every
        row with metrics there, oldest first, as JSON text. The wanted steps are looked up by
        primary key (a generation's rows have ``seq = seq_base + step``) instead of testing
        ``step % stride`` on every row the session wrote (300 ms over a million rows)."""
        after, upto = span
        first = (after // stride + 1) * stride
        rows = self._reader().execute(
            "WITH RECURSIVE want(step) AS (SELECT ? UNION ALL SELECT step + ? FROM want"
            " WHERE step + ? <= ?)"
            " SELECT seq, record FROM history WHERE session_id = ? AND generation = ?"
            " AND seq IN (SELECT ? + step FROM want)"
            " UNION SELECT seq, record FROM history INDEXED BY history_metrics"
            " WHERE session_id = ? AND generation = ? AND has_metrics = 1 AND seq > ?"
            " AND seq <= ? ORDER BY seq LIMIT ?",
            (
                first,
                stride,
                stride,
                upto,
                session_id,
                generation,
                seq_base,
                session_id,
                generation,
                seq_base + after,
                seq_base + upto,
                limit,
            ),
        )
        return [str(r[1]) for r in rows]
