"""One training session: a trainer behind a lock, its run settings, and how it records itself.

Everything that touches ``trainer`` holds ``lock`` (the engine is not thread-safe). Every change a
client can observe leaves through :meth:`Session.emit`, still under the lock, so the order of
database writes and stream events is the order things happened. Step records get a sequence
number ``seq = seq_base + step``: it only grows, across resets too (a reset moves ``seq_base``
past every number used), and it is the SSE event id.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from app.db import Store, Write
from app.stream import Frame, Hub, encode

INSERT_STEP = (
    "INSERT OR REPLACE INTO history (session_id, seq, generation, step, loss, has_metrics, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
COUNTER_KEYS = ("iteration", "epoch", "samples_seen", "iterations_per_epoch", "n_params")


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
        hub: Hub,
        store: Store,
    ) -> None:
        self.id, self.owner, self.name = id, owner, name
        self.config = config
        self.status = status
        self.reason: str | None = None
        self.generation, self.seq_base = generation, seq_base
        self.counters = counters
        self.created = created
        self.hub, self.store = hub, store
        self.lock = threading.RLock()
        self.trainer: Any = None
        self.deleted = False
        # run settings
        self.budget = 0
        self.speed: float | None = None
        self.tokens = 0.0
        self.token_time = 0.0
        self.step_cost = 1e-4  # seconds per step, a moving average sizing each slice's chunks
        # bookkeeping
        self.last_seen = time.monotonic()
        self.last_checkpoint = time.monotonic()
        self.last_metrics = 0.0
        self.dirty = False
        self.streams = 0

    # ---- reading ---------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence number of the latest step."""
        return self.seq_base + int(self.counters.get("iteration", 0))

    def refresh_counters(self) -> None:
        t = self.trainer
        self.counters = {
            "iteration": t.iteration,
            "epoch": t.epoch,
            "samples_seen": t.samples_seen,
            "iterations_per_epoch": t.iterations_per_epoch,
            "n_params": t.n_params,
            "loss": t.loss if t.loss == t.loss else None,
            "divergence": t.divergence,
        }

    def public(self) -> dict[str, Any]:
        """The session as scripts see it (SessionPublic)."""
        c = self.counters
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "created": self.created,
            "generation": self.generation,
            "seq": self.seq,
            "step": c.get("iteration", 0),
            "epoch": c.get("epoch", 0),
            "samples_seen": c.get("samples_seen", 0),
            "iterations_per_epoch": c.get("iterations_per_epoch", 0),
            "n_params": c.get("n_params", 0),
            "loss": c.get("loss"),
            "divergence": c.get("divergence"),
            "run": {"budget": self.budget if self.status == "running" else 0, "speed": self.speed},
            "config": self.config,
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
        session_row: bool = False,
        urgent: bool = False,
    ) -> Write:
        """Queue history rows, session/checkpoint rows, and the stream events that follow them."""
        t = self.trainer
        rows: list[tuple[Any, ...]] = []
        steps: list[tuple[int, str]] = []
        last = len(records) - 1
        now = round(time.time(), 4)  # wall time of the batch: clients can time their lag
        for i, rec in enumerate(records):
            seq = self.seq_base + rec["step"]
            data = {"seq": seq, "generation": self.generation, **rec, "t": now}
            if i == last and metrics is not None:
                data["metrics"] = metrics
            text = encode(data)
            rows.append(
                (
                    self.id,
                    seq,
                    self.generation,
                    rec["step"],
                    data.get("loss"),
                    int("metrics" in data),
                    text,
                )
            )
            steps.append((seq, text))
        if t is not None:
            self.refresh_counters()
        statements: list[Any] = []
        if rows:
            statements.append((INSERT_STEP, rows, True))
            self.dirty = True
        if session_row:
            statements.append(
                (
                    "INSERT OR REPLACE INTO sessions (id, owner, name, config, status, generation,"
                    " seq_base, counters, created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)",
                    (
                        self.id,
                        self.owner,
                        self.name,
                        json.dumps(self.config),
                        self.status,
                        self.generation,
                        self.seq_base,
                        encode(self.counters),
                        self.created,
                        time.time(),
                    ),
                    False,
                )
            )
        elif status or checkpoint:
            statements.append(
                (
                    "UPDATE sessions SET status = ?, counters = ?, updated = ? WHERE id = ?",
                    (self.status, encode(self.counters), time.time(), self.id),
                    False,
                )
            )
        if checkpoint and t is not None:
            statements.append(
                (
                    "INSERT OR REPLACE INTO checkpoints (session_id, generation, step, data, saved)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (self.id, self.generation, t.iteration, encode(t.checkpoint()), time.time()),
                    False,
                )
            )
            self.last_checkpoint = time.monotonic()
            self.dirty = False
        picture = None
        if frame is not None and t is not None:
            snap = t.snapshot(frame)
            picture = Frame(
                self.seq,
                t.iteration,
                encode({"seq": self.seq, "generation": self.generation, "t": now, **snap}),
            )
            self.hub.last_frame_time = time.monotonic()
        payload = self.status_payload() if status else None
        hub = self.hub

        def publish() -> None:
            hub.publish(steps, picture, payload, forced_frame)

        return self.store.submit(statements, publish, urgent)
