"""The training backend the settings name (``BPP_BACKEND``): ``local`` or ``ray``.

``local`` (the default) is the pool of worker processes (app/training/pool.py); ``ray`` is a
Ray actor per running session on the cluster at ``BPP_RAY_ADDRESS``
(app/training/ray_backend.py). Both satisfy app/training/backend.py's ``Backend``; the manager
does not know which it has.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from typing import Any

from app.core.settings import Settings
from app.training.backend import Backend
from app.training.channel import FromRunner
from app.training.pool import Pool

RAY_MODULE = "app.training.ray_backend"


def make_backend(
    settings: Settings,
    on_message: Callable[[Any, FromRunner], None],
    on_lost: Callable[[Any], None],
) -> Backend:
    """The backend ``settings.backend`` names, with the manager's two callbacks."""
    if settings.backend == "local":
        return Pool(settings, on_message, on_lost)
    if settings.ray_node_ip_address.is_loopback:
        # Ray replaces a loopback address (ours and the cluster's) with this machine's outward
        # one (ray._private.services.get_node_ip_address) unless told that clusters are off
        # the network here; read once, when ray is first imported, so it is set before that
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    # imported only when selected: ``import ray`` takes a second or more and most servers
    # (``make run``) never use it, so the default path must not pay for it
    ray_backend = importlib.import_module(RAY_MODULE)
    backend: Backend = ray_backend.RayBackend(settings, on_message, on_lost)
    return backend
