"""Replay over REST: a session's state at any recorded step, and a fork from one.

``GET /api/sessions/{id}/at/{step}?include=`` answers in ``/state``'s shape (the snapshot of
app/api/readouts.py, with ``session``) plus ``replay``: ``{"step", "keyframe", "steps",
"every"}`` — the keyframe the state was re-trained from and how many steps that took.
``POST /api/sessions/{id}/fork {"step": n, "name": ...}`` makes a new session (the same
owner; quotas as for any new session) at that state, with the original's history up to ``n``.
Both re-train a copy from the database (app/sessions/replay.py): a running session goes on.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import Field

from app.api.deps import ManagerDep, SessionDep, SettingsDep
from app.api.schemas import Model, View
from app.sessions import replay as replays
from engine.inspect import readouts

router = APIRouter(prefix="/sessions/{session_id}", tags=["replay"])
STEPS = 2**53  # what a step number can be (JSON's exact integers)


class ForkRequest(Model):
    step: int = Field(ge=-STEPS, le=STEPS, description="The step to continue from (0: start).")
    name: str | None = Field(default=None, max_length=100)


@router.get("/at/{step}")
def state_at(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    step: Annotated[int, Path(ge=-STEPS, le=STEPS)],
    include: Annotated[list[View], Query(max_length=7)] = [],  # noqa: B006
) -> dict[str, Any]:
    """The state at ``step`` of the current generation (0 … its latest step), as ``/state``
    showed it then: weights, counters and the views in ``include``."""
    t0 = time.perf_counter()
    t, source = replays.replay(manager.store, settings, session, step)
    out: dict[str, Any] = readouts.snapshot(t, frozenset(include))
    out["session"] = session.public()
    out["replay"] = {
        "step": step,
        "keyframe": source,
        "steps": step - source,
        "every": settings.replay_every,
        "ms": round(1000 * (time.perf_counter() - t0), 2),
    }
    return out


@router.post("/fork", status_code=201)
def fork_session(body: ForkRequest, session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """A new session continuing from ``step`` (the original is kept as it is)."""
    new = replays.fork(manager, session, body.step, body.name)
    with new.lock:
        state = readouts.snapshot(manager.load(new), frozenset())
    return {
        "id": new.id,
        "session": new.public(),
        "state": state,
        "forked_from": {"id": session.id, "step": body.step},
    }
