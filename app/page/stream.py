"""The page's own stream and pictures, built on the same session hub as the JSON stream.

``GET /api/sessions/{id}/page-events`` is the HTML flavour of ``/events``: named events carry
server-rendered fragments, one per screen region (``network``, ``output``, ``points``,
``counters``, ``curves``, ``phase``, ``status``, ``divergence``, and the control regions when the
config changes). The page subscribes with frames off and renders the latest state itself, at
most ``fps`` times a second: whatever happened in between is merged into the next frame
(dropped, never queued), so a slow page never lags behind and never grows server memory.

Also here: the PNGs the fragments point at, the page-only preferences (``PUT .../ui``), the
loss-surface fragment, and dataset thumbnails.
"""

from __future__ import annotations

import asyncio
import random
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ManagerDep, SessionDep, SettingsDep
from app.api.events import StreamSlotDep, event_stream
from app.core.errors import ApiError
from app.page import frames, i18n, ui_store
from app.page.controls import hidden_set
from app.page.draw import views
from app.page.feed import feed_of, publish_look
from app.page.surface_live import SurfaceLive
from app.page.surface_view import dataset_thumb, surface_fragment
from app.sessions.session import Session
from app.streaming.hub import Subscriber
from app.streaming.page_sse import data_lines, follow_page
from engine.inspect.chain import check_edge

router = APIRouter(tags=["page"])


class SurfaceRequest(BaseModel):
    """The loss surface the page shows (kept live by the page stream)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["1d", "2d"] = "1d"
    directions: Literal["weights", "random", "pca"] = "weights"
    weight: Annotated[str, Field(max_length=40)] = "0:W:0,0"
    gradients: bool = False  # draw the full and mini-batch gradients at the current point


class UiPatch(BaseModel):
    """Page-only drawing preferences; they never change training."""

    model_config = ConfigDict(extra="forbid")
    view: str | None = None
    surface: SurfaceRequest | None = None
    log_scale: bool | None = None
    show_test: bool | None = None
    discretize: bool | None = None
    fixed_scale: bool | None = None
    edge: Annotated[list[int], Field(min_length=3, max_length=3)] | None = None  # layer, i, j


@router.get(
    "/sessions/{session_id}/page-events",
    # the route returns the response itself (as /events does), its chunks framed already
    response_class=Response,
    responses={200: event_stream("Server-sent events: one per changed page region (HTML).")},
)
async def page_events(
    slot: StreamSlotDep,
    manager: ManagerDep,
    settings: SettingsDep,
    fps: Annotated[float, Query(gt=0, le=60, description="Most frames per second.")] = 30,
    hide: Annotated[str | None, Query(max_length=200)] = None,
    lang: Annotated[
        str | None, Query(max_length=20, description="The fragments' language: ko or en.")
    ] = None,
) -> Response:
    """HTML fragments per region for the playground page (see the module docstring), in
    ``lang`` (an unknown one: English)."""
    code = i18n.valid(lang) or i18n.DEFAULT_LANG
    i18n.CURRENT.set(code)  # this request's task: its surface task and threads copy it
    session = slot.session
    hub = session.hub
    rate = min(fps, settings.max_fps)
    feed = feed_of(session)
    # no weight frames: pages draw page frames, which the worker training the session makes
    # at the fastest page's rate (or this process, from the trainer, when none trains it)
    sub = Subscriber(
        owner=session.owner, every=0, fps=0.0, include=frozenset(), frames=False, pages=rate
    )
    publish_look(session, feed)
    feed.watch(code, +1)  # frames are rendered in this language too while the page watches
    slot.on_close(lambda: feed.watch(code, -1))
    hub.add(sub)
    del hide  # classroom hiding is CSS on the page; controls render the same
    live = SurfaceLive(session, manager, feed.ui)
    surface_task = asyncio.create_task(live.run(sub.event))
    # undone when the response ends, however it ends (see StreamSlot.on_close)
    slot.on_close(lambda: hub.remove(sub))
    slot.on_close(surface_task.cancel)
    seen = 0

    async def draw() -> list[tuple[str, bytes]]:
        nonlocal seen
        if session.remote is None or feed.frame is None:  # no worker draws it: drawn here
            await anyio.to_thread.run_sync(feed.refresh_local, session, manager)
        if feed.behind(code):  # a frame drawn before this language was watched
            await anyio.to_thread.run_sync(feed.ensure, code)
        seen, changed = feed.since(seen, code)
        return changed + [(name, data_lines(html)) for name, html in live.take().items()]

    stream = follow_page(
        hub,
        sub,
        draw,
        rate=rate,
        ping_seconds=settings.ping_seconds,
        retry_ms=settings.retry_ms + random.randint(0, settings.retry_ms),
    )
    return EventSourceResponse(
        stream, headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


@router.put("/sessions/{session_id}/ui", status_code=204)
def set_ui(body: UiPatch, session: SessionDep, manager: ManagerDep) -> Response:
    """Change what the page draws (view, log scale, test points, discrete output, surface)."""
    feed = feed_of(session)
    ui = feed.ui
    if body.view is not None:
        offered = views.available(session.config["optimizer"])
        if body.view not in offered:
            known = "" if body.view in views.VIEWS else "unknown view "
            raise ApiError(
                422,
                f"view: {known}{body.view!r} is not offered for optimizer "
                f"{session.config['optimizer'].get('name')!r}; choose one of {offered}",
                field="view",
            )
        with session.lock:
            t = manager.load(session)
            now = {"iteration": t.iteration, "last_phase": t.last_phase}
        ui.view = body.view
        # chosen: overrides the view the phase would pick
        ui.view_marker = frames.phase_marker(now, session.generation)
    if body.edge is not None:
        ui.edge = _checked_edge(session, manager, body.edge)
    if body.surface is not None:
        ui.surface = body.surface.model_dump()
        ui.surface_version += 1
    if body.fixed_scale is not None:
        ui.fixed_scale = body.fixed_scale
        ui.frozen = {}
        shown = feed.frame
        if body.fixed_scale and shown is not None:  # frozen at what the page shows now
            ui.frozen[shown.drawing.view] = shown.drawing.peaks
    for key in ("log_scale", "show_test", "discretize"):
        value = getattr(body, key)
        if value is not None:
            setattr(ui, key, value)
    publish_look(session, feed)  # a worker drawing the session draws the new view from now
    ui_store.save(manager, session, ui)  # web replicas: for whichever one shows it next
    session.hub.wake()
    return Response(status_code=204)


def _checked_edge(session: Session, manager: Any, edge: list[int]) -> tuple[int, int, int]:
    """(layer, i, j) of a weight of the session's net, or 422 naming ``edge`` and the range."""
    with session.lock:
        t = manager.load(session)
        try:
            return check_edge(t, *edge)
        except ValueError as exc:
            raise ApiError(422, f"edge: {exc}", field="edge") from None


def _png(session: Session, manager: Any, kind: str) -> Response:
    feed = feed_of(session)
    data = feed.images.get(kind)
    if data is None and kind == "decision":
        feed.refresh_local(session, manager)  # drawn now if no worker draws it
        data = feed.images.get(kind)
    if data is None:
        raise ApiError(404, f"{kind}.png: no picture yet (open the page stream)", field=kind)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/sessions/{session_id}/decision.png")
def decision_png(session: SessionDep, manager: ManagerDep) -> Response:
    """The decision surface as a PNG (orange = class 0 … blue = class 1)."""
    return _png(session, manager, "decision")


@router.get("/sessions/{session_id}/sprite.png")
def sprite_png(session: SessionDep, manager: ManagerDep) -> Response:
    """The drawn nodes' activations over the plane, one tile per drawn node, in drawing order."""
    return _png(session, manager, "sprite")


@router.get("/sessions/{session_id}/digits.png")
def digits_png(session: SessionDep, manager: ManagerDep) -> Response:
    return _png(session, manager, "digits")


@router.get("/sessions/{session_id}/surface.html", response_class=HTMLResponse)
def surface_html(
    session: SessionDep,
    manager: ManagerDep,
    kind: Annotated[str, Query(pattern="^(1d|2d)$")] = "1d",
    directions: Annotated[str, Query(pattern="^(weights|random|pca)$")] = "weights",
    weight: Annotated[str, Query(max_length=40)] = "0:W:0,0",
) -> HTMLResponse:
    """The loss surface panel's drawing (1-D curve with tangent, or 2-D contours with path)."""
    return HTMLResponse(surface_fragment(session, manager, kind, directions, weight))


@router.get("/datasets/{name}/thumb.png")
def thumb(name: str) -> Response:
    """A small picture of a 2-D data set (for the dataset picker)."""
    data = dataset_thumb(name)
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


__all__ = ["router", "hidden_set"]
