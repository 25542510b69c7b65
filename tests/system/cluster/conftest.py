"""One Ray cluster on loopback for the whole test session (tests/raytools.py: a head and two
1-CPU nodes), shut down at the end; how long it took to start is printed (``-s``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from raytools import RayCluster, start_cluster


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    cluster = start_cluster(nodes=2)
    print(f"\nRay cluster (head + 2 nodes) up in {cluster.started_s:.1f} s")
    try:
        yield cluster
    finally:
        cluster.close()
