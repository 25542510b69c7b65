"""The SQL of one database dialect: every statement the store writes and every query it reads.

The stores (app/core/store.py for SQLite, app/core/pgstore.py for PostgreSQL) share what is
dialect-neutral: the writer thread (app/core/writer.py), the parameters of each write
(app/core/writes.py) and the decoding of each read (app/core/reads.py). What differs is only
this text: placeholders (``?`` or ``%s``), upserts, JSON editing and index hints. One module per
dialect fills a :class:`Dialect` (app/core/sql_sqlite.py, app/core/sql_postgres.py).

Parameter order is part of the contract: each field's comment gives it, and both dialects
take the same parameters in the same order (app/core/writes.py and app/core/reads.py build
them once). Read queries name their columns (``AS``) as app/core/reads.py reads them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Dialect:
    """Statements and queries of one dialect (parameters in the order given)."""

    name: str
    # ---- writes --------------------------------------------------------------------------
    upsert_session: str  # id, owner, name, config, status, generation, seq_base, counters,
    # created, updated, reason
    update_status: str  # status, reason, counters, updated, id
    insert_step: str  # session_id, seq, generation, step, loss, has_metrics, record
    # or, when ``steps_as_arrays``, one statement for all rows: session_id, generation, then
    # arrays of seq, step, loss, has_metrics, record
    steps_as_arrays: bool
    insert_checkpoint: str  # session_id, generation, step, data, saved
    upsert_keyframe: str  # session_id, generation, step, kind, bytes, data
    copy_history: str  # target, source, generation, step
    copy_keyframes: str  # target, source, generation, step
    thin_keyframes: str  # session_id, generation, before, every
    drop_keyframes: str  # session_id, before_generation
    mark_restarted: str  # session_id
    cut_history: str  # session_id, keep
    compact_history: str  # session_id, upto, stride
    set_full_from: str  # upto, session_id
    delete_history: str  # session_id (and the three below)
    delete_keyframes: str
    delete_checkpoint: str
    delete_session: str
    upsert_race: str  # id, owner, name, config, runs, created
    # guards (app/core/writer.py GUARD: the row count must be 1; session_id, fence last)
    hold_fence: str  # session_id, fence: the session is still held with this fence
    claim_fence: str  # fence, session_id, fence: held with this fence from now on
    delete_race: str  # id
    # ---- reads ---------------------------------------------------------------------------
    sessions: str  # -
    sessions_of: str  # owner
    session_row: str  # id
    session_count: str  # - -> n
    session_count_of: str  # owner -> n
    running_ids: str  # - -> id (the sessions stored as running)
    races: str  # -
    races_of: str  # owner
    race_row: str  # id
    races_naming: str  # pattern (LIKE on the runs' JSON text: confirmed by the caller)
    checkpoint: str  # session_id -> data
    checkpoint_at: str  # session_id -> generation, step
    max_seq: str  # session_id -> m
    records_after: str  # session_id, after, limit -> seq, record
    metrics_between: str  # session_id, generation, after, upto -> seq, record
    history: str  # session_id, generation, after, stride, limit -> record
    history_metrics: str  # the same, only the rows with metrics
    sampled: str  # named: first, stride, upto, sid, gen, seq_base, seq_after, seq_upto,
    # lim -> seq, record
    last_row: str  # session_id, generation -> record
    losses_after: str  # session_id, generation, after, limit -> seq, step, loss
    keyframe: str  # session_id, generation, step -> step, kind, data
    keyframe_sizes: str  # session_id -> generation, step, kind, bytes
