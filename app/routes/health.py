"""Liveness: answered on the event loop without touching a session lock or the database."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import memory
from app.deps import ManagerDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(manager: ManagerDep) -> dict[str, Any]:
    """Liveness plus a few gauges: sessions, those holding memory here (a trainer, copies or
    recent records: ``loaded``), running sessions, runs in workers, workers."""
    return {
        "ok": True,
        "sessions": len(manager.sessions),
        "loaded": sum(1 for s in list(manager.sessions.values()) if memory.held(s)),
        "running": sum(1 for s in manager.sessions.values() if s.status == "running"),
        "scheduled": manager.pool.running,
        "workers": sum(1 for h in manager.pool.handles if h.alive),
    }
