"""The FastAPI application: ``create_app(settings)`` builds it; ``app`` is the default one.

Run with ``uvicorn app.main:app``. The lifespan starts the session manager (database, writer
thread, training workers, idle culler) and, on shutdown, pauses every run and checkpoints it.

uvicorn runs the app's shutdown only after every connection has closed, and a page's event
stream never closes by itself: so on SIGTERM (or SIGINT) the manager drains at once — runs
stopped and checkpointed with reason ``shutdown``, every stream ended after its last status —
while uvicorn waits for the connections (promise 20).
"""

from __future__ import annotations

import asyncio
import functools
import gc
import importlib
import signal
import sys
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import FrameType

from fastapi import Depends, FastAPI
from threadpoolctl import threadpool_limits

from app.api import (
    catalog,
    datasets,
    events,
    explain,
    export,
    health,
    race_events,
    race_surface,
    races,
    readouts,
    replay,
    sessions,
)
from app.api.deps import csrf_check
from app.api.middleware import BodyLimit, SecurityHeaders
from app.core import errors
from app.core.settings import Settings, get_settings
from app.page import routes as pages
from app.page import templating, ui_store
from app.sessions.manager import Manager
from app.sessions.races import Races

API = "/api"
FORWARD_MODULE = "app.api.forward"  # web replicas only (app/sessions/replicas.py)


GC_THRESHOLDS = (5000, 10, 100)  # the collector's (700, 10, 10), tuned for a classroom: below


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app; ``settings`` (tests) override the cached environment settings."""
    resolved = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The pipe receivers (unpickling batches) and the database writer hold the GIL in
        # short stretches; a 1 ms switch interval (default 5) hands it back to the event loop
        # sooner: healthz p99 with 100 streams went from 23-29 to ~17 ms.
        sys.setswitchinterval(0.001)
        templating.warm_up()
        # FastAPI builds each router's routes (dependencies, models) on its first request, on
        # the event loop: tens of milliseconds that a first visitor's healthz would wait for
        app.openapi()
        # what importing the app made (~90k objects: modules, routes, schemas, the compiled
        # template) lives as long as the process: kept out of the collector's full passes,
        # which stop every thread
        gc.freeze()
        # A class of 100 makes the collector run ~15 young passes a second and a full pass
        # (every tracked object of every session: 30-55 ms with the GIL held) every ~10 s:
        # healthz p99 41-79 ms. The cycles the page makes (Jinja's macro closures) die young,
        # and young passes collect them; fewer, larger young passes (5000 allocations, not
        # 700) and full passes 10x rarer cut the collector's time by two thirds and healthz
        # p99 to 23-31 ms (bench_classroom, 100 learners; a full pass still runs once the
        # old generation has grown by a quarter, as CPython requires anyway).
        gc.set_threshold(*GC_THRESHOLDS)
        threadpool_limits(1)  # requests compute small things: no BLAS threads spinning for them
        loop = asyncio.get_running_loop()
        manager = Manager(resolved, loop)
        app.state.manager = manager
        # web replicas: a session adopted here shows the page settings kept for it
        manager.on_adopt = functools.partial(ui_store.restore, manager)
        app.state.races = Races(manager)  # app/sessions/races.py: runs of one config
        unhook = drain_on_signals(lambda: loop.run_in_executor(None, manager.drain))
        try:
            yield
        finally:
            unhook()
            await asyncio.to_thread(manager.close)

    app = FastAPI(
        title="Backprop Playground",
        version="0.1.0",
        description="Training sessions of a NumPy network, driven over REST and streamed over SSE.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # /docs is ours (app/page/routes.py): FastAPI's loads Swagger UI from a CDN and runs an
        # inline script, and its /redoc loads ReDoc and fonts from CDNs
        docs_url=None,
        redoc_url=None,
        default_response_class=errors.SafeJSONResponse,
        dependencies=[Depends(csrf_check)],
    )
    app.state.settings = resolved
    errors.install(app)
    app.add_exception_handler(events.StreamGone, events.stream_gone)
    for module in (
        health, catalog, sessions, export, readouts, explain, events, datasets, replay, races,
        race_events, race_surface,
    ):  # fmt: skip
        app.include_router(module.router, prefix=API)
    pages.install(app)  # the browser playground: GET /, its stream, /static
    if resolved.replicas:
        # a session another replica holds is served there; imported only then (it uses httpx,
        # of the cluster extra), as the cluster's other modules are
        forward = importlib.import_module(FORWARD_MODULE)
        app.add_middleware(forward.Forward)
    app.add_middleware(BodyLimit, max_bytes=resolved.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    return app


def drain_on_signals(drain: Callable[[], object]) -> Callable[[], None]:
    """Call ``drain`` (on the loop's thread) when SIGTERM or SIGINT arrives, then the handler
    that was there before (uvicorn's, which starts its shutdown). Returns the undo."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None  # an app run in a thread (the tests' client): no signals there
    loop = asyncio.get_running_loop()
    previous: dict[int, object] = {}

    def handler(sig: int, frame: FrameType | None) -> None:
        loop.call_soon_threadsafe(drain)
        before = previous.get(sig)
        if callable(before):
            before(sig, frame)

    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)

    def undo() -> None:
        for sig, before in previous.items():
            signal.signal(sig, before)  # type: ignore[arg-type]

    return undo


app = create_app()
