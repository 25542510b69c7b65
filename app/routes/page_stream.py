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
import contextlib
import json
import random
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Query, Response
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import BaseModel, ConfigDict, Field

from app.batch import Pacer
from app.deps import ManagerDep, SessionDep, SettingsDep
from app.errors import ApiError
from app.render import regions, view
from app.render.controls import hidden_set
from app.render.surface_live import SurfaceLive
from app.routes.events import StreamSlotDep
from app.session import Session
from app.stream import Subscriber
from engine.inspect import readouts

router = APIRouter(tags=["page"])
HISTORY_ROWS = 20_000


class SurfaceRequest(BaseModel):
    """The loss surface the page shows (kept live by the page stream)."""

    model_config = ConfigDict(extra="forbid")
    kind: Literal["1d", "2d"] = "1d"
    directions: Literal["weights", "random", "pca"] = "weights"
    weight: Annotated[str, Field(max_length=40)] = "0:W:0,0"


class UiPatch(BaseModel):
    """Page-only drawing preferences; they never change training."""

    model_config = ConfigDict(extra="forbid")
    view: str | None = None
    surface: SurfaceRequest | None = None
    log_scale: bool | None = None
    show_test: bool | None = None
    discretize: bool | None = None


def load_curves(manager: Any, session: Session, st: regions.PageState) -> None:
    """Rebuild the curves of the current generation from the database (connect, reset)."""
    from app.render.charts import Curves

    st.curves = Curves()
    st.generation = session.generation
    st.rewinds = session.hub.rewinds
    st.cursor = session.hub.last_seq
    rows = manager.store.history(session.id, session.generation, 0, HISTORY_ROWS, 1, True)
    for text in rows:
        st.curves.add(json.loads(text))


def take_records(session: Session, manager: Any, st: regions.PageState) -> None:
    """Feed the step records published since the last frame into the curves."""
    upto = session.hub.last_seq
    records = session.hub.read_ring(st.cursor, HISTORY_ROWS)
    if records is None:
        # fell behind the ring (a small net trains more steps between two frames than it
        # holds): the database has every published record, and only those with metrics count
        records = manager.store.metrics_between(session.id, st.generation, st.cursor, upto)
        st.cursor = upto
    for seq, text in records:
        st.cursor = max(st.cursor, seq)
        if '"metrics"' in text:
            rec = json.loads(text)
            if rec.get("generation") == st.generation:
                st.curves.add(rec)


def close_curves(session: Session, manager: Any, st: regions.PageState) -> None:
    """A run stopped between two metric rows (training computes the full-set metrics every
    ``metrics_interval`` only): end the curves, and the numbers beside them, on the step the
    page shows. Computed once per stop, for this page only (the history keeps its rows)."""
    with session.lock:
        t = manager.load(session)
        at = (session.generation, t.iteration)
        steps = st.curves.steps
        if t.iteration == 0 or at == st.settled or (steps and steps[-1] >= t.iteration):
            return
        metrics = readouts.metrics(t)
    st.settled = at
    st.curves.add({"step": at[1], "metrics": metrics}, keep=True)


def state_key(session: Session, manager: Any, st: regions.PageState) -> tuple[Any, ...]:
    """A cheap fingerprint of everything a frame shows; equal keys mean nothing to redraw."""
    with session.lock:
        t = manager.load(session, pushed_ok=True)
        held = session.copy  # a push may have replaced the copy since load: not drawn then
        st.drawn = held if held is not None and held[1] is t else None
        phase = t.phase
        return (
            session.generation,
            session.status,
            session.hub.last_seq,
            t.iteration,
            phase["phase"],
            phase["layer"],
            str(t.last_phase),
            float(t.net.theta.sum()),
            json.dumps(session.config, sort_keys=True),
            tuple(vars(st.ui).values()),
        )


def frame(session: Session, manager: Any, st: regions.PageState) -> dict[str, str]:
    """Every region whose fragment changed since this page's last frame (worker thread)."""
    key = state_key(session, manager, st)
    if key == st.key:
        return {}
    st.key = key
    pic = view.gather(
        session, manager, st.data_key, regions.images_due(st, session.status), pushed_ok=True
    )
    if pic.session["generation"] != st.generation or session.hub.rewinds != st.rewinds:
        load_curves(manager, session, st)  # a new generation, or the history was cut back
    else:
        take_records(session, manager, st)
    if pic.session["status"] != "running":
        close_curves(session, manager, st)
    out = regions.config_regions(pic.session, st)
    out.update(regions.live_regions(pic, st, session.id))
    changed = {k: v for k, v in out.items() if st.last.get(k) != v}
    st.last.update(changed)
    return changed


def initial_context(session: Session, manager: Any, hidden: set[str]) -> dict[str, Any]:
    """The full page of a session: controls from its config and every region pre-rendered."""
    st = regions.PageState(ui=view.ui_of(session.id))
    load_curves(manager, session, st)
    pic = view.gather(session, manager, None)
    live = regions.live_regions(pic, st, session.id)
    ctx = regions.context_for(pic.session, hidden, st.ui)
    ctx["regions"] = {
        "network": live["network"],
        "output": live["output"],
        "points": live.get("points", ""),
    }
    # the block-rendered regions come back as text; the page re-renders them from their parts
    ctx["regions"].update(_parts(pic, st))
    return ctx


def _parts(pic: view.Picture, st: regions.PageState) -> dict[str, Any]:
    from app.render.palette import fmt

    done, nxt = view.phase_words(pic.snap)
    loss_svg, acc_svg = view.curves_svg(st.curves, st.ui)
    c = st.curves
    acc = c.last("test", "acc")
    return {
        "counters": view.counters(pic),
        "phase": {"done": done, "next": nxt, "order": regions.phase_order(pic.snap)},
        "curves": {
            "train": fmt(c.last("train")),
            "val": fmt(c.last("val")),
            "test": fmt(c.last("test")),
            "acc": fmt(acc, 3) if acc is not None else "—",
            "loss_svg": loss_svg,
            "acc_svg": acc_svg,
        },
    }


@router.get("/sessions/{session_id}/page-events", response_class=EventSourceResponse)
async def page_events(
    slot: StreamSlotDep,
    manager: ManagerDep,
    settings: SettingsDep,
    fps: Annotated[float, Query(gt=0, le=60, description="Most frames per second.")] = 30,
    hide: Annotated[str | None, Query(max_length=200)] = None,
) -> AsyncIterator[ServerSentEvent]:
    """HTML fragments per region for the playground page (see the module docstring)."""
    session = slot.session
    hub = session.hub
    rate = min(fps, settings.max_fps)
    # no weight frames: the page renders from the trainer, whose copies a worker pushes at
    # the page's rate while the session trains there
    sub = Subscriber(
        owner=session.owner, every=0, fps=0.0, include=frozenset(), frames=False, copies=rate
    )
    hub.add(sub)
    st = regions.PageState(ui=view.ui_of(session.id))
    interval = 1.0 / rate
    retry = settings.retry_ms + random.randint(0, settings.retry_ms)
    del hide  # classroom hiding is CSS on the page; controls render the same
    live = SurfaceLive(session, manager, st.ui)
    surface_task = asyncio.create_task(live.run(sub.event))
    # undone by the stream's slot too: this generator's finally may run late (see on_close)
    slot.on_close(lambda: hub.remove(sub))
    slot.on_close(surface_task.cancel)
    try:
        yield ServerSentEvent(comment="connected", retry=retry)
        pacer = Pacer(time.monotonic())
        while True:
            sub.event.clear()
            if hub.closed:
                yield ServerSentEvent(event="close", raw_data=hub.closed)
                return
            if hub.ending:
                return  # the server is going down: the page reconnects once it is back
            if await _copy_coming(session, st, sub, pacer.next + interval):
                continue
            seq = hub.last_seq
            changed = await anyio.to_thread.run_sync(frame, session, manager, st)
            changed.update(live.take())
            for name, html in changed.items():
                yield ServerSentEvent(event=name, raw_data=html, id=str(seq))
            # pacing by deadline, so render and wake-up times do not add to the period; whatever
            # changes meanwhile merges into the next frame. A look that found nothing new
            # keeps its turn: the next publish (a new copy) is drawn at once.
            now = time.monotonic()
            if changed:
                pacer.due(rate, now)  # this frame was due: schedule the next
            await asyncio.sleep(max(0.0, pacer.next - now))
            if sub.event.is_set():
                continue
            try:
                await asyncio.wait_for(sub.event.wait(), timeout=settings.ping_seconds)
            except TimeoutError:
                yield ServerSentEvent(comment="ping")
    finally:
        surface_task.cancel()
        hub.remove(sub)


async def _copy_coming(
    session: Session, st: regions.PageState, sub: Subscriber, until: float
) -> bool:
    """While a worker trains the session and pushes copies at the page's rate, wait (until
    ``until`` at most) for a copy newer than the one last drawn; True if one came or may
    come, False when it is time to draw. Drawing on a clock of its own instead, the page
    would beat against the worker's: sometimes two frames of one copy, then none."""
    held = session.copy
    if session.remote is None or held is None or held is not st.drawn:
        return False
    wait = until - time.monotonic()
    if wait <= 0:
        return False
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(wait):
            await sub.event.wait()
    return True


@router.put("/sessions/{session_id}/ui", status_code=204)
def set_ui(body: UiPatch, session: SessionDep, manager: ManagerDep) -> Response:
    """Change what the page draws (view, log scale, test points, discrete output, surface)."""
    ui = view.ui_of(session.id)
    if body.view is not None:
        if body.view not in view.network.VIEWS:
            raise ApiError(
                422,
                f"view: unknown view {body.view!r}; choose one of {list(view.network.VIEWS)}",
                field="view",
            )
        with session.lock:
            t = manager.load(session)
            now = {"iteration": t.iteration, "last_phase": t.last_phase}
        ui.view = body.view
        ui.view_marker = view.phase_marker(now, session.generation)  # chosen: overrides the phase
    if body.surface is not None:
        ui.surface = body.surface.model_dump()
        ui.surface_version += 1
    for key in ("log_scale", "show_test", "discretize"):
        value = getattr(body, key)
        if value is not None:
            setattr(ui, key, value)
    session.hub.wake()
    return Response(status_code=204)


def _png(session: Session, kind: str) -> Response:
    data = regions.IMAGES.get((session.id, kind))
    if data is None:
        raise ApiError(404, f"{kind}.png: no picture yet (open the page stream)", field=kind)
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=300"})


@router.get("/sessions/{session_id}/decision.png")
def decision_png(session: SessionDep, manager: ManagerDep) -> Response:
    """The decision surface as a PNG (orange = class 0 … blue = class 1)."""
    if (session.id, "decision") not in regions.IMAGES:
        st = regions.PageState(ui=view.ui_of(session.id))
        regions.live_regions(view.gather(session, manager, None), st, session.id)
    return _png(session, "decision")


@router.get("/sessions/{session_id}/sprite.png")
def sprite_png(session: SessionDep) -> Response:
    """Every node's activation over the plane, one tile per node, in drawing order."""
    return _png(session, "sprite")


@router.get("/sessions/{session_id}/digits.png")
def digits_png(session: SessionDep) -> Response:
    return _png(session, "digits")


@router.get("/sessions/{session_id}/surface.html", response_class=HTMLResponse)
def surface_html(
    session: SessionDep,
    manager: ManagerDep,
    kind: Annotated[str, Query(pattern="^(1d|2d)$")] = "1d",
    directions: Annotated[str, Query(pattern="^(weights|random|pca)$")] = "weights",
    weight: Annotated[str, Query(max_length=40)] = "0:W:0,0",
) -> HTMLResponse:
    """The loss surface panel's drawing (1-D curve with tangent, or 2-D contours with path)."""
    from app.render.surface_view import surface_fragment

    return HTMLResponse(surface_fragment(session, manager, kind, directions, weight))


@router.get("/datasets/{name}/thumb.png")
def thumb(name: str) -> Response:
    """A small picture of a 2-D data set (for the dataset picker)."""
    from app.render.surface_view import dataset_thumb

    data = dataset_thumb(name)
    return Response(
        data, media_type="image/png", headers={"Cache-Control": "public, max-age=86400"}
    )


__all__ = ["router", "hidden_set"]
