"""A page feed's loss curves and how they read a session's history.

The curves of the page (app/page/draw/charts.py) are built from the step records the session
publishes: at first (and after a reset or a history cut back) from the database, then from the
hub's ring of recent records between two frames. While a lesson is followed the last batch
losses are kept as well (app/lessons/facts.py reads them).
"""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from app.page.draw import charts

HISTORY_ROWS = 20_000  # metric rows read back into the curves at most
BATCH_LOSSES = 200  # a lesson's facts read this many (app/lessons/facts.ROUGHNESS_STEPS)


@dataclass
class Curves:
    """The curves of one generation and where their reading of the history stands."""

    chart: charts.Curves
    generation: int = -1
    rewinds: int = 0  # the hub's rewinds when the curves were loaded
    cursor: int = 0  # the last step record (seq) taken in
    settled: tuple[int, int] = (-1, -1)  # (generation, step) of the closing point
    version: int = 0  # bumped whenever a point is added
    # the last steps' batch losses, while a lesson is followed (app/lessons/facts.py)
    losses: deque[float] = field(default_factory=lambda: deque(maxlen=BATCH_LOSSES))


def take_history(c: Curves, session: Any, store: Any, lesson: bool) -> None:
    """Bring the curves ``c`` up to the records published since the last frame: from the hub's
    ring of recent records, or from the database when the ring has moved past (a small
    net trains more steps between two frames than the ring holds), or all of them again
    for a new generation or after the history was cut back."""
    hub = session.hub
    if c.generation != session.generation or c.rewinds != hub.rewinds:
        c.chart = charts.Curves()
        c.generation, c.rewinds, c.cursor = session.generation, hub.rewinds, hub.last_seq
        c.version += 1
        c.losses.clear()
        for text in store.history(session.id, session.generation, 0, HISTORY_ROWS, 1, True):
            c.chart.add(json.loads(text))
        return
    upto = hub.last_seq
    records = hub.read_ring(c.cursor, HISTORY_ROWS)
    if records is None:
        records = store.metrics_between(session.id, c.generation, c.cursor, upto)
        c.cursor = upto
    for seq, text in records:
        c.cursor = max(c.cursor, seq)
        if '"metrics"' in text or lesson:
            rec = json.loads(text)
            if rec.get("generation") != c.generation:
                continue
            if lesson and isinstance(rec.get("loss"), (int, float)):
                c.losses.append(float(rec["loss"]))
            if "metrics" in rec:
                c.chart.add(rec)
                c.version += 1

