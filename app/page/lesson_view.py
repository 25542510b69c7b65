"""The lesson a page follows: its region (``templates/regions/lesson.html``) and its moves.

The page feed keeps the learner's place (``feed.ui.lesson``, a
:class:`~app.lessons.progress.LessonState`). Every rendering of a frame gathers the facts the
frame and the feed hold (:func:`app.lessons.facts.gather`) and judges the current step's checks
in the page's language; the region is re-sent when a verdict, a value or the step changed.

Moves (:func:`enter`): entering a step applies its settings — the lesson's config with every
setup up to that step, by a reset in one request, so the step starts from fresh weights as the
claim assumes — unless the session already has exactly those settings and has not trained
since (the step before changed nothing: the learner goes on from where they are).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from app.lessons.facts import gather
from app.lessons.model import LESSONS, Lesson
from app.lessons.progress import LessonState, leave, progress
from app.page import i18n
from app.page.templating import render_block
from engine.config import normalize_config


def facts_of(frame: Any, public: dict[str, Any], feed: Any) -> dict[str, Any]:
    """The lesson facts of ``frame`` (app/page/frames.py) of the session ``public``."""
    checked = feed.ui.gradients_checked
    gc = None
    if checked is not None and checked[:2] == (public["generation"], frame.snap.get("iteration")):
        gc = checked[2]  # a check of these very weights
    return gather(public, frame.snap, feed.curves.chart, feed.curves.losses, gc)


def lesson_data(frame: Any, public: dict[str, Any], feed: Any) -> dict[str, Any] | None:
    """The region's data (and the REST answer) in the language of the render under way."""
    state: LessonState | None = feed.ui.lesson
    lesson = LESSONS.get(state.name) if state is not None else None
    if state is None or lesson is None or frame is None:
        return None
    facts = facts_of(frame, public, feed)
    data = progress(lesson, state, facts, public["config"], feed.curves.chart, i18n.CURRENT.get())
    data["facts"] = facts
    data["race"] = lesson.race
    return data


def render(
    frame: Any, public: dict[str, Any], feed: Any, view: Any, due: Callable[[str, Any], bool]
) -> dict[str, str]:
    """The lesson region when what it shows changed (nothing when no lesson is followed and
    none was before)."""
    data = lesson_data(frame, public, feed)
    view.parts["lesson"] = data
    if not due("lesson", json.dumps(data, sort_keys=True, default=str)):
        return {}
    return {"lesson": render_block("lesson", {"regions": {"lesson": data}, "sid": public["id"]})}


def start(feed: Any, name: str) -> LessonState:
    """Follow lesson ``name`` from its first step (the page's session was made from it)."""
    state = LessonState(name)
    feed.ui.lesson = state
    return state


def differs_from_step(session: Any, lesson: Lesson, k: int) -> bool:
    """Does the session need a reset to be step ``k``'s start?"""
    want = normalize_config(lesson.config_at(k))
    return want != normalize_config(session.config) or session.counters.get("iteration", 0) > 0


def enter(
    session: Any, manager: Any, feed: Any, lesson: Lesson, k: int, facts: dict[str, Any]
) -> LessonState:
    """Leave the current step (its ``record`` facts are kept) and enter step ``k``: its
    settings by one reset when the step has a setup, or when going back or starting over."""
    state: LessonState | None = feed.ui.lesson
    if state is None or state.name != lesson.name:
        state = LessonState(lesson.name)
    elif k > state.step:
        leave(lesson, state, facts)
    going_back = k <= state.step
    step = lesson.steps[k]
    if (step.setup or going_back or k == 0) and differs_from_step(session, lesson, k):
        manager.reset(session, config=lesson.config_at(k))
    fresh = LessonState(lesson.name, k, dict(state.recorded))
    if k == 0 and going_back:
        fresh.recorded = {}
    feed.ui.lesson = fresh
    return fresh
