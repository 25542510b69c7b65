"""A fencing token per session: ``sessions.fence``, the newest fence a web replica claimed the
session with (app/sessions/fencing.py). A replica's writes of a session are guarded by its own
fence, so a replica that stalled past its lease cannot write once another has claimed the
session. One process (SQLite, the default) keeps 0 and never reads it.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INT: sa.types.TypeEngine[int] = sa.Integer().with_variant(sa.BigInteger(), "postgresql")


def upgrade() -> None:
    op.add_column("sessions", sa.Column("fence", INT, nullable=False, server_default=sa.text("0")))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:  # SQLite drops a column by a copy
        batch.drop_column("fence")
