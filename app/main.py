"""The FastAPI application: ``create_app(settings)`` builds it; ``app`` is the default one.

Run with ``uvicorn app.main:app``. The lifespan starts the session manager (database, writer
thread, training workers, idle culler) and, on shutdown, pauses every run and checkpoints it.
"""

from __future__ import annotations

import asyncio
import gc
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from threadpoolctl import threadpool_limits

from app import errors
from app.deps import csrf_check
from app.middleware import BodyLimit, SecurityHeaders
from app.routes import catalog, datasets, events, health, pages, readouts, sessions
from app.sessions import Manager
from app.settings import Settings, get_settings

API = "/api"


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app; ``settings`` (tests) override the cached environment settings."""
    resolved = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # The pipe receivers (unpickling batches) and the database writer hold the GIL in
        # short stretches; a 1 ms switch interval (default 5) hands it back to the event loop
        # sooner: healthz p99 with 100 streams went from 23-29 to ~17 ms.
        sys.setswitchinterval(0.001)
        pages.warm_up()
        # what importing the app made (~90k objects: modules, routes, schemas, the compiled
        # template) lives as long as the process: kept out of the collector's full passes,
        # which stop every thread
        gc.freeze()
        threadpool_limits(1)  # requests compute small things: no BLAS threads spinning for them
        manager = Manager(resolved, asyncio.get_running_loop())
        app.state.manager = manager
        try:
            yield
        finally:
            await asyncio.to_thread(manager.close)

    app = FastAPI(
        title="Backprop Playground",
        version="0.1.0",
        description="Training sessions of a NumPy network, driven over REST and streamed over SSE.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
        # /docs is ours (app/routes/pages.py): FastAPI's loads Swagger UI from a CDN and runs an
        # inline script, and its /redoc loads ReDoc and fonts from CDNs
        docs_url=None,
        redoc_url=None,
        default_response_class=errors.SafeJSONResponse,
        dependencies=[Depends(csrf_check)],
    )
    app.state.settings = resolved
    errors.install(app)
    app.add_exception_handler(events.StreamGone, events.stream_gone)
    for module in (health, catalog, sessions, readouts, events, datasets):
        app.include_router(module.router, prefix=API)
    pages.install(app)  # the browser playground: GET /, its stream, /static
    app.add_middleware(BodyLimit, max_bytes=resolved.max_upload_bytes)
    app.add_middleware(SecurityHeaders)
    return app


app = create_app()
