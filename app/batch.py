"""A batch: what one stretch of training produced, encoded once where it was produced.

A training worker process packs each time slice into a :class:`Batch` (step records as JSON
text, an optional weight frame, an optional checkpoint); the web process only writes the rows and
forwards the text, so the cost of encoding stays with the training. Requests that step a session
in the web process (manual steps, edits) pack their results the same way.

Step records get a sequence number ``seq = seq_base + step``: it only grows, across resets too
(a reset moves ``seq_base`` past every number used), and it is the SSE event id.

What subscribers want of a batch (:class:`Demand`) and how often they get it (:class:`Pacer`,
shared by the workers' weight frames and page frames) live here too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.jsontext import encode


@dataclass
class Frame:
    """A weight frame: the trainer's snapshot at step ``step`` as JSON text."""

    seq: int
    step: int
    json: str


@dataclass
class Batch:
    """Encoded output of a slice; ``rows`` are ``(seq, step, loss, has_metrics, json)``."""

    rows: list[tuple[int, int, float | None, int, str]] = field(default_factory=list)
    frame: Frame | None = None
    counters: dict[str, Any] | None = None
    checkpoint: str | None = None  # JSON text of Trainer.checkpoint()
    iteration: int = 0


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


def counters_of(t: Any) -> dict[str, Any]:
    """The counters a session lists (SessionPublic) from trainer ``t``."""
    return {
        "iteration": t.iteration,
        "epoch": t.epoch,
        "samples_seen": t.samples_seen,
        "iterations_per_epoch": t.iterations_per_epoch,
        "n_params": t.n_params,
        "loss": t.loss if t.loss == t.loss else None,
        "divergence": t.divergence,
    }


def pack(
    t: Any,
    records: list[dict[str, Any]],
    *,
    seq_base: int,
    generation: int,
    metrics: dict[str, Any] | None = None,
    frame: frozenset[str] | None = None,
    checkpoint: bool = False,
) -> Batch:
    """Encode ``records`` (from ``t.step``), full-set ``metrics`` (on the last record), a frame
    of the views ``frame`` and a checkpoint, all stamped with one wall-clock time ``t`` (clients
    time their lag with it)."""
    now = round(time.time(), 4)
    rows = []
    last = len(records) - 1
    for i, rec in enumerate(records):
        seq = seq_base + rec["step"]
        data = {"seq": seq, "generation": generation, **rec, "t": now}
        if i == last and metrics is not None:
            data["metrics"] = metrics
        rows.append((seq, rec["step"], data.get("loss"), int("metrics" in data), encode(data)))
    seq = seq_base + t.iteration
    picture = None
    if frame is not None:
        snap = t.snapshot(frame, arrays=True)  # encoded right here, arrays and all
        picture = Frame(
            seq, t.iteration, encode({"seq": seq, "generation": generation, "t": now, **snap})
        )
    return Batch(
        rows=rows,
        frame=picture,
        counters=counters_of(t),
        checkpoint=encode(t.checkpoint()) if checkpoint else None,
        iteration=t.iteration,
    )
