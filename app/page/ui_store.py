"""The page's view settings of a session, kept where every web replica reads them.

One process keeps a session's page settings (app/page/words.py ``UiState``: the network view,
log scale, test points, discrete output, fixed scale, the loss surface asked for, the weight
the explain panels follow) in its page feed, for as long as the session exists. Web replicas
(app/sessions/replicas.py) must not: a session moves to another replica when its holder dies
or lets it go, and the page that replica serves must show what was set through the first.
So with replicas on, every change is also written to Redis (``bpp:<id>:ui``,
app/sessions/leases.py) and a replica that adopts a session reads it back into the feed it
makes (:func:`restore`, the manager's ``on_adopt``). Without replicas nothing here runs.

Not kept: a followed lesson's progress and the last gradient check (a lesson restarts from
its step when its page is opened again), which change with the session's history.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from app.core.errors import ApiError
from app.page.feed import feed_of
from app.page.words import UiState

log = logging.getLogger(__name__)

KEPT = (
    "view", "view_marker", "log_scale", "show_test", "discretize", "fixed_scale", "frozen",
    "surface", "surface_version", "edge",
)  # fmt: skip


def encode_kept(ui: UiState) -> str:
    """The kept settings as JSON text."""
    return json.dumps({key: getattr(ui, key) for key in KEPT}, sort_keys=True)


def apply(ui: UiState, text: str) -> None:
    """Set the kept settings from :func:`encode_kept`'s text (tuples come back as tuples)."""
    saved = json.loads(text)
    for key in KEPT:
        if key in saved:
            setattr(ui, key, saved[key])
    if ui.edge is not None:
        ui.edge = (int(ui.edge[0]), int(ui.edge[1]), int(ui.edge[2]))
    ui.frozen = {view: (float(a), float(b), float(c)) for view, (a, b, c) in ui.frozen.items()}


def save(manager: Any, session: Any, ui: UiState) -> None:
    """Keep the session's page settings for every replica (nothing without replicas)."""
    leases = manager.leases
    if leases is None:
        return
    try:
        leases.put_page(session.id, encode_kept(ui))
    except ApiError as exc:  # Redis out of reach: this replica's page still has them
        log.warning("page settings of %s not shared: %s", session.id, exc.body.get("detail"))


def restore(manager: Any, session: Any) -> None:
    """A session this replica adopted: its page feed, with the settings kept for it."""
    text = manager.leases.page_of(session.id)
    if text is not None:
        apply(feed_of(session).ui, text)
