"""What a session's subscribers want, and how often: weight frames, page frames, pacing.

A :class:`Frame` is a weight frame (the trainer's snapshot as JSON text) that the hub queues for
the JSON stream's subscribers; :class:`Demand` sums up what all of a session's subscribers want,
and reaches the producer (a training worker, app/training/worker.py) whenever it changes;
:class:`Pacer` paces frames by deadline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Frame:
    """A weight frame: the trainer's snapshot at step ``step`` as JSON text."""

    seq: int
    step: int
    json: str


@dataclass(frozen=True)
class Demand:
    """What a session's subscribers want in weight frames, taken together: a frame at every
    ``every``-th step and/or ``fps`` times a second (0 = no constraint), with the views
    ``include``; ``frames`` False = nobody wants frames. ``pages``: page frames a second for
    the pages that draw the session (app/page/frames.py), drawn as ``look`` says (a
    :class:`app.page.frames.Look`, or None for the default)."""

    frames: bool = False
    every: int = 0
    fps: float = 0.0
    include: frozenset[str] = frozenset()
    pages: float = 0.0
    look: Any = None

    @property
    def views(self) -> frozenset[str] | None:
        return self.include if self.frames else None


@dataclass
class Pacer:
    """Deadline pacing at ``fps`` a second: the average rate holds even though the checks come
    at arbitrary times, because a tick up to ``make_up`` periods late is made up by the next
    ones coming sooner (at most one per check); later than that, the schedule starts again
    one period from now."""

    next: float = 0.0
    make_up: float = 1.0

    def due(self, fps: float, now: float) -> bool:
        if now < self.next:
            return False
        period = 1.0 / fps
        late = now - self.next
        self.next = self.next + period if late < (1.0 + self.make_up) * period else now + period
        return True
