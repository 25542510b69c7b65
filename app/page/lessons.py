"""Lessons on the page and through the API.

Pages: ``GET /lessons`` (the list) and ``GET /lessons/{name}`` (the playground set up as the
lesson's first step; ``?lang=`` and ``?hide=`` as on ``/``, so a teacher's link carries the
class's language and hidden controls).

API (the page's buttons call these; a script follows a lesson the same way):

- ``GET /api/lessons``: every lesson with its steps, in both languages;
- ``GET /api/sessions/{id}/lesson``: the step the session's page follows and each check's
  verdict on the live numbers (``state``: ok, not or pending; ``value``, ``target``);
- ``PUT /api/sessions/{id}/lesson`` ``{"name", "step"}``: follow a lesson, move to a step
  (its settings applied by a reset when it has any), ``{"name": null}`` to stop;
- ``POST /api/sessions/{id}/lesson/act``: do what the current step asks (a phase, an
  iteration, its run budget, the gradient check).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ManagerDep, OwnerDep, SessionDep, SettingsDep
from app.api.gradcheck import DEFAULT_SAMPLE, checked
from app.core.errors import ApiError, limit_error
from app.lessons.model import LESSONS, Lesson
from app.page import controls, i18n, lesson_view, templating, ui_store
from app.page.feed import feed_of, first_page, publish_look
from app.sessions import presets
from engine.numbers import finite

router = APIRouter(include_in_schema=True)


def lesson_rows(lang: str) -> list[dict[str, str]]:
    """Every lesson's name, title and claim in ``lang`` (the /lessons list)."""
    return [
        {"name": x.name, "title": x.title.pick(lang), "claim": x.claim.pick(lang)}
        for x in LESSONS.values()
    ]


def lesson_menu(lang: str) -> list[dict[str, str]]:
    """The header's lesson menu: every lesson's name and title in ``lang``."""
    return [{"name": x.name, "title": x.title.pick(lang)} for x in LESSONS.values()]


def preset_menu(lang: str) -> list[dict[str, str]]:
    """The header's preset menu: each preset with its one-line description in ``lang``."""
    return [
        {"name": p["name"], "doc": p["doc_ko"] if lang == "ko" else p["doc"]}
        for p in presets.catalog()
    ]


templating.ENV.globals["lesson_menu"] = lesson_menu
templating.ENV.globals["preset_menu"] = preset_menu


class LessonMove(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(description="The lesson to follow; null: stop following one.")
    step: Annotated[int, Field(ge=0, le=1000)] = 0


def lesson_named(name: str) -> Lesson:
    lesson = LESSONS.get(name)
    if lesson is None:
        raise ApiError(
            404, f"name: unknown lesson {name!r}; choose one of {list(LESSONS)}", field="name"
        )
    return lesson


def catalog_entry(lesson: Lesson) -> dict[str, Any]:
    return {
        "name": lesson.name,
        "title": lesson.title.model_dump(),
        "claim": lesson.claim.model_dump(),
        "race": lesson.race,
        "config": lesson.config_at(0),
        "steps": [
            {
                "id": s.id,
                "act": s.act,
                "run": s.run.model_dump(exclude_none=True) if s.run else None,
                "do": s.do.model_dump(),
                "watch": s.watch,
                "checks": [c.model_dump(exclude_none=True) for c in s.checks],
            }
            for s in lesson.steps
        ],
    }


@router.get("/api/lessons", tags=["lessons"])
async def lessons_catalog() -> list[dict[str, Any]]:
    """Every lesson: its claim, its starting config and its steps with their checks."""
    return [catalog_entry(lesson) for lesson in LESSONS.values()]


def _progress(session: Any, manager: Any, lang: str) -> dict[str, Any] | None:
    feed = feed_of(session)
    feed.refresh_local(session, manager)  # drawn now when no worker draws it
    with feed.lock:
        frame = feed.frame
    with i18n.using(lang):
        return lesson_view.lesson_data(frame, session.public(), feed)


def _answer(data: dict[str, Any] | None) -> Response:
    return Response(json.dumps(finite(data)), media_type="application/json")


@router.get("/api/sessions/{session_id}/lesson", tags=["lessons"])
def lesson_progress(session: SessionDep, manager: ManagerDep, request: Request) -> Response:
    """The lesson the session's page follows: the step, its checks' verdicts (null: none)."""
    return _answer(_progress(session, manager, i18n.request_lang(request)))


@router.put("/api/sessions/{session_id}/lesson", tags=["lessons"])
def move(
    body: LessonMove, session: SessionDep, manager: ManagerDep, request: Request
) -> Response:
    """Follow lesson ``name`` at ``step`` (entering a step applies its settings)."""
    feed = feed_of(session)
    if body.name is None:
        feed.ui.lesson = None
    else:
        lesson = lesson_named(body.name)
        if body.step >= len(lesson.steps):
            raise ApiError(
                422,
                f"step: {body.step} is past the lesson's last step {len(lesson.steps) - 1}",
                field="step",
            )
        feed.refresh_local(session, manager)
        with feed.lock:
            frame = feed.frame
        facts = lesson_view.facts_of(frame, session.public(), feed) if frame else {}
        lesson_view.enter(session, manager, feed, lesson, body.step, facts)
    publish_look(session, feed)
    session.hub.wake()
    answer = _answer(_progress(session, manager, i18n.request_lang(request)))
    # web replicas: the place kept for whichever one shows the session next (after the
    # answer's judging, which notes the step's starting marker)
    ui_store.save(manager, session, feed.ui)
    return answer


@router.post("/api/sessions/{session_id}/lesson/act", tags=["lessons"])
def act(
    session: SessionDep, manager: ManagerDep, settings: SettingsDep, request: Request
) -> Response:
    """Do what the current step asks: one phase, one iteration, its run, the gradient check."""
    feed = feed_of(session)
    state = feed.ui.lesson
    if state is None:
        raise ApiError(409, "lesson: the session's page follows no lesson", field="lesson")
    step = lesson_named(state.name).steps[state.step]
    if step.act == "phase":
        manager.step(session, None, None, "next", frozenset())
    elif step.act == "iteration":
        manager.step(session, 1, None, None, frozenset())
    elif step.act == "gradcheck":
        result = checked(session, manager, settings, 1e-5, DEFAULT_SAMPLE, 0)
        feed.ui.gradients_checked = (session.generation, int(result["step"]), result)
    elif step.run is not None:
        steps = step.run.iterations
        if step.run.epochs is not None:
            with session.lock:
                steps = step.run.epochs * manager.load(session).iterations_per_epoch
        if steps is not None and steps > settings.max_run_steps:
            raise limit_error("steps", "max_run_steps", steps, settings.max_run_steps)
        manager.run(session, steps, step.run.speed)
    session.hub.wake()
    answer = _answer(_progress(session, manager, i18n.request_lang(request)))
    ui_store.save(manager, session, feed.ui)  # web replicas: the step's marker, the check
    return answer


# ---- pages -------------------------------------------------------------------------------------


@router.get("/lessons", response_class=HTMLResponse, include_in_schema=False)
def lessons_page(request: Request) -> HTMLResponse:
    """Every lesson, with its claim, as links."""
    lang = i18n.request_lang(request)
    return templating.page(request, "lessons.html", {"lessons": lesson_rows(lang), "lang": lang})


@router.get("/lessons/{name}", response_class=HTMLResponse, include_in_schema=False)
def lesson_page(
    request: Request,
    name: str,
    owner: OwnerDep,
    manager: ManagerDep,
    s: str | None = None,
    hide: str | None = None,
) -> HTMLResponse:
    """The playground set up as lesson ``name``'s first step: it makes the session (as ``/``
    does) and reopens as ``/?s=<id>&lesson=<name>``."""
    lesson = LESSONS.get(name)
    lang = i18n.request_lang(request)
    if lesson is None:
        missing = {"lessons": lesson_rows(lang), "lang": lang, "missing": name}
        return templating.page(request, "lessons.html", missing, 404)
    hidden = controls.hidden_set(hide)
    config = lesson.config_at(0)
    with i18n.using(lang):
        context = controls.page_context(None, controls.normalized(config), hidden)
    context.update(
        lang=lang,
        boot_json=json.dumps({"config": config, "name": lesson.title.pick(lang)}),
        error=None,
        hide_param=hide or "",
        boot_lesson=name,
    )
    return templating.page(request, "index.html", context)


def follow(session: Any, manager: Any, name: str | None, hidden: set[str]) -> dict[str, Any]:
    """The first page of ``session`` (``/?s=``), following lesson ``name`` when the link names
    one the page does not follow yet (from its first step: the session was made from it)."""
    feed = feed_of(session)
    if name in LESSONS and (feed.ui.lesson is None or feed.ui.lesson.name != name):
        lesson_view.start(feed, name)
        ui_store.save(manager, session, feed.ui)  # web replicas: followed wherever shown
    return first_page(session, manager, hidden)
