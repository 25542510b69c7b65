"""The store's named queries, for either dialect: what each read returns and how rows decode.

Mixed into a store that supplies ``sql`` (its :class:`app.core.dialect.Dialect`) and two
primitives: ``_rows(sql, params)`` (every row) and ``_one(sql, params)`` (the first or None),
each row readable by column name (sqlite3.Row, or psycopg's dict rows). Session and race rows
are handed out as they come (``row["generation"]``); everything else decodes to plain tuples,
dicts and strings here, so callers never see which database answered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from app.core.dialect import Dialect

Params = Sequence[Any] | Mapping[str, Any]


class Reads:
    """Mixed into a store: the named read queries."""

    sql: Dialect

    def _rows(self, sql: str, params: Params = ()) -> list[Any]:
        raise NotImplementedError

    def _one(self, sql: str, params: Params = ()) -> Any:
        raise NotImplementedError

    def sessions(self, owner: str | None = None) -> list[Any]:
        """Session rows, oldest first (of one owner if given)."""
        if owner is None:
            return self._rows(self.sql.sessions)
        return self._rows(self.sql.sessions_of, (owner,))

    def session_row(self, session_id: str) -> Any:
        return self._one(self.sql.session_row, (session_id,))

    def session_count(self, owner: str | None = None) -> int:
        """Sessions stored (of one owner if given)."""
        if owner is None:
            return int(self._one(self.sql.session_count)["n"])
        return int(self._one(self.sql.session_count_of, (owner,))["n"])

    def running_ids(self) -> list[str]:
        """The sessions stored as running (web replicas: app/sessions/replicas.py)."""
        return [str(r["id"]) for r in self._rows(self.sql.running_ids)]

    def races(self, owner: str | None = None) -> list[Any]:
        """Stored races, oldest first (of one owner if given: app/sessions/races.py)."""
        if owner is None:
            return self._rows(self.sql.races)
        return self._rows(self.sql.races_of, (owner,))

    def race_row(self, race_id: str) -> Any:
        return self._one(self.sql.race_row, (race_id,))

    def race_with(self, session_id: str) -> Any:
        """The stored race one of whose runs is ``session_id`` (None: it runs alone). A LIKE
        on the runs' JSON text finds the candidates on either dialect (an id's ``_`` matches
        any character there), and the parsed runs confirm one."""
        for row in self._rows(self.sql.races_naming, (f"%{session_id}%",)):
            if any(run.get("session") == session_id for run in json.loads(row["runs"])):
                return row
        return None

    def checkpoint(self, session_id: str) -> dict[str, Any] | None:
        row = self._one(self.sql.checkpoint, (session_id,))
        return None if row is None else dict(json.loads(row["data"]))

    def checkpoint_at(self, session_id: str) -> tuple[int, int] | None:
        """``(generation, step)`` of the session's stored checkpoint."""
        row = self._one(self.sql.checkpoint_at, (session_id,))
        return None if row is None else (int(row["generation"]), int(row["step"]))

    def max_seq(self, session_id: str) -> int:
        row = self._one(self.sql.max_seq, (session_id,))
        return int(row["m"] or 0)

    def records_after(self, session_id: str, after: int, limit: int) -> list[tuple[int, str]]:
        """Step records with ``seq > after``, oldest first, as stored JSON text."""
        rows = self._rows(self.sql.records_after, (session_id, after, limit))
        return [(int(r["seq"]), str(r["record"])) for r in rows]

    def metrics_between(
        self, session_id: str, generation: int, after: int, upto: int
    ) -> list[tuple[int, str]]:
        """Records with full-set metrics of one generation, ``after < seq <= upto``, oldest
        first, as stored JSON text."""
        rows = self._rows(self.sql.metrics_between, (session_id, generation, after, upto))
        return [(int(r["seq"]), str(r["record"])) for r in rows]

    def history(
        self,
        session_id: str,
        generation: int,
        after: int,
        limit: int,
        stride: int,
        metrics_only: bool,
    ) -> list[str]:
        """Records of one generation, every ``stride``-th step, as JSON text."""
        sql = self.sql.history_metrics if metrics_only else self.sql.history
        rows = self._rows(sql, (session_id, generation, after, stride, limit))
        return [str(r["record"]) for r in rows]

    def sampled(
        self,
        session_id: str,
        generation: int,
        seq_base: int,
        span: tuple[int, int],
        stride: int,
        limit: int,
    ) -> list[str]:
        """Every ``stride``-th step of one generation in ``span`` = (after, upto], and every
        row with metrics there, oldest first, as JSON text. The wanted steps are looked up by
        primary key (a generation's rows have ``seq = seq_base + step``) instead of testing
        ``step % stride`` on every row the session wrote (300 ms over a million rows)."""
        after, upto = span
        params = {
            "first": (after // stride + 1) * stride,
            "stride": stride,
            "upto": upto,
            "sid": session_id,
            "gen": generation,
            "seq_base": seq_base,
            "seq_after": seq_base + after,
            "seq_upto": seq_base + upto,
            "lim": limit,
        }
        return [str(r["record"]) for r in self._rows(self.sql.sampled, params)]

    def last_row(self, session_id: str, generation: int) -> dict[str, Any] | None:
        """The newest step record of one generation, decoded."""
        row = self._one(self.sql.last_row, (session_id, generation))
        return None if row is None else dict(json.loads(row["record"]))

    def losses_after(
        self, session_id: str, generation: int, after: int, limit: int
    ) -> list[tuple[int, int, float | None]]:
        """``(seq, step, loss)`` of one generation's rows with ``seq > after``, oldest first
        (what a restored trainer replays and checks itself against)."""
        rows = self._rows(self.sql.losses_after, (session_id, generation, after, limit))
        return [(int(r["seq"]), int(r["step"]), r["loss"]) for r in rows]

    def keyframe(
        self, session_id: str, generation: int, step: int
    ) -> tuple[int, str, bytes] | None:
        """``(step, kind, data)`` of the newest keyframe of one generation at or before
        ``step``."""
        row = self._one(self.sql.keyframe, (session_id, generation, step))
        return None if row is None else (int(row["step"]), str(row["kind"]), bytes(row["data"]))

    def keyframe_sizes(self, session_id: str) -> list[tuple[int, int, str, int]]:
        """``(generation, step, kind, bytes)`` of every keyframe of the session, oldest first."""
        rows = self._rows(self.sql.keyframe_sizes, (session_id,))
        return [
            (int(r["generation"]), int(r["step"]), str(r["kind"]), int(r["bytes"])) for r in rows
        ]
