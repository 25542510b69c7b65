"""The live stream of a session: ``GET /api/sessions/{id}/events`` (server-sent events).

Events: ``step`` (a JSON array of step records), ``frame`` (a weights snapshot, at the client's
cadence), ``status`` (paused / running / finished / diverged / reset), ``close`` (stop
reconnecting: finished, diverged, deleted, or not found), and ``: ping`` comments. Framing is
FastAPI's own ``fastapi.sse``. Guarantees and their mechanics live in :mod:`app.streaming.hub`.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, format_sse_event

from app.api.deps import AddressDep, ManagerDep, OwnerDep, QuotasDep, SettingsDep
from app.api.schemas import View
from app.core.errors import ApiError, limit_error
from app.sessions.session import Session
from app.streaming.hub import Subscriber
from app.streaming.sse import StreamOptions, follow

router = APIRouter(tags=["events"])
log = logging.getLogger(__name__)


class StreamGone(ApiError):
    """404 for a missing or foreign stream, with a ``close`` event so pages stop retrying."""

    def __init__(self) -> None:
        super().__init__(404, "session not found")


async def stream_gone(_: Request, exc: Exception) -> Response:
    body = format_sse_event(data_str='{"reason":"not_found"}', event="close")
    return Response(
        body, status_code=404, media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


class StreamSlot:
    """An admitted stream: its session, and what to undo when its response has ended."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self._cleanups: list[Callable[[], object]] = []

    def on_close(self, cleanup: Callable[[], object]) -> None:
        """Run ``cleanup`` (idempotent) when the response ends, however it ends.

        A generator's own ``finally`` is not enough: when the client leaves while the generator
        is suspended at a ``yield`` (its event waiting to be sent), the server stops iterating it
        and its ``finally`` waits for garbage collection — subscribers and tasks would outlive
        the connection.
        """
        self._cleanups.append(cleanup)

    def close(self) -> None:
        for cleanup in reversed(self._cleanups):
            try:
                cleanup()
            except Exception:  # one failing cleanup must not keep the others (or the slot)
                log.exception("stream cleanup failed")
        self._cleanups.clear()


async def stream_slot(
    session_id: str, owner: OwnerDep, manager: ManagerDep, quotas: QuotasDep, address: AddressDep
) -> AsyncIterator[StreamSlot]:
    """Admit a stream of one of the caller's sessions (404 with a ``close`` event otherwise;
    429 over a cap). Async, so the check and the take run on the event loop without a gap; a
    dependency with ``yield``, so the slot is given back after the response, not before."""
    session = manager.streamed(session_id)  # replicas: followed through Redis if held elsewhere
    if session is None or owner is None or not secrets.compare_digest(session.owner, owner):
        raise StreamGone()
    member = await quotas.take_stream(session, address)
    slot = StreamSlot(session)
    try:
        yield slot
    finally:
        slot.close()
        quotas.give_stream(session, address, member)


StreamSlotDep = Annotated[StreamSlot, Depends(stream_slot)]


def event_stream(description: str) -> dict[str, Any]:
    """An OpenAPI response whose body is a server-sent event stream."""
    return {
        "description": description,
        "content": {"text/event-stream": {"schema": {"type": "string"}}},
    }


@router.get(
    "/sessions/{session_id}/events",
    # not response_class=EventSourceResponse: FastAPI would then expect a generator endpoint
    # and wrap it in its own producer tasks; this route returns the response itself
    response_class=Response,
    responses={
        200: event_stream("Server-sent events: step, frame, status, close."),
        404: event_stream("Missing or foreign session (body: a `close` event)."),
    },
)
async def events(
    slot: StreamSlotDep,
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
    session = slot.session
    if fps is not None and fps > settings.max_fps:
        raise limit_error("fps", "max_fps", fps, settings.max_fps)
    hub = session.hub
    cursor = after
    # ASCII digits only: str.isdigit() also takes '²', which int() then refuses (a 500)
    if last_event_id is not None and re.fullmatch(r"[0-9]{1,16}", last_event_id.strip()):
        cursor = int(last_event_id)  # the browser's own reconnect: newer than ?after=
    if cursor is None:
        cursor = hub.last_seq  # the live end; a cursor past it is follow()'s to answer
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
    # the slot also removes the subscriber: follow()'s own finally may run late (see on_close)
    slot.on_close(lambda: session.hub.remove(sub))
    opts = StreamOptions(
        after=cursor,
        follow=follow_runs,
        ping_seconds=settings.ping_seconds,
        retry_ms=settings.retry_ms,
        min_interval=settings.stream_interval_ms / 1000,
    )
    return EventSourceResponse(
        follow(hub, manager.store, session.id, sub, opts, _nothing, _nothing),
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _nothing() -> None:
    """follow()'s open/close hooks: the stream's slot does the counting."""
