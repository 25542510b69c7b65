"""The SQLite schema: the tables and indexes (app/core/store.py reads them, app/core/writes.py
names every statement that writes them), and the columns added since the first version.

A table added later needs no migration (``CREATE TABLE IF NOT EXISTS`` makes it in an older
file); a column added to an existing table is listed in ``ADDED_COLUMNS`` and added on open.
"""

from __future__ import annotations

import sqlite3

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


def create(conn: sqlite3.Connection) -> None:
    """Make the tables an older or new file lacks, and add the columns added since."""
    conn.executescript(SCHEMA)
    for table, column, definition in ADDED_COLUMNS:
        have = {row[1] for row in conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")
