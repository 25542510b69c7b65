"""Liveness: answered on the event loop without touching a session lock or the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from app.api.deps import ManagerDep
from app.core import memory

router = APIRouter(tags=["health"])


@router.get(
    "/healthz",
    responses={503: {"description": "The database refuses writes (`storage` says why)."}},
)
async def healthz(manager: ManagerDep) -> Any:
    """Liveness plus a few gauges: sessions, those holding memory here (``loaded``: a trainer,
    copies or recent records), running sessions, runs in workers, workers; 503
    with ``storage`` (the cause) while the database refuses writes (a full or read-only disk)."""
    body: dict[str, Any] = {
        "ok": True,
        "sessions": len(manager.sessions),
        "loaded": sum(1 for s in list(manager.sessions.values()) if memory.held(s)),
        "running": sum(1 for s in manager.sessions.values() if s.status == "running"),
        "scheduled": manager.pool.running,
        "workers": sum(1 for h in manager.pool.handles if h.alive),
        # page frames the workers sent, and their bytes (what a page costs the pipe)
        "pages": {"frames": manager.page_frames, "bytes": manager.page_bytes},
    }
    storage = manager.store.failing
    if storage is not None:
        return JSONResponse({**body, "ok": False, "storage": storage}, status_code=503)
    return body
