"""A Ray cluster on this machine for the whole test session (tests/system/cluster/).

One head (no CPUs: it only coordinates, so no session's actor lands on a node a test cannot
remove) and two nodes of one CPU each, all on 127.0.0.1 (the network rule: Ray is told its
address, else it takes the machine's outward one), started once and shut down at the end.
How long it took to start is in ``RayCluster.started_s`` (printed with ``-s``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from raytools import LOOPBACK, RayCluster

ROOT = Path(__file__).resolve().parents[3]
# node deaths noticed in about a second rather than the default 30 s (the GCS's health checks)
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 2}


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[RayCluster]:
    # before ray is imported (read once): loopback stays loopback (app/training/backends.py)
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    # the Ray workers import this checkout's app/, not another one an editable install names
    os.environ["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p
    )
    import ray  # here: after the environment above
    from ray.cluster_utils import Cluster

    t0 = time.perf_counter()
    cluster = Cluster(
        initialize_head=True,
        head_node_args={
            "num_cpus": 0,
            "node_ip_address": LOOPBACK,
            "include_dashboard": False,
            "_system_config": SYSTEM_CONFIG,
        },
    )
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)
        ray.init(address=cluster.address, namespace="bpp", _node_ip_address=LOOPBACK,
                 log_to_driver=False)
        started = time.perf_counter() - t0
        print(f"\nRay cluster (head + 2 nodes) up in {started:.1f} s")
        yield RayCluster(cluster, ray, started)
    finally:
        ray.shutdown()
        cluster.shutdown()
