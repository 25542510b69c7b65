"""Every message between the web process and a training worker, in one place.

Messages travel over one duplex ``multiprocessing`` pipe per worker, in lists (whatever queued
meanwhile goes in one write); each side reads them in order, so a reply never overtakes the
slices the worker sent before it. Trainers travel as app/training/transfer.py blobs.

web → worker (app/training/pool.py sends, app/training/worker.py ``Worker.command`` obeys):

- :class:`Start` — train this session: its trainer (``blob``) and how (:class:`RunSpec`).
- :class:`Budget` — the running session's new step budget and speed limit.
- :class:`Cap` — a race run's new step cap (lock-step: app/sessions/races.py).
- :class:`Want` — what its subscribers now want (:class:`app.streaming.demand.Demand`: weight
  frames, page frames and how to draw them).
- :class:`Drawn` — the web process has taken a page frame of each of these sessions (drawn it,
  or dropped it for a newer one): the worker may send another. A worker has at most
  ``PAGE_CREDIT`` page frames of a session on their way, so it makes them no faster than the
  web process draws them (a class of 100 on two cores: 18 a second made, 6 drawn, before).
- :class:`Stop` — stop the run and send its trainer back (a :class:`Reply`).
- :class:`Copy` — send a copy of the trainer (``arg``: whole, or without the trajectory points
  sent before).
- :class:`Configure` — apply live hyper-parameter changes (``arg``) between two slices; the
  reply is ``("ok", config)`` or ``("error", message)``.
- :class:`Quit` — the web process is going away.

worker → web (the pool's receiver thread hands them to the session manager, app/sessions/
remote.py):

- :class:`Slice` — what one time slice produced (:class:`app.training.output.Batch`: step rows,
  a weight frame, a checkpoint), the budget left, ``ended`` (None, ``"finished"`` or
  ``"diverged"``), the trainer if it ended, and a pickled page frame (app/page/frames.py) when
  pages asked for one.
- :class:`Reply` — the answer to request ``req`` (None when the run had already ended).
- :class:`Lost` — the run failed in the worker (``error`` says how).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from app.streaming.demand import Demand


@dataclass
class RunSpec:
    """How to run a session handed to a worker."""

    seq_base: int
    generation: int
    budget: int
    speed: float | None
    demand: Demand
    # a race's lock-step (app/sessions/races.py): train no further than this iteration until
    # a :class:`Cap` raises it; None: no cap
    cap: int | None = None


class Start(NamedTuple):
    sid: str
    blob: bytes
    spec: RunSpec


class Budget(NamedTuple):
    sid: str
    budget: int
    speed: float | None


class Cap(NamedTuple):
    """A race run's new step cap (app/sessions/races.py; None lifts it)."""

    sid: str
    cap: int | None


class Want(NamedTuple):
    sid: str
    demand: Demand


class Drawn(NamedTuple):
    sids: tuple[str, ...]  # a session once per frame taken (told together: a message a frame
    # woke the web process's sender thread 1,000 times a second with 100 learners)


class Stop(NamedTuple):
    sid: str
    req: int
    arg: Any = None


class Copy(NamedTuple):
    sid: str
    req: int
    arg: bool = False  # whole (with the trajectory points the web process holds)


class Configure(NamedTuple):
    sid: str
    req: int
    arg: dict[str, Any] = {}  # noqa: RUF012 (a NamedTuple default is never mutated)


class Quit(NamedTuple):
    pass


class Slice(NamedTuple):
    sid: str
    batch: Any  # app.training.output.Batch
    budget: int
    ended: str | None
    trainer: bytes | None
    page: bytes | None


class Reply(NamedTuple):
    req: int
    value: Any
    budget: int | None


class Lost(NamedTuple):
    sid: str
    error: str


Request = Stop | Copy | Configure
ToWorker = Start | Budget | Cap | Want | Drawn | Request | Quit
FromWorker = Slice | Reply | Lost
