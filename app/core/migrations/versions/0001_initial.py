"""The initial schema: sessions, their checkpoints, step history, keyframes and races.

The same tables, columns and indexes in SQLite as app/core/schema.py's ``SCHEMA`` made before
Alembic (tests/unit/app/core/test_migrations.py compares them), and their equivalents in
PostgreSQL: 64-bit integers (a session's seq grows without bound), double precision for reals
(loss and times; PostgreSQL's REAL is 32-bit) and bytea for blobs.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

INT: sa.types.TypeEngine[int] = sa.Integer().with_variant(sa.BigInteger(), "postgresql")
DOUBLE: sa.types.TypeEngine[float] = postgresql.DOUBLE_PRECISION()
REAL: sa.types.TypeEngine[float] = sa.REAL().with_variant(DOUBLE, "postgresql")
TEXT = sa.Text()
BLOB = sa.LargeBinary()


def _session_ref() -> sa.ForeignKey:
    return sa.ForeignKey("sessions.id", ondelete="CASCADE")


def upgrade() -> None:
    # ``nullable=True`` on the text primary keys: SQLite's schema never said NOT NULL there
    # (PostgreSQL's primary keys are NOT NULL whatever it says)
    op.create_table(
        "sessions",
        sa.Column("id", TEXT, primary_key=True, nullable=True),
        sa.Column("owner", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("config", TEXT, nullable=False),
        sa.Column("status", TEXT, nullable=False),
        sa.Column("generation", INT, nullable=False),
        sa.Column("seq_base", INT, nullable=False),
        sa.Column("counters", TEXT, nullable=False),
        sa.Column("created", REAL, nullable=False),
        sa.Column("updated", REAL, nullable=False),
        sa.Column("reason", TEXT),
        sa.Column("full_from", INT, nullable=False, server_default=sa.text("0")),
    )
    op.create_index("sessions_owner", "sessions", ["owner"])
    op.create_table(
        "checkpoints",
        sa.Column("session_id", TEXT, _session_ref(), primary_key=True, nullable=True),
        sa.Column("generation", INT, nullable=False),
        sa.Column("step", INT, nullable=False),
        sa.Column("data", TEXT, nullable=False),
        sa.Column("saved", REAL, nullable=False),
    )
    op.create_table(
        "history",
        sa.Column("session_id", TEXT, _session_ref(), primary_key=True),
        sa.Column("seq", INT, primary_key=True),
        sa.Column("generation", INT, nullable=False),
        sa.Column("step", INT, nullable=False),
        sa.Column("loss", REAL),
        sa.Column("has_metrics", INT, nullable=False),
        sa.Column("record", TEXT, nullable=False),
        sqlite_with_rowid=False,
    )
    # the rows that carry full-set metrics (the curves), a few a second among thousands of
    # steps: without it, reading a session's curves scans every step row it ever wrote
    metrics = sa.text("has_metrics = 1")
    op.create_index(
        "history_metrics",
        "history",
        ["session_id", "generation", "seq"],
        sqlite_where=metrics,
        postgresql_where=metrics,
    )
    op.create_table(
        "keyframes",
        sa.Column("session_id", TEXT, _session_ref(), primary_key=True),
        sa.Column("generation", INT, primary_key=True),
        sa.Column("step", INT, primary_key=True),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("bytes", INT, nullable=False),
        sa.Column("data", BLOB, nullable=False),
    )
    op.create_table(
        "races",
        sa.Column("id", TEXT, primary_key=True, nullable=True),
        sa.Column("owner", TEXT, nullable=False),
        sa.Column("name", TEXT, nullable=False),
        sa.Column("config", TEXT, nullable=False),
        sa.Column("runs", TEXT, nullable=False),
        sa.Column("created", REAL, nullable=False),
    )
    # the writer's probe for free room during a storage failure (always empty)
    op.create_table("probe", sa.Column("data", BLOB))


def downgrade() -> None:
    for table in ("probe", "races", "keyframes", "history", "checkpoints", "sessions"):
        op.drop_table(table)
