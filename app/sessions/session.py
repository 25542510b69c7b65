"""One training session: a trainer behind a lock, its run settings, and how it records itself.

Everything that touches ``trainer`` holds ``lock`` (the engine is not thread-safe). A running
session's trainer lives in a training worker process (app/training/pool.py); its batches come
back through :meth:`Session.record`. Every change a client can observe leaves through ``record``
(directly or via :meth:`Session.emit`), so the order of database writes and stream events is the
order things happened. Sequence numbers are explained in app/training/output.py.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from app.core.history import HistoryStore
from app.core.writer import Write
from app.streaming.fanout import FanOut
from app.training.output import Batch, counters_of, pack

# what clients have been told: (status, reason, counters, config), as of the last commit
Shown = tuple[str, str | None, dict[str, Any], dict[str, Any]]


class Session:
    """State of one session; ``trainer`` is None until first needed (lazy after a restart)."""

    def __init__(
        self,
        *,
        id: str,
        owner: str,
        name: str,
        config: dict[str, Any],
        status: str,
        generation: int,
        seq_base: int,
        counters: dict[str, Any],
        created: float,
        hub: FanOut,
        store: HistoryStore,
    ) -> None:
        self.id, self.owner, self.name = id, owner, name
        self.config = config
        self.status = status
        self.reason: str | None = None
        # what clients have been told (committed): GET answers from this, so a status is never
        # reported before the history rows that came before it can be read
        self.shown: Shown = (status, None, counters, config)
        self.generation, self.seq_base = generation, seq_base
        self.counters = counters
        self.created = created
        self.hub, self.store = hub, store
        self.lock = threading.RLock()
        self.trainer: Any = None
        self.deleted = False
        # While a run trains in a worker process, ``remote`` is that worker's handle and
        # ``trainer`` is None; the worker sends the trainer back (``returned``, pickled) when
        # the run ends. ``data`` is the dataset the worker's copies share with this process.
        self.remote: Any = None
        self.returned: bytes | None = None
        self.data: Any = None
        self.copy: tuple[float, Any] | None = None  # (monotonic time, trainer) read cache
        self.points: dict[int, Any] = {}  # trajectory points received (app/training/transfer.py)
        self.page: Any = None  # what its pages are shown (app/page/feed.py), once watched
        # run settings
        self.budget = 0
        self.speed: float | None = None
        # a race's lock-step (app/sessions/races.py): the step cap its worker trains up to, and
        # the race's hook called with each batch a worker sends
        self.cap: int | None = None
        self.pace: Any = None
        # when its run was last started again after its runner was lost (app/sessions/remote.py)
        self.resumed: list[float] = []
        # bookkeeping
        self.last_seen = time.monotonic()
        self.last_checkpoint = time.monotonic()
        self.last_metrics = 0.0
        self.dirty = False
        self.streams = 0
        self.last_write: Write | None = None  # the newest write queued for this session
        # web replicas: the fence this replica holds the session with (app/sessions/fencing.py);
        # its writes are guarded by it. 0: unfenced (one process), written as they are
        self.fence = 0

    # ---- reading ---------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence number of the latest step."""
        return self.seq_base + int(self.counters.get("iteration", 0))

    def refresh_counters(self) -> None:
        self.counters = counters_of(self.trainer)

    def show(self) -> None:
        """What is in memory is what clients are told from now on (no write pending)."""
        self.shown = (self.status, self.reason, self.counters, self.config)

    def public(self) -> dict[str, Any]:
        """The session as scripts see it (SessionPublic), as of its last committed write."""
        status, reason, c, config = self.shown
        return {
            "id": self.id,
            "name": self.name,
            "status": status,
            "reason": reason,
            "created": self.created,
            "generation": self.generation,
            "seq": self.seq_base + int(c.get("iteration", 0)),
            "step": c.get("iteration", 0),
            "epoch": c.get("epoch", 0),
            "samples_seen": c.get("samples_seen", 0),
            "iterations_per_epoch": c.get("iterations_per_epoch", 0),
            "n_params": c.get("n_params", 0),
            "loss": c.get("loss"),
            "divergence": c.get("divergence"),
            "run": {"budget": self.budget if status == "running" else 0, "speed": self.speed},
            "config": config,
        }

    def status_payload(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "reason": self.reason,
            "step": self.counters.get("iteration"),
            "seq": self.seq,
            "generation": self.generation,
            "divergence": self.counters.get("divergence"),
        }

    # ---- recording (call with the lock held) -------------------------------------------------

    def emit(
        self,
        records: list[dict[str, Any]],
        *,
        metrics: dict[str, Any] | None = None,
        frame: frozenset[str] | None = None,
        forced_frame: bool = False,
        status: bool = False,
        checkpoint: bool = False,
        keyframes: list[tuple[int, str, bytes]] | None = None,
        event: str | None = None,
        session_row: bool = False,
        urgent: bool = False,
    ) -> Write:
        """Pack what the local trainer just did, then :meth:`record` it; ``keyframes``: the
        periodic ones its steps made, ``event``: a keyframe of the trainer now, after a change
        other than stepping, of that kind (app/sessions/keyframes.py)."""
        t = self.trainer
        batch = Batch()
        if t is not None:
            batch = pack(
                t,
                records,
                seq_base=self.seq_base,
                generation=self.generation,
                metrics=metrics,
                frame=frame,
                checkpoint=checkpoint,
                keyframes=keyframes,
                event=event,
            )
        return self.record(
            batch, status=status, session_row=session_row, forced_frame=forced_frame, urgent=urgent
        )

    def record(
        self,
        batch: Batch,
        *,
        status: bool = False,
        session_row: bool = False,
        forced_frame: bool = False,
        urgent: bool = False,
    ) -> Write:
        """Queue history rows, session/checkpoint rows, and the stream events that follow them
        (published once committed). Called under the lock, or by a worker's receiver thread for
        a session running in that worker; either way in the order things happened."""
        if batch.counters is not None:
            self.counters = batch.counters
        store = self.store
        statements: list[Any] = []
        if batch.rows:
            statements.append(store.put_steps(self.id, self.generation, batch.rows))
            self.dirty = True
        if session_row:
            statements.append(store.put_session(self))
        elif status or batch.checkpoint is not None:
            statements.append(store.put_status(self))
        if batch.checkpoint is not None:
            statements.append(
                store.put_checkpoint(self.id, self.generation, batch.iteration, batch.checkpoint)
            )
            self.last_checkpoint = time.monotonic()
            self.dirty = False
        if batch.keyframes:
            statements.append(store.put_keyframes(self.id, self.generation, batch.keyframes))
        steps = [(row[0], row[4]) for row in batch.rows]
        picture = batch.frame
        payload = self.status_payload() if status else None
        shown = (self.status, self.reason, self.counters, self.config)
        hub = self.hub

        def publish() -> None:
            self.shown = shown
            hub.publish(steps, picture, payload, forced_frame)

        write = store.submit(store.guarded(self, statements), publish, urgent, session_id=self.id)
        self.last_write = write
        return write
