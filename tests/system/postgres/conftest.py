"""The PostgreSQL cluster of the tests in this folder (tests/pgtools.py): one per session."""

from __future__ import annotations

import pytest
from pgtools import PgCluster, shared


@pytest.fixture(scope="session")
def pg() -> PgCluster:
    return shared()
