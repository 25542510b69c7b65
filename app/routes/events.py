"""The live stream of a session: ``GET /api/sessions/{id}/events`` (server-sent events).

Events: ``step`` (a JSON array of step records), ``frame`` (a weights snapshot, at the client's
cadence), ``status`` (paused / running / finished / diverged / reset), ``close`` (stop
reconnecting: finished, diverged, deleted, or not found), and ``: ping`` comments. Framing is
FastAPI's own ``fastapi.sse``. Guarantees and their mechanics live in :mod:`app.stream`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event

from app.deps import ManagerDep, OwnerDep, SettingsDep
from app.errors import ApiError, limit_error
from app.schemas import View
from app.session import Session
from app.stream import StreamOptions, Subscriber, follow

router = APIRouter(tags=["events"])


class StreamGone(ApiError):
    """404 for a missing or foreign stream, with a ``close`` event so pages stop retrying."""

    def __init__(self) -> None:
        super().__init__(404, "session not found")


async def stream_gone(_: Request, exc: Exception) -> Response:
    body = format_sse_event(data_str='{"reason":"not_found"}', event="close")
    return Response(
        body, status_code=404, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


def stream_session(
    session_id: str, owner: OwnerDep, manager: ManagerDep, settings: SettingsDep
) -> Session:
    session = manager.sessions.get(session_id)
    if session is None or owner is None or session.owner != owner:
        raise StreamGone()
    if len(session.hub.subscribers) >= settings.max_streams_per_session:
        raise limit_error(
            "events",
            "max_streams_per_session",
            len(session.hub.subscribers) + 1,
            settings.max_streams_per_session,
            status=429,
        )
    if manager.owner_streams.get(owner, 0) >= settings.max_streams_per_owner:
        raise limit_error(
            "events",
            "max_streams_per_owner",
            manager.owner_streams[owner] + 1,
            settings.max_streams_per_owner,
            status=429,
        )
    return session


@router.get(
    "/sessions/{session_id}/events",
    # not response_class=EventSourceResponse: FastAPI would then expect a generator endpoint
    # and wrap it in its own producer tasks; this route returns the response itself
    response_class=Response,
    responses={
        200: {
            "description": "Server-sent events: step, frame, status, close.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
        404: {
            "description": "Missing or foreign session (body: a `close` event).",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def events(
    session: Annotated[Session, Depends(stream_session)],
    manager: ManagerDep,
    settings: SettingsDep,
    after: Annotated[
        int | None,
        Query(
            ge=0,
            le=2**53,
            description=(
                "Resume after this event id (a fresh EventSource sends no Last-Event-ID)."
            ),
        ),
    ] = None,
    every: Annotated[int, Query(ge=0, le=1_000_000, description="Frame every N steps.")] = 0,
    fps: Annotated[
        float | None, Query(ge=0, le=1000, description="Most frames per second.")
    ] = None,
    include: Annotated[list[View], Query(max_length=7, description="Frame views.")] = [],  # noqa: B006
    frames: Annotated[bool, Query(description="Send weight frames at all.")] = True,
    follow_runs: Annotated[
        bool,
        Query(
            alias="follow", description=("Stay open after finished/diverged (default: send close).")
        ),
    ] = False,
    last_event_id: Annotated[str | None, Header(max_length=40)] = None,
) -> EventSourceResponse:
    """Step records, weight frames and status changes of one session, resumable by id."""
    if fps is not None and fps > settings.max_fps:
        raise limit_error("fps", "max_fps", fps, settings.max_fps)
    hub = session.hub
    cursor = after
    if last_event_id is not None and last_event_id.strip().isdigit():
        cursor = int(last_event_id)  # the browser's own reconnect: newer than ?after=
    if cursor is None or cursor > hub.last_seq:
        cursor = hub.last_seq
    rate = settings.default_fps if fps is None else fps
    if not every and not rate:
        rate = settings.default_fps  # frames need some cadence
    sub = Subscriber(
        owner=session.owner,
        every=every,
        fps=rate,
        include=frozenset(include) or frozenset({"gradients", "updates"}),
        frames=frames,
    )
    owner = session.owner
    closed = False

    def hold() -> None:
        manager.owner_streams[owner] = manager.owner_streams.get(owner, 0) + 1

    def release() -> None:
        nonlocal closed
        if not closed:
            closed = True
            manager.owner_streams[owner] = manager.owner_streams.get(owner, 1) - 1

    opts = StreamOptions(
        after=cursor,
        follow=follow_runs,
        ping_seconds=settings.ping_seconds,
        retry_ms=settings.retry_ms,
        min_interval=settings.stream_interval_ms / 1000,
    )
    return EventSourceResponse(
        follow(hub, manager.store, session.id, sub, opts, hold, release),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
