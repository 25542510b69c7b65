"""Alembic owns the schema (app/core/migrations/): its initial revision makes on SQLite exactly
what app/core/schema.py made before Alembic (and still makes on the fast path), a file made
before Alembic is stamped and keeps its rows, and a start at the newest revision never imports
Alembic or SQLAlchemy (~0.5 s)."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from app.core import migrate, schema
from app.core.migrations import HEAD, INITIAL
from app.core.store import Store

ROOT = Path(__file__).resolve().parents[4]


def shape(path: Path) -> dict[str, Any]:
    """Every table's columns, keys, foreign keys and indexes, and every index's definition."""
    conn = sqlite3.connect(path)
    out: dict[str, Any] = {}
    for name, kind, sql in conn.execute("SELECT name, type, sql FROM sqlite_master"):
        if kind == "table":
            out[name] = {
                "columns": conn.execute(f"PRAGMA table_info({name})").fetchall(),
                "foreign": conn.execute(f"PRAGMA foreign_key_list({name})").fetchall(),
                "indexes": sorted(conn.execute(f"PRAGMA index_list({name})").fetchall()),
                "without_rowid": "WITHOUT ROWID" in sql.upper(),
            }
        else:
            where = sql.split("WHERE", 1)[1] if sql and "WHERE" in sql else ""
            out[name] = {
                "columns": conn.execute(f"PRAGMA index_xinfo({name})").fetchall(),
                "where": re.sub(r"\s+", "", where),  # the partial index's condition
            }
    conn.close()
    return out


def test_the_initial_revision_is_the_schema_sqlite_had(tmp_path: Path) -> None:
    migrate.upgrade_sqlite(tmp_path / "alembic.sqlite3", INITIAL)
    # a file made before Alembic: the initial revision's schema, stamped with it
    conn = sqlite3.connect(tmp_path / "fast.sqlite3", isolation_level=None)
    schema.create(conn)
    assert schema.ensure(conn) == (INITIAL == HEAD)
    conn.close()
    made, fast = shape(tmp_path / "alembic.sqlite3"), shape(tmp_path / "fast.sqlite3")
    assert made == fast
    assert {"sessions", "checkpoints", "history", "keyframes", "races", "probe"} <= set(made)
    assert made["history"]["without_rowid"] and made["history_metrics"]["where"] == "has_metrics=1"
    assert migrate.head() == HEAD  # the fast path's idea of the newest revision is Alembic's


def test_a_new_file_gets_the_newest_revision_without_alembic(tmp_path: Path) -> None:
    migrate.upgrade_sqlite(tmp_path / "alembic.sqlite3")
    conn = sqlite3.connect(tmp_path / "fast.sqlite3", isolation_level=None)
    assert schema.ensure(conn)
    assert schema.stamped(conn) == HEAD
    conn.close()
    assert shape(tmp_path / "alembic.sqlite3") == shape(tmp_path / "fast.sqlite3")


def test_the_fence_column_is_added_with_0_to_the_rows_there_are(tmp_path: Path) -> None:
    """Revision 0002: ``sessions.fence`` (app/sessions/fencing.py), 0 for every session."""
    path = tmp_path / "playground.sqlite3"
    migrate.upgrade_sqlite(path, INITIAL)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("INSERT INTO sessions VALUES ('a','o','n','{}','paused',0,0,'{}',1.0,1.0,NULL,0)")
    conn.close()
    store = Store(path)
    try:
        assert store.session_row("a")["fence"] == 0
    finally:
        store.close()


def test_a_file_made_before_alembic_is_stamped_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "playground.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    # the first schema.py: no reason or full_from columns yet (added on open since)
    conn.executescript(schema.SCHEMA.replace("    reason TEXT,\n", "").replace(
        ",\n    full_from INTEGER NOT NULL DEFAULT 0", ""))  # fmt: skip
    conn.execute("INSERT INTO sessions VALUES ('a','o','n','{}','paused',0,0,'{}',1.0,1.0)")
    conn.close()
    store = Store(path)
    try:
        assert [r["id"] for r in store.sessions()] == ["a"]
        assert store.session_row("a")["full_from"] == 0
    finally:
        store.close()
    conn = sqlite3.connect(path)
    assert schema.stamped(conn) == HEAD
    conn.close()


def test_a_start_at_the_newest_revision_does_not_import_alembic(tmp_path: Path) -> None:
    code = (
        "import sys, pathlib; from app.core.history import open_store;"
        " from app.core.settings import Settings;"
        f" s = Settings(data_dir=pathlib.Path({str(tmp_path)!r}));"
        " open_store(s).close(); open_store(s).close();"
        " print(sorted(m for m in ('alembic', 'sqlalchemy', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         check=True, timeout=60)  # fmt: skip
    assert out.stdout.strip() == "[]", out.stderr
