"""The store seam: where sessions, their step history, checkpoints and keyframes are kept.

Everything the service keeps goes through this protocol: writes are statements named by what
they write (``put_steps``, ``put_checkpoint``, ``cut_history`` …) handed to :meth:`submit`,
which runs them in order in one transaction per batch and calls ``after`` once they are
committed; reads are named queries. Two implementations share the writer thread, the
statements' parameters and the reads (app/core/writer.py, writes.py, reads.py) and differ in
their SQL (app/core/sql_sqlite.py, sql_postgres.py): one SQLite file (app/core/store.py, the
default) and PostgreSQL (app/core/pgstore.py, ``BPP_DATABASE_URL``). :func:`open_store` picks
one from the settings; nothing in the sessions, routes or page knows which.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Protocol

from app.core.settings import Settings
from app.core.store import Store
from app.core.writer import Statement, Write


class HistoryStore(Protocol):
    """Sessions, their history and checkpoints (see the module docstring)."""

    max_bytes: int | None  # the size the store may grow to (retention acts on it)

    # ---- writing --------------------------------------------------------------------------

    def submit(
        self,
        statements: list[Statement],
        after: Callable[[], None] | None = None,
        urgent: bool = False,
        session_id: str | None = None,
        frees: bool = False,
    ) -> Write:
        """Queue ``statements`` (one transaction); ``after`` runs once they are committed."""
        ...

    @property
    def failing(self) -> str | None:
        """Why writes fail now (a full or read-only disk), or None."""
        ...

    def put_steps(self, session_id: str, generation: int, rows: list[Any]) -> Statement: ...

    def put_session(self, s: Any) -> Statement: ...

    def put_status(self, s: Any) -> Statement: ...

    def put_checkpoint(self, session_id: str, generation: int, step: int, data: str) -> Statement:
        ...

    def put_keyframes(
        self, session_id: str, generation: int, rows: list[tuple[int, str, bytes]]
    ) -> Statement: ...

    def thin_keyframes(
        self, session_id: str, generation: int, before: int, every: int
    ) -> Statement: ...

    def drop_keyframes(self, session_id: str, before_generation: int) -> Statement: ...

    def copy_upto(
        self, source: str, target: str, generation: int, step: int
    ) -> list[Statement]: ...

    def mark_restarted(self, session_id: str) -> Statement: ...

    def cut_history(self, session_id: str, keep: int) -> Statement: ...

    def compact_history(self, session_id: str, upto: int, stride: int) -> list[Statement]: ...

    def delete_session(self, session_id: str) -> list[Statement]: ...

    def guarded(self, s: Any, statements: list[Statement]) -> list[Statement]: ...

    def claim(self, session_id: str, fence: int) -> Statement: ...

    def put_race(
        self, race_id: str, owner: str, name: str, config: str, runs: str, created: float
    ) -> Statement: ...

    def delete_race(self, race_id: str) -> Statement: ...

    def races(self, owner: str | None = None) -> list[Any]: ...

    def race_row(self, race_id: str) -> Any: ...

    def race_with(self, session_id: str) -> Any: ...

    # ---- reading --------------------------------------------------------------------------

    def sessions(self, owner: str | None = None) -> list[Any]: ...

    def session_row(self, session_id: str) -> Any: ...

    def session_count(self, owner: str | None = None) -> int: ...

    def running_ids(self) -> list[str]: ...

    def checkpoint(self, session_id: str) -> dict[str, Any] | None: ...

    def checkpoint_at(self, session_id: str) -> tuple[int, int] | None: ...

    def max_seq(self, session_id: str) -> int: ...

    def last_row(self, session_id: str, generation: int) -> dict[str, Any] | None: ...

    def records_after(self, session_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        ...

    def metrics_between(
        self, session_id: str, generation: int, after: int, upto: int
    ) -> list[tuple[int, str]]: ...

    def history(
        self,
        session_id: str,
        generation: int,
        after: int,
        limit: int,
        stride: int,
        metrics_only: bool,
    ) -> list[str]: ...

    def sampled(
        self,
        session_id: str,
        generation: int,
        seq_base: int,
        span: tuple[int, int],
        stride: int,
        limit: int,
    ) -> list[str]: ...

    def keyframe(
        self, session_id: str, generation: int, step: int
    ) -> tuple[int, str, bytes] | None: ...

    def keyframe_sizes(self, session_id: str) -> list[tuple[int, int, str, int]]: ...

    def losses_after(
        self, session_id: str, generation: int, after: int, limit: int
    ) -> list[tuple[int, int, float | None]]: ...

    # ---- upkeep ---------------------------------------------------------------------------

    def used_bytes(self) -> int: ...

    def file_bytes(self) -> int: ...

    def vacuum(self) -> None: ...

    def close(self) -> None: ...


def open_store(
    settings: Settings,
    on_failed: Callable[[Write], None] | None = None,
    on_recovered: Callable[[], None] | None = None,
) -> HistoryStore:
    """The store the settings name: PostgreSQL at ``database_url``, else the SQLite file."""
    interval = settings.commit_interval_ms / 1000
    max_bytes = int(settings.max_db_mb * 2**20)
    if settings.database_url is None:
        return Store(settings.db_path, interval, max_bytes, on_failed, on_recovered)
    # imported only when chosen: psycopg, SQLAlchemy and Alembic add ~0.6 s to a start, which
    # the default (SQLite) configuration does not pay; the module has no import side effects
    pgstore = importlib.import_module("app.core.pgstore")
    store: HistoryStore = pgstore.PgStore(
        settings.database_url, interval, max_bytes, on_failed, on_recovered,
        pool_size=settings.database_pool, idle_transaction_seconds=settings.lease_seconds,
    )  # fmt: skip
    return store
