"""Alembic's environment for the store's schema, in both dialects (no alembic.ini: the server
runs it programmatically at start, app/core/migrate.py).

``env.py`` runs the revisions in ``versions/`` on the connection app/core/migrate.py hands it.
The revision ids are plain numbers in order; ``HEAD`` names the newest and must change with
every new revision (a test checks it against Alembic's own head), because the SQLite fast path
(app/core/schema.py) reads it without importing Alembic.
"""

INITIAL = "0001"  # the revision that creates the first schema (app/core/schema.py's SCHEMA)
HEAD = "0002"  # the newest revision
