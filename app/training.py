"""One time slice of background training: what a worker thread does with a running session.

A slice steps the trainer in chunks sized from a moving average of the step cost, so it ends
near its deadline; it stops early at a step a subscriber wants a weight frame of (the snapshot
then matches that step exactly), when the run's budget is spent, when the speed limit's token
bucket is empty, or when training diverges. Everything the slice produced leaves through one
:meth:`~app.session.Session.emit`.
"""

from __future__ import annotations

import time
from typing import Any

from app.session import Session
from app.settings import Settings


def frame_views(session: Session) -> frozenset[str] | None:
    """The views subscribers want in a frame, or None when nobody wants frames."""
    hub = session.hub
    return hub.frame_include if any(sub.frames for sub in hub.subscribers) else None


def checkpoint_due(session: Session, settings: Settings) -> bool:
    return time.monotonic() - session.last_checkpoint >= settings.checkpoint_seconds


def run_slice(s: Session, slice_s: float, settings: Settings) -> float | None:
    """Train ``s`` for about ``slice_s`` seconds; returns when to run it next (monotonic time,
    0.0 for at once) or None when the run ended (finished, diverged, paused, deleted)."""
    with s.lock:
        if s.status != "running" or s.deleted:
            return None
        t, hub = s.trainer, s.hub
        now = time.monotonic()
        deadline = now + slice_s
        records: list[dict[str, Any]] = []
        frame = False
        while True:
            k = min(max(1, int((deadline - now) / s.step_cost)), s.budget)
            if s.speed:
                # token bucket: at most speed steps/s, bursts of 50 ms worth
                s.tokens = min(s.tokens + (now - s.token_time) * s.speed, max(1.0, s.speed * 0.05))
                s.token_time = now
                if s.tokens < 1:
                    break
                k = min(k, int(s.tokens))
            if hub.frame_every:
                k = min(k, hub.frame_every - t.iteration % hub.frame_every)
            t0 = time.perf_counter()
            recs = t.step(k)
            if recs:
                s.step_cost = 0.7 * s.step_cost + 0.3 * (time.perf_counter() - t0) / len(recs)
                s.tokens -= len(recs)
                s.budget -= len(recs)
                records += recs
            now = time.monotonic()
            if hub.frame_due(t.iteration, now):
                frame = True
                break  # end the slice at the frame: its snapshot matches its step
            if t.status != "ok" or s.budget <= 0 or now >= deadline:
                break
        if t.status == "diverged":
            s.status, s.reason = "diverged", "diverged"
        elif s.budget <= 0:
            s.status, s.reason = "finished", "budget"
        ended = s.status != "running"
        metrics = None
        # full-set metrics cost a forward pass over all data: only every metrics_interval
        if records and (ended or now - s.last_metrics >= settings.metrics_interval_ms / 1e3):
            metrics, s.last_metrics = t.metrics(), now
        s.emit(
            records,
            metrics=metrics,
            frame=frame_views(s) if frame or ended else None,
            status=ended,
            checkpoint=ended or checkpoint_due(s, settings),
        )
        if ended:
            return None
        if s.speed and s.tokens < 1:
            return now + (1 - s.tokens) / s.speed
        return 0.0
