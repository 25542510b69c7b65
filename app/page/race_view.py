"""The race page: ``GET /race/{id}`` (templates/race.html, static/race.js) and its small
multiples, ``GET /api/races/{id}/multiples.html``.

``/race?preset=<name>`` (or ``?c=<base64url JSON config>``: SGD, Momentum 0.9, RMSProp and
Adam over that config at its rate, the main page's "race this config · 이 설정으로 경주")
renders the page with a boot element; the script creates the race through
``POST /api/races`` (the owner cookie) and opens ``/race/<id>``. The loss chart, legend and
"steps to reach loss X" table are drawn by the script from the race's one stream
(``/api/races/{id}/events``). The small multiples are each
run's own page-feed fragments (app/page/feed.py: the network drawing and the output heatmap),
drawn from the trainer when paused and from a copy of it while a worker trains it, and fetched
by the page about once a second (the fragments' element ids made unique per run).
"""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup

from app.api.deps import ManagerDep, OwnerDep
from app.api.races import RacesDep
from app.core.errors import ApiError, NotFound, engine_error
from app.page import controls, frames, i18n, script_words, templating
from app.page.feed import feed_of
from app.sessions import race_presets
from app.sessions.manager import Manager
from app.sessions.session import Session

router = APIRouter(tags=["pages"], include_in_schema=False)

# Okabe–Ito (colour-blind safe, as static/app.css): the text shades are darkened for 4.5:1
COLOURS = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9"]
TEXT = ["#0072b2", "#ad4500", "#00775a", "#a3407a", "#8a5d00", "#2a6f96"]
_ID = re.compile(r'\bid="([A-Za-z][\w-]*)"')


def _page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return templating.page(request, "race.html", context, status)


@router.get("/race", response_class=HTMLResponse)
def new_race(request: Request, preset: str | None = None, c: str | None = None) -> HTMLResponse:
    """A page that creates a race (a preset's, or the optimizers' runs over config ``c``)."""
    boot: dict[str, Any] = {"preset": preset or "optimizers"}
    error = None
    lang = i18n.request_lang(request)
    if preset is not None and race_presets.race_preset(preset) is None:
        body = {"detail": f"preset: unknown race preset {preset!r}", "code": "not_found"}
        error = script_words.error_text({**body, "field": "preset"}, lang)
    if c:  # this config with the optimizers race's runs at its own rate
        try:
            config = controls.decode_config(c)
            lr = float(controls.normalized(config)["optimizer"]["lr"])
            boot = {"config": config, "runs": race_presets.optimizer_runs(lr), "name": "optimizers"}
        except (ValueError, ApiError) as exc:
            body = exc.body if isinstance(exc, ApiError) else engine_error(exc).body
            error = script_words.error_text(body, lang)
    context = {"race": None, "boot_json": json.dumps(boot), "error": error, "presets": _presets()}
    return _page(request, context, 200 if error is None else 422)


@router.get("/race/{race_id}", response_class=HTMLResponse)
def race_page(
    request: Request, race_id: str, owner: OwnerDep, races: RacesDep, manager: ManagerDep
) -> HTMLResponse:
    try:
        race = races.get(race_id, owner)
    except NotFound:
        missing: dict[str, Any] = {
            "race": None,
            "boot_json": "",
            "error": script_words.error_text(
                {"detail": "race not found", "code": "not_found", "field": "race"},
                i18n.request_lang(request),
            ),
            "presets": [],
        }
        return _page(request, missing, 404)
    public = races.public(race)
    runs = [
        {**run, "colour": COLOURS[i % 6], "text": TEXT[i % 6]}
        for i, run in enumerate(public["runs"])
    ]
    meta = [{"name": r["name"], "colour": r["colour"], "text": r["text"]} for r in runs]
    context: dict[str, Any] = {
        "race": public,
        "runs": runs,
        "runs_json": json.dumps(meta),
        "multiples": multiples(races.sessions(race), manager, i18n.request_lang(request)),
        "boot_json": "",
        "error": None,
        "presets": _presets(),
    }
    return _page(request, context)


@router.get("/api/races/{race_id}/multiples.html", response_class=HTMLResponse)
def multiples_html(
    request: Request, race_id: str, owner: OwnerDep, races: RacesDep, manager: ManagerDep
) -> HTMLResponse:
    """Every run's network drawing and output picture (the race page's small multiples)."""
    race = races.get(race_id, owner)
    public = races.public(race)
    context: dict[str, Any] = {
        "runs": [
            {**run, "colour": COLOURS[i % 6], "text": TEXT[i % 6]}
            for i, run in enumerate(public["runs"])
        ],
        "multiples": multiples(races.sessions(race), manager, i18n.request_lang(request)),
    }
    return templating.page(request, "race_multiples.html", context)


def multiples(
    sessions: list[Session | None], manager: Manager, lang: str | None = None
) -> list[dict[str, Markup]]:
    """Each run's ``network`` and ``output`` fragments in ``lang``, ids suffixed ``-r<i>``."""
    with i18n.using(lang):
        return _multiples(sessions, manager)


def _multiples(sessions: list[Session | None], manager: Manager) -> list[dict[str, Markup]]:
    out = []
    for i, s in enumerate(sessions):
        if s is None:
            out.append({"network": Markup(""), "output": Markup("")})
            continue
        html = fragments(s, manager)
        # our own rendered markup (autoescaped when it was rendered), ids made unique
        out.append(
            {
                k: Markup(_ID.sub(rf'id="\1-r{i}"', str(html.get(k, ""))))
                for k in ("network", "output")
            }
        )
    return out


def fragments(session: Session, manager: Manager) -> dict[str, str]:
    """The session's page-feed fragments, drawn now: from its trainer when no worker trains it,
    else from a copy (as app/page/feed.py ``first_page`` does before a worker's first frame)."""
    feed = feed_of(session)
    if not feed.refresh_local(session, manager):
        with session.lock:
            t = manager.load(session)
            frame = frames.build(t, session.generation, feed.look(), feed.pictures_due(True))
            data = t.data
        feed.show(frame, session, manager.store, data)
    return feed.html()


def _presets() -> list[dict[str, str]]:
    return [{"name": p["name"], "doc": p["doc"]} for p in race_presets.catalog()]
