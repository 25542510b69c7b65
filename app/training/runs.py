"""What a training worker (app/training/worker.py) holds: its options, and each run it trains
with the pacing state of its frames, pictures, metrics, checkpoints and replay keyframes.

Frames are paced by deadline (:class:`app.streaming.demand.Pacer`); a worker the OS leaves
unscheduled for a few hundred milliseconds (a busy machine) makes up the weight frames it
missed, up to ``FRAME_MAKE_UP`` periods, one per slice, rather than losing them: a client asked
for a rate. Page frames are made by :meth:`Run.page_frame` (app/page/frames.py).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from app.page import frames
from app.streaming.demand import Pacer
from app.training.messages import RunSpec
from app.training.transfer import dumps

FRAME_MAKE_UP = 10  # periods
# page frames of a run on their way to the web process, not yet taken for drawing
# (messages.Drawn): two, so the next is on its way while the web process draws one and the
# round trip (the run's turn in the worker's round, the render thread's queue) does not set
# the rate (with one, 30 learners got 13-18 frames a second instead of 27); a web process
# that cannot keep up is then sent at most two frames per one it draws. A transport with a
# longer round trip (a Ray actor gathers its messages for 20 ms) sets more in Options.
PAGE_CREDIT = 2
# ... but a page is never stalled for good by a Drawn that did not come: after this long
# without one, the frames on their way are taken as lost
CREDIT_SECONDS = 2.0


@dataclass
class Options:
    """Settings a worker needs (a copy of the web process's, picklable)."""

    slice_s: float
    round_s: float
    metrics_interval_s: float
    checkpoint_s: float
    nice: int
    replay_every: int = 0  # steps between replay's keyframes (app/sessions/keyframes.py); 0: none
    replay_bytes: float = 2**20  # a session's keyframe budget (app/training/keyframe.py)
    page_credit: int = PAGE_CREDIT  # page frames of a run on their way at most


@dataclass
class Run:
    """A session training in this worker."""

    sid: str
    trainer: Any
    spec: RunSpec
    tokens: float = 1.0
    token_time: float = field(default_factory=time.monotonic)
    step_cost: float = 1e-4  # seconds per step, a moving average sizing each chunk
    frames: Pacer = field(default_factory=lambda: Pacer(make_up=FRAME_MAKE_UP))
    pages: Pacer = field(default_factory=Pacer)
    pictures_at: float = -1e9  # when the page frames last carried heatmaps
    explained_at: float = -1e9  # ... and the explain panels' numbers
    last_metrics: float = 0.0
    last_checkpoint: float = field(default_factory=time.monotonic)
    known: set[int] = field(default_factory=set)  # trajectory steps the web process holds
    key_every: int = 0  # steps between its replay keyframes; 0: none
    held: bool = False  # at its race's step cap, out of the queue until a Cap raises it
    pages_out: int = 0  # page frames sent and not taken yet (at most PAGE_CREDIT)
    page_sent: float = 0.0  # when the last one was sent (monotonic)

    def send_trainer(self, delta: bool) -> bytes:
        """The trainer for the web process, without the dataset (it has it) and, with ``delta``,
        without the trajectory points it received before."""
        blob = dumps(self.trainer, self.known if delta else set())
        self.known = set(self.trainer.trajectory.steps)
        return blob

    def frame_due(self, step: int, now: float) -> bool:
        d = self.spec.demand
        if not d.frames or not (d.every or d.fps) or (d.every and step % d.every):
            return False
        return not d.fps or self.frames.due(d.fps, now)

    def page_due(self, now: float, credit: int = PAGE_CREDIT) -> bool:
        """Is a page frame due: asked for, its time come, and fewer than ``credit`` on their
        way (none is made while the web process is behind drawing them)."""
        fps = self.spec.demand.pages
        if not fps:
            return False
        if self.pages_out >= credit:
            if now - self.page_sent < CREDIT_SECONDS:
                return False
            self.pages_out = 0
        return self.pages.due(fps, now)

    def page_sent_now(self, now: float) -> None:
        self.pages_out += 1
        self.page_sent = now

    def page_frame(self, pictures: bool, explain: bool = True) -> bytes:
        """A page frame of the trainer now, pickled; ``pictures``: with the heatmaps;
        ``explain``: with the explain panels' numbers."""
        look = self.spec.demand.look or frames.Look()
        return frames.build(self.trainer, self.spec.generation, look, pictures, explain).encode()
