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

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from app.core import schema
from app.core.writer import Statement, Write, Writer
from app.core.writes import Writes

log = logging.getLogger(__name__)

WAL_LIMIT = 64 * 2**20  # the WAL file is truncated to this whenever it is reset
WAL_RESET = 16 * 2**20  # a WAL larger than this is checkpointed and emptied


def connect(path: Path, readonly: bool = False) -> sqlite3.Connection:
    target, uri = (f"file:{path}?mode=ro", True) if readonly else (str(path), False)
    conn = sqlite3.connect(
        target, uri=uri, check_same_thread=False, isolation_level=None, timeout=30
    )
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class Store(Writes):
    """The database file, its writer thread and per-thread readers."""

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
        conn = self._open_writer(readonly=False, setup=True)
        self._writer = Writer(conn, commit_interval, on_failed, on_recovered)
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
            schema.create(conn)
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

        def swap(old: sqlite3.Connection) -> sqlite3.Connection:
            old.close()
            return self._open_writer(readonly)

        self._writer.control(swap).done.wait(30)

    def vacuum(self) -> None:
        """Give free pages back to the file system (after deletes), on the writer's connection."""

        def run(conn: sqlite3.Connection) -> sqlite3.Connection:
            # executescript steps the pragma to its end (execute frees one page a step)
            conn.executescript("PRAGMA incremental_vacuum;")
            return conn

        self._writer.control(run).done.wait(60)

    def close(self) -> None:
        """Commit everything queued, then stop the writer and fold the WAL into the file."""
        self._writer.close()
        self._closing.set()
        self._checkpointer.join(timeout=30)
        conn = self._writer.conn
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

    def sessions(self, owner: str | None = None) -> list[sqlite3.Row]:
        sql = "SELECT * FROM sessions"
        args: tuple[Any, ...] = ()
        if owner is not None:
            sql, args = sql + " WHERE owner = ?", (owner,)
        return list(self._reader().execute(sql + " ORDER BY created", args))

    def races(self) -> list[sqlite3.Row]:
        """Every stored race, oldest first (app/sessions/races.py)."""
        return list(self._reader().execute("SELECT * FROM races ORDER BY created"))

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

    def session_row(self, session_id: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = (
            self._reader().execute("SELECT * FROM sessions WHERE id = ?", (session_id,)).fetchone()
        )
        return row

    def last_row(self, session_id: str, generation: int) -> dict[str, Any] | None:
        """The newest step record of one generation, decoded."""
        row = (
            self._reader()
            .execute(
                "SELECT record FROM history WHERE session_id = ? AND generation = ?"
                " ORDER BY seq DESC LIMIT 1",
                (session_id, generation),
            )
            .fetchone()
        )
        return None if row is None else dict(json.loads(row[0]))

    def losses_after(
        self, session_id: str, generation: int, after: int, limit: int
    ) -> list[tuple[int, int, float | None]]:
        """``(seq, step, loss)`` of one generation's rows with ``seq > after``, oldest first
        (what a restored trainer replays and checks itself against)."""
        rows = self._reader().execute(
            "SELECT seq, step, loss FROM history WHERE session_id = ? AND generation = ?"
            " AND seq > ? ORDER BY seq LIMIT ?",
            (session_id, generation, after, limit),
        )
        return [(int(r[0]), int(r[1]), r[2]) for r in rows]

    def keyframe(
        self, session_id: str, generation: int, step: int
    ) -> tuple[int, str, bytes] | None:
        """``(step, kind, data)`` of the newest keyframe of one generation at or before
        ``step``."""
        row = (
            self._reader()
            .execute(
                "SELECT step, kind, data FROM keyframes WHERE session_id = ? AND generation = ?"
                " AND step <= ? ORDER BY step DESC LIMIT 1",
                (session_id, generation, step),
            )
            .fetchone()
        )
        return None if row is None else (int(row[0]), str(row[1]), bytes(row[2]))

    def keyframe_sizes(self, session_id: str) -> list[tuple[int, int, str, int]]:
        """``(generation, step, kind, bytes)`` of every keyframe of the session, oldest first."""
        rows = self._reader().execute(
            "SELECT generation, step, kind, bytes FROM keyframes WHERE session_id = ?"
            " ORDER BY generation, step",
            (session_id,),
        )
        return [(int(r[0]), int(r[1]), str(r[2]), int(r[3])) for r in rows]

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

    def checkpoint_at(self, session_id: str) -> tuple[int, int] | None:
        """``(generation, step)`` of the session's stored checkpoint."""
        row = (
            self._reader()
            .execute(
                "SELECT generation, step FROM checkpoints WHERE session_id = ?", (session_id,)
            )
            .fetchone()
        )
        return None if row is None else (int(row[0]), int(row[1]))
