"""The page's state of a session, kept where every web replica reads it.

One process keeps a session's page state (app/page/words.py ``UiState``) in its page feed, for
as long as the session exists. Web replicas (app/sessions/replicas.py) must not: a session
moves to another replica when its holder dies or lets it go, and the page that replica serves
must show what was set through the first. So with replicas on, every change is also written to
Redis (``bpp:<id>:ui``, app/sessions/leases.py, one JSON value) and a replica that adopts a
session reads it back into the feed it makes (:func:`restore`, the manager's ``on_adopt``).
Without replicas nothing here runs.

Kept: the view settings (:data:`KEPT`: the network view, log scale, test points, discrete
output, fixed scale, the loss surface asked for, the weight the explain panels follow), the
followed lesson (its name, step, the facts recorded from the steps left and the run's marker
when the step was first judged: app/lessons/progress.py ``LessonState``) and the last gradient
check ``(generation, step, result)``, which a lesson's facts read while it is of the weights
shown. So a replica that adopts the session shows the learner's lesson at the same step with
the same recorded facts. The lesson and the check are saved where they change (app/page/
lessons.py, app/page/gradcheck_panel.py); a lesson no longer known (renamed between versions)
is dropped, as a page following none.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.core.errors import ApiError
from app.lessons.model import LESSONS
from app.lessons.progress import LessonState
from app.page.feed import feed_of
from app.page.words import UiState

log = logging.getLogger(__name__)

KEPT = (
    "view", "view_marker", "log_scale", "show_test", "discretize", "fixed_scale", "frozen",
    "surface", "surface_version", "edge",
)  # fmt: skip


def encode_kept(ui: UiState) -> str:
    """The kept state as JSON text (tuples go as lists: :func:`apply` makes them tuples)."""
    saved: dict[str, Any] = {key: getattr(ui, key) for key in KEPT}
    state = ui.lesson
    if isinstance(state, LessonState):
        saved["lesson"] = {
            "name": state.name, "step": state.step, "recorded": state.recorded,
            "mark": state.mark,
        }  # fmt: skip
    saved["gradients_checked"] = ui.gradients_checked
    return json.dumps(saved, sort_keys=True)


def apply(ui: UiState, text: str) -> None:
    """Set the kept state from :func:`encode_kept`'s text (tuples come back as tuples)."""
    saved = json.loads(text)
    for key in KEPT:
        if key in saved:
            setattr(ui, key, saved[key])
    if ui.edge is not None:
        ui.edge = (int(ui.edge[0]), int(ui.edge[1]), int(ui.edge[2]))
    ui.frozen = {view: (float(a), float(b), float(c)) for view, (a, b, c) in ui.frozen.items()}
    lesson = saved.get("lesson")
    if isinstance(lesson, dict) and lesson.get("name") in LESSONS:
        mark = lesson.get("mark")
        ui.lesson = LessonState(
            str(lesson["name"]),
            int(lesson.get("step", 0)),
            dict(lesson.get("recorded") or {}),
            None if mark is None else tuple(mark),
        )
    checked = saved.get("gradients_checked")
    if checked is not None:
        generation, step, result = checked
        ui.gradients_checked = (int(generation), int(step), dict(result))


def save(manager: Any, session: Any, ui: UiState) -> None:
    """Keep the session's page state for every replica (nothing without replicas)."""
    leases = manager.leases
    if leases is None:
        return
    try:
        leases.put_page(session.id, encode_kept(ui))
    except ApiError as exc:  # Redis out of reach: this replica's page still has them
        log.warning("page settings of %s not shared: %s", session.id, exc.body.get("detail"))


def restore(manager: Any, session: Any) -> None:
    """A session this replica adopted: its page feed, with the state kept for it."""
    text = manager.leases.page_of(session.id)
    if text is not None:
        apply(feed_of(session).ui, text)
