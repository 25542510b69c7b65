"""The SQLite schema of the initial revision, and the fast path that keeps Alembic off a start.

Alembic owns the schema of both dialects (app/core/migrations/: the initial revision creates
these tables, columns and indexes in SQLite and PostgreSQL; later changes are revisions). On
SQLite, importing SQLAlchemy and Alembic would add ~0.5 s to every start, so :func:`ensure`
reads the stamped revision itself: a file at the newest revision starts without them. A file
made before Alembic (no ``alembic_version`` table, made by this module's ``SCHEMA`` and
``ADDED_COLUMNS``) gets exactly the initial revision's schema here and is stamped with it; a
file behind the newest revision is then upgraded by Alembic (app/core/migrate.py). A new file
gets the initial schema and then the revisions since (``SINCE_INITIAL``, in SQLite's words) and
is stamped with the newest, so a first start does not import Alembic either
(tests/unit/app/core/test_migrations.py checks both against Alembic's own schemas).
"""

from __future__ import annotations

import sqlite3

from app.core.migrations import HEAD, INITIAL

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
    updated REAL NOT NULL,
    reason TEXT,
    full_from INTEGER NOT NULL DEFAULT 0
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
-- checkpoints kept for replay (app/sessions/keyframes.py): every replay_every steps ("step")
-- and at every change other than stepping ("event": a live PATCH, a weight edit, a revival)
CREATE TABLE IF NOT EXISTS keyframes (
    session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    generation INTEGER NOT NULL,
    step INTEGER NOT NULL,
    kind TEXT NOT NULL,
    bytes INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (session_id, generation, step)
);
-- races (app/sessions/races.py): runs of one config; ``runs`` is JSON text
-- [{"name", "changes", "session"}, ...] and the sessions are ordinary rows above
CREATE TABLE IF NOT EXISTS races (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    name TEXT NOT NULL,
    config TEXT NOT NULL,
    runs TEXT NOT NULL,
    created REAL NOT NULL
);
-- the writer's probe for free room during a storage failure (always empty)
CREATE TABLE IF NOT EXISTS probe (data BLOB);
"""
# columns added since the first schema: (table, column, definition)
ADDED_COLUMNS = (
    ("sessions", "reason", "TEXT"),
    ("sessions", "full_from", "INTEGER NOT NULL DEFAULT 0"),
)

# the revisions after the initial one, as a new file gets them here (without Alembic)
SINCE_INITIAL = ("ALTER TABLE sessions ADD COLUMN fence INTEGER DEFAULT 0 NOT NULL",)  # 0002


def create(conn: sqlite3.Connection) -> None:
    """Make the tables an older or new file lacks, and add the columns added since."""
    conn.executescript(SCHEMA)
    for table, column, definition in ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")


# what Alembic's own version table is (alembic.runtime.migration makes the same)
VERSION_TABLE = (
    "CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL,"
    " CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num))"
)


def stamped(conn: sqlite3.Connection) -> str | None:
    """The file's Alembic revision, or None when it has none (new, or made before Alembic)."""
    have = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if have is None:
        return None
    row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def ensure(conn: sqlite3.Connection) -> bool:
    """Give a new file the newest schema, a pre-Alembic one the initial revision's, and stamp
    it; True when the file is then at the newest revision (nothing for Alembic to do)."""
    version = stamped(conn)
    if version is None:
        new = conn.execute("SELECT 1 FROM sqlite_master WHERE name = 'sessions'").fetchone() is None
        create(conn)
        version = HEAD if new else INITIAL
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute(
                "SELECT 1 FROM sqlite_master WHERE name = 'alembic_version'"
            ).fetchone() is None:
                conn.execute(VERSION_TABLE)
            for statement in SINCE_INITIAL if new else ():
                conn.execute(statement)
            conn.execute("DELETE FROM alembic_version")
            conn.execute("INSERT INTO alembic_version (version_num) VALUES (?)", (version,))
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return version == HEAD
