"""The statements the service writes, named: every INSERT, UPDATE and DELETE of the store.

Each method returns statements for :meth:`app.core.store.Store.submit` — ``(sql, params,
many)`` tuples, ``many`` meaning ``params`` is a list of rows — so callers say *what* they
write (a session's steps, its row, a checkpoint, a cut) and the SQL stays in the store, where
another store (PostgreSQL, say) would write its own. The writer thread runs them in one
transaction per batch (app/core/writer.py).
"""

from __future__ import annotations

import json
import time
from typing import Any

from app.core.jsontext import encode
from app.core.writer import Statement

# an upsert, not INSERT OR REPLACE: a replace deletes the old row first, and the foreign keys'
# ON DELETE CASCADE then deleted the session's whole step history with it (on every PATCH)
UPSERT_SESSION = (
    "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
    " created, updated, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
    " owner = excluded.owner, name = excluded.name, config = excluded.config,"
    " status = excluded.status, generation = excluded.generation, seq_base = excluded.seq_base,"
    " counters = excluded.counters, updated = excluded.updated, reason = excluded.reason"
)
UPDATE_STATUS = "UPDATE sessions SET status = ?, reason = ?, counters = ?, updated = ? WHERE id = ?"
INSERT_STEP = (
    "INSERT OR REPLACE INTO history (session_id, seq, generation, step, loss, has_metrics, record)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
INSERT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (session_id, generation, step, data, saved)"
    " VALUES (?, ?, ?, ?, ?)"
)

# a change's keyframe ("event", "restore") stays one when the same step is written again by a
# periodic one (which never follows a change at its step; the guard keeps replay's rule true
# whatever the order)
UPSERT_KEYFRAME = (
    "INSERT INTO keyframes (session_id, generation, step, kind, bytes, data)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, generation, step) DO UPDATE SET"
    " kind = CASE WHEN excluded.kind = 'step' THEN keyframes.kind ELSE excluded.kind END,"
    " bytes = excluded.bytes, data = excluded.data"
)
# a fork's history: the original's rows of one generation up to a step, renumbered as the
# fork's generation 0 (seq = step) in the stored record text too
COPY_HISTORY = (
    "INSERT OR REPLACE INTO history (session_id, seq, generation, step, loss, has_metrics, record)"
    " SELECT ?, step, 0, step, loss, has_metrics,"
    " json_set(record, '$.seq', step, '$.generation', 0)"
    " FROM history WHERE session_id = ? AND generation = ? AND step <= ?"
)
COPY_KEYFRAMES = (
    "INSERT OR IGNORE INTO keyframes (session_id, generation, step, kind, bytes, data)"
    " SELECT ?, 0, step, kind, bytes, data FROM keyframes"
    " WHERE session_id = ? AND generation = ? AND step <= ?"
)


class Writes:
    """Mixed into the store: the named write statements."""

    @staticmethod
    def put_steps(session_id: str, generation: int, rows: list[tuple[Any, ...]]) -> Statement:
        """History rows ``(seq, step, loss, has_metrics, record JSON)`` of one generation."""
        return (INSERT_STEP, [(session_id, seq, generation, *rest) for seq, *rest in rows], True)

    @staticmethod
    def put_session(s: Any) -> Statement:
        """The whole session row (name, config, status, counters …) of session ``s``."""
        params = (
            s.id, s.owner, s.name, json.dumps(s.config), s.status, s.generation, s.seq_base,
            encode(s.counters), s.created, time.time(), s.reason,
        )  # fmt: skip
        return (UPSERT_SESSION, params, False)

    @staticmethod
    def put_status(s: Any) -> Statement:
        """Session ``s``'s status, reason and counters."""
        params = (s.status, s.reason, encode(s.counters), time.time(), s.id)
        return (UPDATE_STATUS, params, False)

    @staticmethod
    def put_checkpoint(session_id: str, generation: int, step: int, data: str) -> Statement:
        """A checkpoint (JSON text of ``Trainer.checkpoint()``), the session's latest."""
        return (INSERT_CHECKPOINT, (session_id, generation, step, data, time.time()), False)

    @staticmethod
    def put_keyframes(
        session_id: str, generation: int, rows: list[tuple[int, str, bytes]]
    ) -> Statement:
        """Keyframes ``(step, kind, data)`` of one generation (app/training/keyframe.py)."""
        params = [
            (session_id, generation, step, kind, len(data), data) for step, kind, data in rows
        ]
        return (UPSERT_KEYFRAME, params, True)

    @staticmethod
    def thin_keyframes(session_id: str, generation: int, before: int, every: int) -> Statement:
        """Of one generation's periodic keyframes before step ``before``, only those at
        multiples of ``every`` (events and step 0 stay)."""
        sql = (
            "DELETE FROM keyframes WHERE session_id = ? AND generation = ? AND kind = 'step'"
            " AND step > 0 AND step < ? AND step % ? != 0"
        )
        return (sql, (session_id, generation, before, every), False)

    @staticmethod
    def drop_keyframes(session_id: str, before_generation: int) -> Statement:
        """The keyframes of generations before ``before_generation`` (nothing replays them)."""
        sql = "DELETE FROM keyframes WHERE session_id = ? AND generation < ?"
        return (sql, (session_id, before_generation), False)

    @staticmethod
    def copy_upto(source: str, target: str, generation: int, step: int) -> list[Statement]:
        """``source``'s history rows and keyframes of ``generation`` up to ``step`` as
        ``target``'s generation 0 (a fork; ``target``'s own keyframes win)."""
        args = (target, source, generation, step)
        return [(COPY_HISTORY, args, False), (COPY_KEYFRAMES, args, False)]

    @staticmethod
    def mark_restarted(session_id: str) -> Statement:
        """A run the server stopped by going down: paused, reason ``restart``."""
        sql = "UPDATE sessions SET status = 'paused', reason = 'restart' WHERE id = ?"
        return (sql, (session_id,), False)

    @staticmethod
    def cut_history(session_id: str, keep: int) -> Statement:
        """The history after seq ``keep`` (a replay that did not reproduce it)."""
        return ("DELETE FROM history WHERE session_id = ? AND seq > ?", (session_id, keep), False)

    @staticmethod
    def compact_history(session_id: str, upto: int, stride: int) -> list[Statement]:
        """Thin the history up to seq ``upto`` to every ``stride``-th step and the metric rows,
        and note where the full-resolution window starts."""
        return [
            (
                "DELETE FROM history WHERE session_id = ? AND seq <= ? AND has_metrics = 0"
                " AND step % ? != 0",
                (session_id, upto, stride),
                False,
            ),
            ("UPDATE sessions SET full_from = ? WHERE id = ?", (upto, session_id), False),
        ]

    @staticmethod
    def delete_session(session_id: str) -> list[Statement]:
        """A session with its history, checkpoints and keyframes."""
        return [
            ("DELETE FROM history WHERE session_id = ?", (session_id,), False),
            ("DELETE FROM keyframes WHERE session_id = ?", (session_id,), False),
            ("DELETE FROM checkpoints WHERE session_id = ?", (session_id,), False),
            ("DELETE FROM sessions WHERE id = ?", (session_id,), False),
        ]

    @staticmethod
    def put_race(
        race_id: str, owner: str, name: str, config: str, runs: str, created: float
    ) -> Statement:
        """A race's row (app/sessions/races.py): its base config and runs as JSON text."""
        sql = (
            "INSERT OR REPLACE INTO races (id, owner, name, config, runs, created)"
            " VALUES (?, ?, ?, ?, ?, ?)"
        )
        return (sql, (race_id, owner, name, config, runs, created), False)

    @staticmethod
    def delete_race(race_id: str) -> Statement:
        """A race's row (its sessions are deleted as sessions)."""
        return ("DELETE FROM races WHERE id = ?", (race_id,), False)
