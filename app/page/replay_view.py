"""The page's replay scrubber: ``PUT /api/sessions/{id}/replay-view {"step": n | null}``.

While a session is paused, the ``#replay`` slider (static/replay.js) sends the step the learner
dragged to; the session's trainer at that step is re-trained from its keyframe
(app/sessions/replay.py: the numbers ``GET /api/sessions/{id}/at/{step}`` answers), made into
a page frame (``frames.build``, with the heatmaps) and shown through the session's page feed,
so the drawing, the counters, the output heatmap and the phase words of every page of the
session show that step, and the loss curves mark it. ``null`` (or the latest step) goes back
to the live trainer.

The feed's key of the live trainer is left as it was while a replayed frame is shown: the page
stream's redraw of a paused session (``PageFeed.refresh_local``) then keeps the replayed
frame until something a frame shows changes — a step, a change, play — which draws the live
trainer again. Scrubbing a running session is a 409 (its worker's frames would overwrite it).
"""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from pydantic import Field

from app.api.deps import ManagerDep, SessionDep
from app.api.schemas import Model
from app.core.errors import Conflict
from app.page import frames
from app.page.feed import feed_of
from app.sessions import replay

router = APIRouter(tags=["page"])
STEPS = 2**53


class ReplayView(Model):
    step: int | None = Field(
        default=None, ge=-STEPS, le=STEPS, description="The step to show; null: the live one."
    )


@router.put("/sessions/{session_id}/replay-view")
def replay_view(body: ReplayView, session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """Show ``step`` of the session on its pages (see the module docstring)."""
    t0 = time.perf_counter()
    if session.status == "running":
        raise Conflict("status: pause the session before scrubbing back", field="status")
    feed = feed_of(session)
    _, last = replay.recorded(session)
    if body.step is None or body.step == last:
        feed.local_key = ()  # drawn again from the live trainer
        feed.refresh_local(session, manager)
        return {"step": last, "live": True, "last": last}
    t, source = replay.replay(manager.store, manager.settings, session, body.step)
    frame = frames.build(t, session.generation, feed.look(), True)
    frame.extras["replay_step"] = body.step  # the loss curves mark it
    feed.show(frame, session, manager.store, t.data)
    return {
        "step": body.step,
        "live": False,
        "last": last,
        "keyframe": source,
        "ms": round(1000 * (time.perf_counter() - t0), 2),
    }
