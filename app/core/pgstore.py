"""PostgreSQL persistence (``BPP_DATABASE_URL=postgresql://…``): the same store as SQLite's
(app/core/store.py), shared by every web replica.

The writer thread, the statements' parameters and the reads' decoding are the SQLite store's
(app/core/writer.py, app/core/writes.py, app/core/reads.py); the SQL is app/core/sql_postgres.py.
Connections come from psycopg 3 ``ConnectionPool``s, autocommit: the readers share one, the
writer thread has its own (one connection, checked before each batch, so a restarted server
costs no failed write) and opens one transaction per batch.
The schema is migrated by Alembic when the store opens (app/core/migrate.py).

Failures: PostgreSQL unreachable, shutting down or read-only is a *storage* failure for the
writer (a failing episode: runs pause, changes answer 507, healthz 503, exactly as a full disk
on SQLite); a read that cannot reach it answers 503 naming ``storage``.

Size bound: PostgreSQL has no ``max_page_count``, so the sink refuses writes (a storage failure,
"database full") while the tables' size passes ``max_bytes``. The size is the tables' total
relation size (heap, TOAST, indexes) less the free space VACUUM has recorded for reuse
(``pg_freespacemap``, when the extension can be created; else the total), measured at most every
``SIZE_SECONDS`` and in between raised by the bytes each batch writes (:func:`written`; TOAST
compression makes that an overestimate, so the cap errs on the early side).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
import psycopg.errors
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool, PoolTimeout

from app.core.errors import ApiError
from app.core.migrate import upgrade_postgres
from app.core.reads import Params, Reads
from app.core.sql_postgres import POSTGRES
from app.core.writer import PROBE_BYTES, Statement, Write, Writer, run_statements
from app.core.writes import Writes

log = logging.getLogger(__name__)
# the pool logs every failed reconnection; an outage is logged once at each end by the writer
# (app/core/writer.py's failing episode), as a full disk is
logging.getLogger("psycopg.pool").setLevel(logging.ERROR)

TABLES = ("sessions", "checkpoints", "history", "keyframes", "races", "probe")
SIZE_SECONDS = 1.0  # the size the cap is checked against is at most this old
# seconds the writer waits for its connection before calling it a failure (it has a pool of
# its own, so it only ever waits for a reconnection)
WRITE_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
# a reconnection is given up after this (and the next request starts a new one): the pool's
# backoff would otherwise wait up to minutes between tries after a long outage
RECONNECT_SECONDS = 2.0
# PostgreSQL ends the writer's connection when a transaction of it sits idle (no statement
# running) this long: a process stalled between a batch's statements (a long GC or VM pause,
# SIGSTOP) would otherwise hold the row locks its guard took (app/sessions/fencing.py) until it
# woke, and a replica adopting the session would wait for it in its claim (and with it every
# write of that replica, and the upkeep that renews its leases). The store is given the lease's
# time (app/core/history.py), so by the time a lease has lapsed and another replica adopts, the
# stalled transaction is gone; its batch was never acknowledged, and the stalled process, when
# it wakes, finds the connection closed and tries each write again alone, on a new connection:
# fenced if the session was claimed meanwhile, else committed. The writer's own transactions
# sit idle only between the statements of one batch (microseconds).
IDLE_TRANSACTION_SECONDS = 3.0
TOTAL_SIZE = (
    "SELECT coalesce(sum(pg_total_relation_size(to_regclass(t))), 0) AS n"
    " FROM unnest(%s::text[]) AS t"
)
# free space VACUUM recorded in the tables and their TOAST tables (where checkpoints and
# keyframes live)
FREE_SPACE = (
    "SELECT coalesce(sum(f.avail), 0) AS n FROM pg_class c,"
    " LATERAL pg_freespace(c.oid) f WHERE c.oid IN (SELECT to_regclass(t) FROM unnest(%s::text[])"
    " AS t UNION SELECT reltoastrelid FROM pg_class WHERE oid IN"
    " (SELECT to_regclass(t) FROM unnest(%s::text[]) AS t) AND reltoastrelid <> 0)"
)
Connection = psycopg.Connection[dict[str, Any]]
# errors that mean the database cannot take writes now, not that the statement is wrong
STORAGE = (psycopg.OperationalError, psycopg.InterfaceError, psycopg.errors.ReadOnlySqlTransaction)


def written(batch: list[Write]) -> int:
    """About how many bytes ``batch`` adds: its text and bytes parameters, 8 a number (the
    items of an array parameter, as the step rows are sent, each counted)."""

    def size(value: Any) -> int:
        if isinstance(value, str | bytes):
            return len(value)
        if isinstance(value, list):
            return sum(size(v) for v in value)
        return 8

    total = 0
    for write in batch:
        for _, params, many in write.statements:
            for row in params if many is True else [params]:
                total += sum(size(value) for value in row)
    return total


def unreadable(exc: Exception) -> ApiError:
    """The 503 a read answers when PostgreSQL cannot be reached."""
    return ApiError(503, f"storage: the database cannot be read ({exc})", field="storage")


class DatabaseFull(OSError):
    """The tables passed the size cap (``max_db_mb``)."""


class PgSink:
    """The writer thread's PostgreSQL transactions (app/core/writer.py's ``Sink``)."""

    def __init__(self, store: PgStore) -> None:
        self.store = store
        self.freed = False  # a delete committed since the last VACUUM (space to find)
        self._measured = 0.0
        self._used = 0

    def transact(self, batch: list[Write]) -> None:
        frees = all(w.frees for w in batch)
        with self.store.writing.connection(timeout=WRITE_TIMEOUT) as conn:
            if not frees:
                self._check_room(conn, 0, fresh=False)
            # one round trip a statement, not pipelined: between the statements of a pipeline
            # PostgreSQL counts the transaction as running, not idle, so a process stalled
            # while sending one would hold its guard's row lock past IDLE_TRANSACTION_SECONDS
            with conn.transaction(), conn.cursor() as cur:
                run_statements(cur.execute, cur.executemany, batch)
        self.freed = self.freed or frees
        if not frees and self.store.max_bytes is not None:
            self._used += written(batch)  # until the next measurement

    def probe(self) -> None:
        if self.store.max_bytes is not None and self.freed:
            self.freed = False
            self.store.vacuum()  # deletes give room back only once VACUUM records it
        with self.store.writing.connection(timeout=WRITE_TIMEOUT) as conn:
            self._check_room(conn, PROBE_BYTES, fresh=True)
            with conn.transaction():
                conn.execute("INSERT INTO probe (data) VALUES (%s)", (b"probe",))
                conn.execute("DELETE FROM probe")

    def storage_cause(self, exc: BaseException) -> str | None:
        if isinstance(exc, DatabaseFull):
            return str(exc)
        if isinstance(exc, STORAGE):
            text = str(exc).strip().splitlines()[0] if str(exc).strip() else repr(exc)
            return f"{text} ({type(exc).__name__})"
        if isinstance(exc, OSError):
            return str(exc)
        return None

    def _check_room(self, conn: Connection, room: int, fresh: bool) -> None:
        cap = self.store.max_bytes
        if cap is None:
            return
        if fresh or time.monotonic() - self._measured > SIZE_SECONDS:
            self._used = self.store.size(conn)
            self._measured = time.monotonic()
        if self._used + room > cap:
            raise DatabaseFull(
                f"database full: {self._used / 2**20:.1f} MB of the {cap / 2**20:.1f} MB cap"
                " (max_db_mb)"
            )


class PgStore(Reads, Writes):
    """A PostgreSQL database: its connection pool, writer thread and readers."""

    sql = POSTGRES

    def __init__(
        self,
        url: str,
        commit_interval: float = 0.015,
        max_bytes: int | None = None,
        on_failed: Callable[[Write], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
        pool_size: int = 8,
        idle_transaction_seconds: float = IDLE_TRANSACTION_SECONDS,
    ) -> None:
        self.url = url
        self.max_bytes = max_bytes
        self._idle_ms = max(1, round(idle_transaction_seconds * 1000))
        upgrade_postgres(url)
        # readers share one pool; the writer thread has its own, so a burst of reads never
        # makes a commit wait (nor a wait look like PostgreSQL failing)
        self.pool = self._pool(max(2, pool_size - 1), "bpp-store-read", check=False)
        self.writing = self._pool(1, "bpp-store-write", check=True, configure=self._bounded)
        self._free_space = self._has_freespacemap()
        self._vacuuming = threading.Lock()
        self._sink = PgSink(self)
        self._writer = Writer(self._sink, commit_interval, on_failed, on_recovered)

    def _pool(
        self,
        size: int,
        name: str,
        check: bool,
        configure: Callable[[Connection], None] | None = None,
    ) -> ConnectionPool[Connection]:
        """Autocommit connections with rows as dicts; with ``check``, each is checked before
        use (the writer's: a restarted PostgreSQL then costs no failed write, which would
        start a failing episode); ``configure`` runs on each new connection."""
        pool: ConnectionPool[Connection] = ConnectionPool(
            self.url,
            connection_class=Connection,
            kwargs={"autocommit": True, "row_factory": dict_row},
            min_size=1,
            max_size=size,
            check=ConnectionPool.check_connection if check else None,
            configure=configure,
            reconnect_timeout=RECONNECT_SECONDS,
            open=True,
            name=name,
        )
        pool.wait(timeout=30)
        return pool

    def _bounded(self, conn: Connection) -> None:
        """The writer's transactions may not sit idle longer than ``idle_transaction_seconds``
        (see IDLE_TRANSACTION_SECONDS). SET takes no bound parameters: an int, formatted."""
        conn.execute(f"SET idle_in_transaction_session_timeout = {int(self._idle_ms)}")

    def _has_freespacemap(self) -> bool:
        """Make pg_freespacemap available if this role may (it measures reusable space)."""
        with self.pool.connection() as conn:
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_freespacemap")
            except psycopg.Error as exc:
                log.info("no pg_freespacemap (%s): the size cap counts free space as used", exc)
                return False
        return True

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
        """The cause while writes fail (PostgreSQL down, read-only or full), else None."""
        return self._writer.failing

    def vacuum(self) -> None:
        """Record the space deletes freed for reuse (plain VACUUM: no table lock that would
        stop readers or the writer)."""
        with self._vacuuming:
            try:
                with self.pool.connection(timeout=READ_TIMEOUT) as conn:
                    conn.execute("VACUUM " + ", ".join(TABLES))
            except psycopg.Error as exc:
                log.warning("VACUUM failed: %s", exc)

    def close(self) -> None:
        """Commit everything queued, then stop the writer and close the pool."""
        self._writer.close()
        self.writing.close()
        self.pool.close()

    # ---- reading ---------------------------------------------------------------------------

    def _rows(self, sql: str, params: Params = ()) -> list[dict[str, Any]]:
        # readers' connections are not checked before use (a round trip that doubled a short
        # read's time): one that PostgreSQL closed since fails here, the pool drops it, and the
        # read is tried once more on another (a new one if none is left)
        for retry in (True, False):
            try:
                with self.pool.connection(timeout=READ_TIMEOUT) as conn:
                    return conn.execute(sql, params).fetchall()
            except PoolTimeout as exc:
                raise unreadable(exc) from exc
            except STORAGE as exc:
                if not retry:
                    raise unreadable(exc) from exc
        raise AssertionError("unreachable")

    def _one(self, sql: str, params: Params = ()) -> dict[str, Any] | None:
        rows = self._rows(sql, params)
        return rows[0] if rows else None

    def used_bytes(self) -> int:
        """Bytes of the tables in use: their size less the free space VACUUM recorded (a
        VACUUM runs first if rows were deleted since the last: retention compacts session by
        session until this drops under its mark, as SQLite's freed pages make it drop)."""
        if self._sink.freed:
            self._sink.freed = False
            self.vacuum()
        try:
            with self.pool.connection(timeout=READ_TIMEOUT) as conn:
                return self.size(conn)
        except STORAGE as exc:
            raise unreadable(exc) from exc

    def size(self, conn: Connection) -> int:
        """:meth:`used_bytes` on ``conn``."""
        tables = list(TABLES)
        total = int(conn.execute(TOTAL_SIZE, (tables,)).fetchone()["n"])  # type: ignore[index]
        if not self._free_space:
            return total
        free = conn.execute(FREE_SPACE, (tables, tables)).fetchone()
        return total - int(free["n"])  # type: ignore[index]

    def file_bytes(self) -> int:
        """Bytes on disk of the tables (heap, TOAST and indexes)."""
        return int(self._one(TOTAL_SIZE, (list(TABLES),))["n"])  # type: ignore[index]
