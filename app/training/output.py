"""A batch: what one stretch of training produced, encoded once where it was produced.

A training worker process packs each time slice into a :class:`Batch` (step records as JSON
text, an optional weight frame, an optional checkpoint); the web process only writes the rows and
forwards the text, so the cost of encoding stays with the training. Requests that step a session
in the web process (manual steps, edits) pack their results the same way.

Step records get a sequence number ``seq = seq_base + step``: it only grows, across resets too
(a reset moves ``seq_base`` past every number used), and it is the SSE event id.

A batch's weight frame is an :class:`app.streaming.demand.Frame`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.core.jsontext import encode
from app.streaming.demand import Frame
from app.training import keyframe
from engine.inspect import flow, readouts


@dataclass
class Batch:
    """Encoded output of a slice; ``rows`` are ``(seq, step, loss, has_metrics, json)``."""

    rows: list[tuple[int, int, float | None, int, str]] = field(default_factory=list)
    frame: Frame | None = None
    counters: dict[str, Any] | None = None
    checkpoint: str | None = None  # JSON text of Trainer.checkpoint()
    iteration: int = 0
    # replay's keyframes (app/sessions/keyframes.py): (step, "step" | "event", keyframe bytes)
    keyframes: list[tuple[int, str, bytes]] = field(default_factory=list)


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
    keyframes: list[tuple[int, str, bytes]] | None = None,
    event: str | None = None,
) -> Batch:
    """Encode ``records`` (from ``t.step``), full-set ``metrics`` (on the last record, with the
    per-layer gradient flow of that step under ``"flow"``: engine/inspect/flow.py), a frame
    of the views ``frame``, a checkpoint and replay's keyframes (``keyframes`` taken during the
    steps; ``event``: one more of the trainer now, of that kind, after a change), all stamped
    with one wall-clock time ``t`` (clients time their lag with it)."""
    now = round(time.time(), 4)
    rows = []
    last = len(records) - 1
    for i, rec in enumerate(records):
        seq = seq_base + rec["step"]
        data = {"seq": seq, "generation": generation, **rec, "t": now}
        if i == last and metrics is not None:
            data["metrics"] = metrics
            # the layers hold the last step's dW and pass: that of this record
            data["flow"] = flow.flow(t)
        rows.append((seq, rec["step"], data.get("loss"), int("metrics" in data), encode(data)))
    seq = seq_base + t.iteration
    picture = None
    if frame is not None:
        snap = readouts.snapshot(t, frame, arrays=True)  # encoded right here, arrays and all
        picture = Frame(
            seq, t.iteration, encode({"seq": seq, "generation": generation, "t": now, **snap})
        )
    keys = list(keyframes or [])
    if event is not None:
        keys.append((t.iteration, event, keyframe.encode(t)))
    return Batch(
        rows=rows,
        frame=picture,
        counters=counters_of(t),
        checkpoint=encode(t.checkpoint()) if checkpoint else None,
        iteration=t.iteration,
        keyframes=keys,
    )
