"""The statements the service writes, named: every INSERT, UPDATE and DELETE of the store.

Each method returns statements for the store's ``submit`` — ``(sql, params, many)`` tuples,
``many`` meaning ``params`` is a list of rows — so callers say *what* they write (a session's
steps, its row, a checkpoint, a cut) and never see SQL. The parameters are built here once for
both dialects; the SQL text is the store's dialect's (``self.sql``: app/core/sql_sqlite.py or
app/core/sql_postgres.py). The writer thread runs them in one transaction per batch
(app/core/writer.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.core.dialect import Dialect
from app.core.jsontext import encode
from app.core.writer import GUARD, Statement


class Writes:
    """Mixed into a store: the named write statements in the store's dialect."""

    sql: Dialect

    def put_steps(self, session_id: str, generation: int, rows: list[tuple[Any, ...]]) -> Statement:
        """History rows ``(seq, step, loss, has_metrics, record JSON)`` of one generation."""
        if self.sql.steps_as_arrays:
            columns: list[list[Any]] = [[], [], [], [], []]
            for row in rows:
                for column, value in zip(columns, row, strict=True):
                    column.append(value)
            columns[3] = [int(m) for m in columns[3]]
            return (self.sql.insert_step, (session_id, generation, *columns), False)
        # has_metrics is an INTEGER column; PostgreSQL will not take a bool for it
        params = [
            (session_id, seq, generation, step, loss, int(metrics), record)
            for seq, step, loss, metrics, record in rows
        ]
        return (self.sql.insert_step, params, True)

    def put_session(self, s: Any) -> Statement:
        """The whole session row (name, config, status, counters …) of session ``s``."""
        params = (
            s.id, s.owner, s.name, json.dumps(s.config), s.status, s.generation, s.seq_base,
            encode(s.counters), s.created, time.time(), s.reason,
        )  # fmt: skip
        return (self.sql.upsert_session, params, False)

    def put_status(self, s: Any) -> Statement:
        """Session ``s``'s status, reason and counters."""
        params = (s.status, s.reason, encode(s.counters), time.time(), s.id)
        return (self.sql.update_status, params, False)

    def put_checkpoint(self, session_id: str, generation: int, step: int, data: str) -> Statement:
        """A checkpoint (JSON text of ``Trainer.checkpoint()``), the session's latest."""
        params = (session_id, generation, step, data, time.time())
        return (self.sql.insert_checkpoint, params, False)

    def put_keyframes(
        self, session_id: str, generation: int, rows: list[tuple[int, str, bytes]]
    ) -> Statement:
        """Keyframes ``(step, kind, data)`` of one generation (app/training/keyframe.py)."""
        params = [
            (session_id, generation, step, kind, len(data), data) for step, kind, data in rows
        ]
        return (self.sql.upsert_keyframe, params, True)

    def thin_keyframes(
        self, session_id: str, generation: int, before: int, every: int
    ) -> Statement:
        """Of one generation's periodic keyframes before step ``before``, only those at
        multiples of ``every`` (events and step 0 stay)."""
        return (self.sql.thin_keyframes, (session_id, generation, before, every), False)

    def drop_keyframes(self, session_id: str, before_generation: int) -> Statement:
        """The keyframes of generations before ``before_generation`` (nothing replays them)."""
        return (self.sql.drop_keyframes, (session_id, before_generation), False)

    def copy_upto(self, source: str, target: str, generation: int, step: int) -> list[Statement]:
        """``source``'s history rows and keyframes of ``generation`` up to ``step`` as
        ``target``'s generation 0 (a fork; ``target``'s own keyframes win)."""
        args = (target, source, generation, step)
        return [(self.sql.copy_history, args, False), (self.sql.copy_keyframes, args, False)]

    def mark_restarted(self, session_id: str) -> Statement:
        """A run the server stopped by going down: paused, reason ``restart``."""
        return (self.sql.mark_restarted, (session_id,), False)

    def cut_history(self, session_id: str, keep: int) -> Statement:
        """The history after seq ``keep`` (a replay that did not reproduce it)."""
        return (self.sql.cut_history, (session_id, keep), False)

    def compact_history(self, session_id: str, upto: int, stride: int) -> list[Statement]:
        """Thin the history up to seq ``upto`` to every ``stride``-th step and the metric rows,
        and note where the full-resolution window starts."""
        return [
            (self.sql.compact_history, (session_id, upto, stride), False),
            (self.sql.set_full_from, (upto, session_id), False),
        ]

    def delete_session(self, session_id: str) -> list[Statement]:
        """A session with its history, checkpoints and keyframes."""
        return [
            (sql, (session_id,), False)
            for sql in (
                self.sql.delete_history,
                self.sql.delete_keyframes,
                self.sql.delete_checkpoint,
                self.sql.delete_session,
            )
        ]

    def guarded(self, s: Any, statements: list[Statement]) -> list[Statement]:
        """``statements`` of session ``s``, led by a guard that they are written only while
        ``s`` is held here with its fence (web replicas: app/sessions/fencing.py); a session
        without a fence (one process) writes them as they are."""
        if not s.fence:
            return statements
        return [(self.sql.hold_fence, (s.id, s.fence), GUARD), *statements]

    def claim(self, session_id: str, fence: int) -> Statement:
        """The session held with ``fence`` from now on: a guard, failing (Fenced) when the
        session is not stored or was claimed with a fence as new or newer."""
        return (self.sql.claim_fence, (fence, session_id, fence), GUARD)

    def put_race(
        self, race_id: str, owner: str, name: str, config: str, runs: str, created: float
    ) -> Statement:
        """A race's row (app/sessions/races.py): its base config and runs as JSON text."""
        return (self.sql.upsert_race, (race_id, owner, name, config, runs, created), False)

    def delete_race(self, race_id: str) -> Statement:
        """A race's row (its sessions are deleted as sessions)."""
        return (self.sql.delete_race, (race_id,), False)
