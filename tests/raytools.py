"""Helpers for the Ray cluster tests (tests/system/cluster/): the running cluster, as the
session fixture there yields it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LOOPBACK = "127.0.0.1"


@dataclass
class RayCluster:
    cluster: Any  # ray.cluster_utils.Cluster
    ray: Any  # the ray module, connected to the cluster (namespace "bpp")
    started_s: float

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
