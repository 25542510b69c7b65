"""``BPP_BACKEND`` chooses where trainers train: ``local`` (the default) needs nothing more and
never imports ray (slow to import); ``ray`` needs the cluster's address."""

from __future__ import annotations

import subprocess
import sys

import pytest
from apptools import ROOT
from pydantic import ValidationError

from app.core.settings import Settings


def test_local_is_the_default_and_the_server_imports_no_cluster_library() -> None:
    """Neither ray nor the replicas' redis, httpx and psycopg (app/sessions/replicas.py)."""
    assert Settings().backend == "local"
    code = (
        "import sys\n"
        "from app.main import create_app\n"
        "from app.core.settings import Settings\n"
        "create_app(Settings())\n"
        "print(sorted(m for m in ('ray', 'redis', 'httpx', 'psycopg') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                         text=True, timeout=60, check=True)
    assert out.stdout.strip() == "[]"


def test_ray_needs_the_clusters_address() -> None:
    with pytest.raises(ValidationError, match="ray_address"):
        Settings(backend="ray")
    assert Settings(backend="ray", ray_address="127.0.0.1:6379").ray_actor_cpus > 0


def test_an_unknown_backend_or_a_bad_address_is_refused_by_name() -> None:
    with pytest.raises(ValidationError, match="backend"):
        Settings(backend="mpi")
    with pytest.raises(ValidationError, match="ray_node_ip_address"):
        Settings(ray_node_ip_address="ray-head")
    assert Settings(ray_node_ip_address="10.0.0.5").ray_node_ip_address.is_private
