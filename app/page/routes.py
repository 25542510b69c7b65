"""The browser playground: ``GET /`` (one Jinja2 page whose blocks are also the stream's
fragments), the API docs (``GET /docs``, Swagger UI) and the static files they load (our
``static/`` and the npm-installed htmx and Swagger UI files).

``/?s=<id>`` shows a session the caller owns. Without one (or with ``?c=<base64url JSON
config>`` / ``?preset=<name>``) the page renders its controls from that config and creates the
session itself through ``POST /api/sessions`` (htmx, JSON body, the owner cookie), then reloads
as ``/?s=<id>``. Every page answer carries a Content-Security-Policy without unsafe keywords
(app/api/middleware.py adds it to every HTML response).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from app.api.deps import ManagerDep, OwnerDep
from app.core.errors import ApiError, NotFound, engine_error
from app.page import (
    controls,
    gradcheck_panel,
    i18n,
    lessons,
    race_surface_view,
    race_view,
    replay_view,
    script_words,
    templating,
    ui_store,
)
from app.page import data as page_data
from app.page import stream as page_stream
from app.page.draw import views
from app.page.feed import feed_of, publish_look
from app.page.templating import ROOT, TEMPLATES  # noqa: F401  (TEMPLATES: tests look it up here)
from app.sessions import presets
from engine.config import merge_config

# The front-end files the pages load, from npm packages (`npm ci` puts them in node_modules):
# /static/vendor/<package>/<file> serves exactly these, so no name a client sends reaches the
# filesystem.
VENDOR = {
    "htmx.org": ("htmx.org/dist", ["htmx.min.js"]),
    "htmx-ext-sse": ("htmx-ext-sse/dist", ["sse.min.js"]),
    "htmx-ext-json-enc": ("htmx-ext-json-enc/dist", ["json-enc.min.js"]),
    "swagger-ui-dist": ("swagger-ui-dist", ["swagger-ui-bundle.js", "swagger-ui.css"]),
}
VENDOR_FILES = {
    (package, name): ROOT / "node_modules" / folder / name
    for package, (folder, names) in VENDOR.items()
    for name in names
}

router = APIRouter(tags=["pages"], include_in_schema=False)


def page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templating.page(request, "index.html", context, status)


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    owner: OwnerDep,
    manager: ManagerDep,
    s: str | None = None,
    c: str | None = None,
    preset: str | None = None,
    hide: str | None = None,
    lesson: str | None = None,
) -> HTMLResponse:
    """The playground page (see the module docstring); ``lesson``: the page follows that
    lesson (app/page/lessons.py)."""
    hidden = controls.hidden_set(hide)
    lang = i18n.request_lang(request)
    if s:
        try:
            session = manager.get(s, owner)
        except NotFound:
            session = None
        if session is not None:
            feed = feed_of(session)
            controls.apply_ui_query(
                feed.ui, request.query_params, views.available(session.config["optimizer"])
            )
            if any(k in request.query_params for k in controls.SHARED_UI):
                ui_store.save(manager, session, feed.ui)  # web replicas: kept for all
            publish_look(session, feed)
            with i18n.using(lang):
                context = lessons.follow(session, manager, lesson, hidden)
            context["lang"] = lang
            return page(request, context)
    error = None
    config: dict[str, Any] = {}
    try:
        if c:
            config = controls.decode_config(c)
        if preset:
            base = presets.preset_config(preset)
            if base is None:
                raise ApiError(404, f"preset: unknown preset {preset!r}", field="preset")
            config = merge_config(base, config)
        full = controls.normalized(config)
    except ValueError as exc:  # the config link: its field heads the message
        error, config = script_words.error_text(engine_error(exc).body, lang), {}
        full = controls.normalized({})
    except ApiError as exc:
        error, config = script_words.error_text(exc.body, lang), {}
        full = controls.normalized({})
    boot = {"config": config} if config else {"preset": "circle-playground"}
    if not config:
        full = controls.normalized(presets.preset_config("circle-playground") or {})
    with i18n.using(lang):
        context = controls.page_context(None, full, hidden)
    context.update(lang=lang, boot_json=json.dumps(boot), error=error, hide_param=hide or "")
    # the link's page settings, carried into the session's own page (static/app.js's boot)
    context["boot_ui"] = "".join(
        f"&{k}={request.query_params[k]}" for k in controls.SHARED_UI if k in request.query_params
    )
    return page(request, context, 200 if error is None else 422)


@router.get("/static/vendor/{package}/{filename}")
def vendor(package: str, filename: str) -> Response:
    """A file of an npm-installed front-end package (one of :data:`VENDOR`)."""
    path = VENDOR_FILES.get((package, filename))
    if path is None:
        raise NotFound("file")
    return FileResponse(path, headers={"Cache-Control": "public, max-age=3600"})


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request) -> HTMLResponse:
    """The OpenAPI docs: Swagger UI from its npm package, started by static/docs.js."""
    return templating.page(request, "docs.html", {"openapi_url": "/openapi.json"})


def missing_vendor_files() -> list[Path]:
    """The files of :data:`VENDOR` that are not on disk (`npm ci` never ran)."""
    return [path for path in VENDOR_FILES.values() if not path.is_file()]


def install(app: FastAPI) -> None:
    """Add the page, its stream and images, and the static files to ``app``.

    Refuses to start (SystemExit naming the files) when the npm packages are not installed:
    the page would load, its scripts 404 and nothing would say why.
    """
    missing = missing_vendor_files()
    if missing:
        names = ", ".join(str(path.relative_to(ROOT)) for path in missing)
        raise SystemExit(
            f"Backprop Playground cannot start: front-end files are missing ({names}). "
            f"Install them with `npm ci` in {ROOT} (or `make setup`)."
        )
    app.include_router(router)
    app.include_router(lessons.router)  # /lessons pages and the lesson API
    app.include_router(page_stream.router, prefix="/api")
    app.include_router(page_data.router, prefix="/api")
    app.include_router(gradcheck_panel.router, prefix="/api")
    app.include_router(replay_view.router, prefix="/api")
    app.include_router(race_view.router)  # /race pages and their small multiples
    app.include_router(race_surface_view.router)  # the race page's loss-surface map
    app.mount("/static", StaticFiles(directory=ROOT / "static"), name="static")
