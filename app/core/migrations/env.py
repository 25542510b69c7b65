"""Alembic's environment: runs the revisions on the connection app/core/migrate.py passes in
``config.attributes["connection"]`` (there is no alembic.ini and no URL here: the server knows
its database and has opened it)."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
