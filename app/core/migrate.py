"""Running Alembic at start (app/core/migrations/): bringing a database to the newest revision.

PostgreSQL is migrated on every start (:func:`upgrade_postgres`), under an advisory lock so
that web replicas starting together migrate once; SQLite only when its file is behind (the fast
path that decides it is app/core/schema.py, which imports this module only then: SQLAlchemy
and Alembic take ~0.5 s to import).
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.pool import NullPool

SCRIPTS = Path(__file__).resolve().parent / "migrations"
LOCK_KEY = 0x42505047  # the advisory lock the replicas' migrations take turns on ("BPPG")


def config(connection: sa.Connection) -> Config:
    """Alembic's configuration over an open connection (no alembic.ini)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    cfg.attributes["connection"] = connection
    return cfg


def sqlalchemy_url(url: str) -> sa.URL:
    """``postgresql://…`` (libpq's form, what psycopg takes) as SQLAlchemy's psycopg 3 URL."""
    return sa.make_url(url).set(drivername="postgresql+psycopg")


def upgrade_sqlite(path: Path, revision: str = "head") -> None:
    """Bring the SQLite file at ``path`` to ``revision`` (the newest unless a test asks)."""
    engine = sa.create_engine(f"sqlite:///{path}", poolclass=NullPool)
    try:
        with engine.begin() as conn:
            command.upgrade(config(conn), revision)
    finally:
        engine.dispose()


def upgrade_postgres(url: str) -> None:
    """Bring the PostgreSQL database at ``url`` to the newest revision, one replica at a time
    (the lock is the transaction's, released with its commit)."""
    engine = sa.create_engine(sqlalchemy_url(url), poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": LOCK_KEY})
            command.upgrade(config(conn), "head")
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision, as Alembic reads it from the scripts."""
    cfg = Config()
    cfg.set_main_option("script_location", str(SCRIPTS))
    return str(command.ScriptDirectory.from_config(cfg).get_current_head())
