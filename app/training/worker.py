"""A training worker process: runs sessions' trainers in fair time slices, off the web process.

Training is CPU-bound Python and NumPy; in the web process it would share one GIL with the event
loop, the stream writers and the database writer, and 100 running sessions would slow every
request. So the web process (app/training/pool.py) hands a running session's whole trainer to a
worker process, which trains it and sends back encoded batches (app/training/output.py), and the
trainer itself when the run ends or the web process asks for it back.

Messages (every one of them is in app/training/messages.py): :class:`Start` hands a run over,
:class:`Slice` carries back what each time slice produced; a run ends by itself (its budget
spent, or diverged) or on :class:`Stop`, and its trainer then comes back.

Trainers travel as app/training/transfer.py blobs: after the first, without the dataset; copies
(asked for by readers of a running session) also without the trajectory points the web process
already holds (unless ``full``). Pages never need the trainer: the worker makes their frames
(app/page/frames.py: a few hundred bytes to a few kB) at the rate they ask.

Scheduling is round-robin over the runs: one slice each, then the tail of the queue; a run over
its speed limit sleeps until its tokens refill. A round aims at ``round_s``, or at 80 % of the
shortest frame period when a subscriber wants frames (a frame needs a slice); the
slices (``target / n``, at most ``slice_s``) shrink while measured rounds overrun the target,
because each slice also pays fixed costs (encoding, frames, the pipe) that grow with ``n``.
Weight frames and page frames are paced by deadline (:class:`Pacer`),
so a subscriber at 10 fps gets 10 frames a second even though slices end at arbitrary times
(frames missed while the worker was not scheduled, up to ``FRAME_MAKE_UP`` periods, are made up).
Page frames are pushed rather than asked for: a page then never waits for a reply from a
worker that the operating system has not scheduled yet. But a run has at most
``runs.PAGE_CREDIT`` of them on their way: the next is made once the web process has taken
the last for drawing (messages.Drawn), so a web process that draws fewer than the pages ask
for (a class of 100) is sent no more than it draws.
"""

from __future__ import annotations

import contextlib
import gc
import heapq
import itertools
import os
import time
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from threadpoolctl import threadpool_limits

from app.page import frames
from app.training import keyframe
from app.training.messages import (
    Budget,
    Cap,
    Configure,
    Copy,
    Drawn,
    Lost,
    Quit,
    Reply,
    Slice,
    Start,
    Stop,
    ToWorker,
    Want,
)
from app.training.output import Batch, pack
from app.training.runs import Options, Run
from app.training.transfer import loads
from engine.inspect import readouts

MIN_SLICE = 0.0001  # a slice still runs at least one step
CHUNK_SECONDS = 0.001  # steps between two looks at the pipe inside a slice
FLUSH_SECONDS = 0.004  # batches gathered into one pipe message for at most this long
PICTURE_SECONDS = 0.25  # page frames carry fresh heatmaps at most this often
PICTURE_SHARE = 0.15  # ... and take at most about this share of a worker's time
PICTURE_OLDEST = 2.0  # ... but are never older than this (seconds)


# ---- the worker ----------------------------------------------------------------------------------


class Worker:
    def __init__(self, conn: Connection, options: Options) -> None:
        self.conn = conn
        self.opt = options
        self.runs: dict[str, Run] = {}
        # queued runs; one stopped and sent again is a new Run, and its old entries are skipped
        self.ready: deque[Run] = deque()
        self.sleeping: list[tuple[float, int, Run]] = []
        self.tie = itertools.count()
        self.outbox: list[tuple[Any, ...]] = []
        self.last_flush = time.monotonic()
        self.scale = 1.0  # slice shrink factor, adapted to the measured round time
        self.round_start = time.monotonic()
        self.round_slices = 0
        self.target = options.round_s  # the round time aimed at (target_round, once a round)
        self.picture_cost = 0.002  # seconds a page frame with heatmaps costs, a moving average

    def serve(self) -> None:
        while True:
            now = time.monotonic()
            while self.sleeping and self.sleeping[0][0] <= now:
                self.ready.append(heapq.heappop(self.sleeping)[2])
            if self.ready:
                wait: float | None = 0.0
            else:
                self.flush()
                # bounded: a far wake time (a tiny speed) must not overflow poll's timeout
                wait = min(max(0.0, self.sleeping[0][0] - now), 60.0) if self.sleeping else None
            if self.conn.poll(wait):
                while True:
                    # EOFError from recv: the web process is gone (main() ends quietly)
                    if not all(self.command(msg) for msg in self.conn.recv()):
                        self.flush()
                        return
                    if not self.conn.poll():
                        break
            if self.ready:
                run = self.ready.popleft()
                sid = run.sid
                if self.runs.get(sid) is run:
                    try:
                        wake = self.slice(run, self.next_slice())
                    except Exception as exc:  # one broken run must not end the others
                        self.runs.pop(sid, None)
                        self.outbox.append(Lost(sid, f"{type(exc).__name__}: {exc}"))
                        wake = None
                    self.schedule(run, wake)
            if time.monotonic() - self.last_flush >= FLUSH_SECONDS:
                self.flush()

    def flush(self) -> None:
        if self.outbox:
            self.conn.send(self.outbox)
            self.outbox = []
        self.last_flush = time.monotonic()

    def target_round(self) -> float:
        demands = [r.spec.demand for r in self.runs.values()]
        fps = max((max(d.fps if d.frames else 0.0, d.pages) for d in demands), default=0.0)
        # a frame needs a slice, and deadline pacing keeps the rate while a round is shorter
        # than the frame period: 80 % of it leaves room for jitter. Longer rounds than
        # round_s are fine then (fewer, larger batches: less fixed cost per step).
        return 0.8 / fps if fps else self.opt.round_s

    def next_slice(self) -> float:
        """The next slice's length; every ``n`` slices, adapt the scale to the round time."""
        n = max(1, len(self.runs))
        self.round_slices += 1
        if self.round_slices >= n:
            self.target = self.target_round()
            now = time.monotonic()
            measured = now - self.round_start
            if measured > self.target:
                self.scale = max(0.02, self.scale * max(0.5, self.target / measured))
            else:
                self.scale = min(1.0, self.scale * 1.1)
            self.round_start, self.round_slices = now, 0
        return max(MIN_SLICE, min(self.opt.slice_s, self.scale * self.target / n))

    def schedule(self, run: Run, wake: float | None) -> None:
        if wake is None:
            return
        if wake <= time.monotonic():
            self.ready.append(run)
        else:
            heapq.heappush(self.sleeping, (wake, next(self.tie), run))

    # ---- commands ----------------------------------------------------------------------------

    def command(self, msg: ToWorker) -> bool:
        """Obey one message; False on :class:`Quit`."""
        if isinstance(msg, Quit):
            return False
        if isinstance(msg, Drawn):
            for sid in msg.sids:
                taken = self.runs.get(sid)
                if taken is not None:  # one of an earlier run's makes no harm: at least 0
                    taken.pages_out = max(0, taken.pages_out - 1)
            return True
        run: Run | None = self.runs.get(msg.sid)
        if isinstance(msg, Start):
            trainer = loads(msg.blob)
            # the web process keeps the points it sent (transfer.points_of)
            known = set(trainer.trajectory.steps)
            self.runs[msg.sid] = Run(msg.sid, trainer, msg.spec, known=known)
            if self.opt.replay_every:
                self.runs[msg.sid].key_every = self.key_every(keyframe.encode(trainer))
            self.ready.append(self.runs[msg.sid])
        elif isinstance(msg, Budget) and run is not None:
            run.spec.budget, run.spec.speed = msg.budget, msg.speed
            run.tokens, run.token_time = 1.0, time.monotonic()
        elif isinstance(msg, Cap) and run is not None:
            run.spec.cap = msg.cap
            if run.held:  # waiting at the old cap: back in the queue
                run.held = False
                self.ready.append(run)
        elif isinstance(msg, Want) and run is not None:
            run.spec.demand = msg.demand
        elif isinstance(msg, Stop | Copy):
            if isinstance(msg, Stop):
                self.runs.pop(msg.sid, None)
            # a stop is answered whole: the run ends here, so there is no second try
            delta = isinstance(msg, Copy) and not msg.arg
            blob = None if run is None else run.send_trainer(delta)
            self.outbox.append(Reply(msg.req, blob, None if run is None else run.spec.budget))
            self.flush()
        elif isinstance(msg, Configure):
            self.outbox.append(Reply(msg.req, self.configure(run, msg.arg), None))
            self.flush()
        return True

    def key_every(self, blob: bytes) -> int:
        """Steps between a run's periodic keyframes of this size (app/training/keyframe.py)."""
        return keyframe.interval(self.opt.replay_every, len(blob), self.opt.replay_bytes)

    def configure(self, run: Run | None, changes: dict[str, Any]) -> tuple[str, Any] | None:
        """A live hyper-parameter change (optimizer, schedule, regularization, clipping, batch
        size, probe), applied between two slices; None when the run has ended. The slice after
        it checkpoints: a restart then replays the steps after the change with the new
        settings (app/sessions/recovery.py), not the old ones."""
        if run is None:
            return None
        try:
            run.trainer.set_hparams(changes)
        except (ValueError, TypeError) as exc:
            return ("error", str(exc))
        run.last_checkpoint = -1e9
        if self.opt.replay_every:
            # replay's event keyframe: the steps after this one run with the new settings;
            # queued before the reply, so it is written before the request's own write
            t = run.trainer
            key = (t.iteration, "event", keyframe.encode(t))
            run.key_every = self.key_every(key[2])  # (another optimizer: another size)
            self.outbox.append(
                Slice(run.sid, Batch(keyframes=[key]), run.spec.budget, None, None, None)
            )
        return ("ok", run.trainer.config)

    # ---- one time slice ----------------------------------------------------------------------

    def slice(self, run: Run, slice_s: float) -> float | None:
        """Train ``run`` for about ``slice_s`` seconds and queue its batch; returns when to run
        it next (monotonic time) or None when the run ended."""
        t, spec = run.trainer, run.spec
        now = time.monotonic()
        deadline = now + slice_s
        records: list[dict[str, Any]] = []
        keys: list[tuple[int, str, bytes]] = []  # replay's periodic keyframes
        every_key = run.key_every
        frame = page = False
        while True:
            # chunks of about CHUNK_SECONDS, so a waiting request (a copy, a pause) is
            # answered within one chunk rather than one slice
            k = min(max(1, int(min(deadline - now, CHUNK_SECONDS) / run.step_cost)), spec.budget)
            if spec.speed:
                # token bucket: at most speed steps/s, bursts of 50 ms worth
                run.tokens = min(
                    run.tokens + (now - run.token_time) * spec.speed, max(1.0, spec.speed * 0.05)
                )
                run.token_time = now
                if run.tokens < 1:
                    break
                k = min(k, int(run.tokens))
            every = spec.demand.every if spec.demand.frames else 0
            if every:
                k = min(k, every - t.iteration % every)
            if every_key:  # a chunk ends at a keyframe's step
                k = min(k, every_key - t.iteration % every_key)
            if spec.cap is not None:  # a race's lock-step: no further than the cap
                k = min(k, spec.cap - t.iteration)
                if k <= 0:
                    break
            t0 = time.perf_counter()
            recs = t.step(k)
            if recs:
                run.step_cost = 0.7 * run.step_cost + 0.3 * (time.perf_counter() - t0) / len(recs)
                run.tokens -= len(recs)
                spec.budget -= len(recs)
                records += recs
                if every_key and t.iteration % every_key == 0 and t.status == "ok":
                    keys.append((t.iteration, "step", keyframe.encode(t)))
            now = time.monotonic()
            frame = run.frame_due(t.iteration, now)
            page = run.page_due(now, self.opt.page_credit)
            if frame or page:
                break  # end the slice here: the frame shows this step
            if t.status != "ok" or spec.budget <= 0 or now >= deadline or self.conn.poll():
                break
        ended = "diverged" if t.status == "diverged" else "finished" if spec.budget <= 0 else None
        metrics = None
        # full-set metrics cost a forward pass over all data: only every metrics_interval
        if records and (ended or now - run.last_metrics >= self.opt.metrics_interval_s):
            metrics, run.last_metrics = readouts.metrics(t), now
        checkpoint = bool(ended) or now - run.last_checkpoint >= self.opt.checkpoint_s
        if checkpoint:
            run.last_checkpoint = now
        if records or frame or page or ended or checkpoint:
            batch: Batch = pack(
                t,
                records,
                seq_base=spec.seq_base,
                generation=spec.generation,
                metrics=metrics,
                frame=spec.demand.views if frame or ended else None,
                checkpoint=checkpoint,
                keyframes=keys,
            )
            blob = None
            # the last frame of a run too: the page shows where it stopped
            drawn = (
                self.page_frame(run, now, bool(ended))
                if page or (ended and spec.demand.pages)
                else None
            )
            if drawn is not None:
                run.page_sent_now(now)
            if ended:
                del self.runs[run.sid]
                blob = run.send_trainer(delta=False)
            self.outbox.append(Slice(run.sid, batch, spec.budget, ended, blob, drawn))
        if ended:
            return None
        if spec.cap is not None and t.iteration >= spec.cap:
            run.held = True  # a Cap message puts it back in the queue
            return None
        if spec.speed and run.tokens < 1:
            return now + (1 - run.tokens) / spec.speed
        return 0.0

    def page_frame(self, run: Run, now: float, last: bool = False) -> bytes:
        """A page frame of ``run`` now. Its heatmaps (the decision surface and two PNGs: most
        of a frame's cost) are redrawn at most every PICTURE_SECONDS, and less often when
        this worker's runs together would spend over PICTURE_SHARE of its time on them: a
        class of 100 keeps its frame rate, and a heatmap is PICTURE_OLDEST old at most. The
        explain panels' numbers come every EXPLAIN_SECONDS, and with a run's ``last`` frame."""
        explain = last or now - run.explained_at >= frames.EXPLAIN_SECONDS
        if explain:
            run.explained_at = now
        interval = max(PICTURE_SECONDS, len(self.runs) * self.picture_cost / PICTURE_SHARE)
        pictures = now - run.pictures_at >= min(interval, PICTURE_OLDEST)
        if not pictures:
            return run.page_frame(False, explain)
        run.pictures_at = now
        t0 = time.perf_counter()
        blob = run.page_frame(True, explain)
        self.picture_cost = 0.8 * self.picture_cost + 0.2 * (time.perf_counter() - t0)
        return blob


def yield_to_requests(nice: int) -> None:
    """Make this thread's niceness at least ``nice``, so the web process (requests, streams)
    comes first: not ``nice`` on top of what it has, as Ray starts its workers at niceness 15
    already, and an actor's trainer at 19 starved on a busy machine. (On Linux a niceness is
    a thread's: the worker's thread in a Ray actor, its process's main thread elsewhere.)"""
    now = os.nice(0)
    if nice > now:
        os.nice(nice - now)


def main(conn: Connection, options: Options) -> None:
    """Entry point of a worker process."""
    yield_to_requests(options.nice)
    gc.freeze()  # the imported engine lives as long as we do: out of the full collections
    # one BLAS thread: the workers are the parallelism. OpenBLAS's own threads spin-wait for
    # each other, and on a busy machine that made a 13.8k-parameter net (digits-mlp) train at
    # 13 steps/s instead of ~2,000
    threadpool_limits(1)
    # EOF or a broken pipe: the web process went away, and there is nobody to hand runs back to
    with contextlib.suppress(EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        Worker(conn, options).serve()
