"""A Ray cluster on this machine, for the Ray backend's tests (tests/system/cluster/) and bench
(bench/bench_ray.py).

A head with no CPUs (it only coordinates, so no session's actor lands on a node a test cannot
remove) and ``nodes`` nodes of one CPU each, all on 127.0.0.1: the network rule (Ray is told its
address, and not to swap loopback for the machine's outward address: app/training/backends.py).
The GCS notices a lost node in about a second rather than the default 30 s.
"""

from __future__ import annotations

import atexit
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOOPBACK = "127.0.0.1"
# the node of the switch's cluster: logical CPUs, for placement only (Ray does not bound a
# process's use), enough for the suites' most sessions running at once at 0.25 CPU each
SWITCH_CPUS = 8
# Ray starts its workers at niceness 15 (worker_niceness) and the trainers then raise theirs to
# BPP_WORKER_NICE (10) at least; at 15 an actor still importing the engine on a machine whose
# two cores the other tests keep busy took over 30 s to answer, and the run was lost again and
# again: here they start at 0, as a local worker process does
SYSTEM_CONFIG = {"health_check_period_ms": 500, "health_check_failure_threshold": 2,
                 "worker_niceness": 0}


@dataclass
class RayCluster:
    cluster: Any  # ray.cluster_utils.Cluster
    ray: Any  # the ray module, connected to the cluster (namespace "bpp")
    started_s: float  # how long the head and the nodes took to start
    environ: dict[str, str | None]  # the variables start_cluster set, as they were before

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    def node_of(self, node_id: str) -> Any:
        """The cluster's node object (for remove_node) with this id."""
        for node in self.cluster.worker_nodes:
            if node.node_id == node_id:
                return node
        raise AssertionError(f"no worker node {node_id}")

    def add_node(self) -> Any:
        return self.cluster.add_node(num_cpus=1, node_ip_address=LOOPBACK)

    def actor_node(self, sid: str) -> str:
        """The node id of session ``sid``'s actor (app/training/ray_backend.py)."""
        actor = self.ray.get_actor(sid, namespace="bpp")
        return str(self.ray.get(actor.node.remote(), timeout=30))

    def close(self) -> None:
        self.ray.shutdown()
        self.cluster.shutdown()
        for key, value in self.environ.items():  # later servers start as they would have
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def start_cluster(nodes: int = 2, cpus: float = 1) -> RayCluster:
    """A head and ``nodes`` nodes of ``cpus`` CPUs each on loopback, this process connected
    to it."""
    environ = {key: os.environ.get(key) for key in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
                                                     "PYTHONPATH")}
    # before ray is imported (it reads this once)
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
        for _ in range(nodes):
            cluster.add_node(num_cpus=cpus, node_ip_address=LOOPBACK)
        ray.init(address=cluster.address, namespace="bpp", _node_ip_address=LOOPBACK,
                 log_to_driver=False)
    except BaseException:
        cluster.shutdown()
        raise
    return RayCluster(cluster, ray, time.perf_counter() - t0, environ)


def switch_on() -> None:
    """With ``BPP_TEST_BACKEND=ray``, start one cluster for this pytest run (a head and one node
    of ``SWITCH_CPUS`` CPUs) and export ``BPP_BACKEND=ray``, ``BPP_RAY_ADDRESS``: every
    ``Settings`` and ``Server`` of the run then trains in Ray actors. pytest-xdist's workers
    start after the controller's ``pytest_configure`` with its environment, so they find the
    address set and share the controller's cluster."""
    if os.environ.get("BPP_TEST_BACKEND") != "ray" or os.environ.get("BPP_RAY_ADDRESS"):
        return
    cluster = start_cluster(nodes=1, cpus=SWITCH_CPUS)
    os.environ["BPP_BACKEND"] = "ray"
    os.environ["BPP_RAY_ADDRESS"] = cluster.address
    atexit.register(cluster.close)
