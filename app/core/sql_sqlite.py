"""The SQLite dialect's SQL (app/core/dialect.py lists what each statement takes).

Index hints (``INDEXED BY``) name the partial index on the rows with metrics: without
statistics SQLite's planner walks the primary key instead.
"""

from __future__ import annotations

from app.core.dialect import Dialect

SQLITE = Dialect(
    name="sqlite",
    # an upsert, not INSERT OR REPLACE: a replace deletes the old row first, and the foreign
    # keys' ON DELETE CASCADE then deleted the session's whole step history with it (on every
    # PATCH)
    upsert_session=(
        "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
        " created, updated, reason) VALUES (?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET"
        " owner = excluded.owner, name = excluded.name, config = excluded.config,"
        " status = excluded.status, generation = excluded.generation,"
        " seq_base = excluded.seq_base, counters = excluded.counters,"
        " updated = excluded.updated, reason = excluded.reason"
    ),
    update_status=(
        "UPDATE sessions SET status = ?, reason = ?, counters = ?, updated = ? WHERE id = ?"
    ),
    insert_step=(
        "INSERT OR REPLACE INTO history (session_id, seq, generation, step, loss, has_metrics,"
        " record) VALUES (?, ?, ?, ?, ?, ?, ?)"
    ),
    steps_as_arrays=False,  # executemany runs in SQLite's process: no round trips to save
    insert_checkpoint=(
        "INSERT OR REPLACE INTO checkpoints (session_id, generation, step, data, saved)"
        " VALUES (?, ?, ?, ?, ?)"
    ),
    # a change's keyframe ("event", "restore") stays one when the same step is written again by
    # a periodic one (which never follows a change at its step; the guard keeps replay's rule
    # true whatever the order)
    upsert_keyframe=(
        "INSERT INTO keyframes (session_id, generation, step, kind, bytes, data)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(session_id, generation, step) DO UPDATE SET"
        " kind = CASE WHEN excluded.kind = 'step' THEN keyframes.kind ELSE excluded.kind END,"
        " bytes = excluded.bytes, data = excluded.data"
    ),
    # a fork's history: the original's rows of one generation up to a step, renumbered as the
    # fork's generation 0 (seq = step) in the stored record text too
    copy_history=(
        "INSERT OR REPLACE INTO history (session_id, seq, generation, step, loss, has_metrics,"
        " record) SELECT ?, step, 0, step, loss, has_metrics,"
        " json_set(record, '$.seq', step, '$.generation', 0)"
        " FROM history WHERE session_id = ? AND generation = ? AND step <= ?"
    ),
    copy_keyframes=(
        "INSERT OR IGNORE INTO keyframes (session_id, generation, step, kind, bytes, data)"
        " SELECT ?, 0, step, kind, bytes, data FROM keyframes"
        " WHERE session_id = ? AND generation = ? AND step <= ?"
    ),
    thin_keyframes=(
        "DELETE FROM keyframes WHERE session_id = ? AND generation = ? AND kind = 'step'"
        " AND step > 0 AND step < ? AND step % ? != 0"
    ),
    drop_keyframes="DELETE FROM keyframes WHERE session_id = ? AND generation < ?",
    mark_restarted="UPDATE sessions SET status = 'paused', reason = 'restart' WHERE id = ?",
    cut_history="DELETE FROM history WHERE session_id = ? AND seq > ?",
    compact_history=(
        "DELETE FROM history WHERE session_id = ? AND seq <= ? AND has_metrics = 0"
        " AND step % ? != 0"
    ),
    set_full_from="UPDATE sessions SET full_from = ? WHERE id = ?",
    delete_history="DELETE FROM history WHERE session_id = ?",
    delete_keyframes="DELETE FROM keyframes WHERE session_id = ?",
    delete_checkpoint="DELETE FROM checkpoints WHERE session_id = ?",
    delete_session="DELETE FROM sessions WHERE id = ?",
    # SET fence = fence: a no-op that takes the row's lock, so a claim waits for a write
    # already past its guard and every later guard sees the claim
    hold_fence="UPDATE sessions SET fence = fence WHERE id = ? AND fence = ?",
    claim_fence="UPDATE sessions SET fence = ? WHERE id = ? AND fence < ?",
    upsert_race=(
        "INSERT OR REPLACE INTO races (id, owner, name, config, runs, created)"
        " VALUES (?, ?, ?, ?, ?, ?)"
    ),
    delete_race="DELETE FROM races WHERE id = ?",
    sessions="SELECT * FROM sessions ORDER BY created",
    sessions_of="SELECT * FROM sessions WHERE owner = ? ORDER BY created",
    session_row="SELECT * FROM sessions WHERE id = ?",
    session_count="SELECT count(*) AS n FROM sessions",
    session_count_of="SELECT count(*) AS n FROM sessions WHERE owner = ?",
    running_ids="SELECT id FROM sessions WHERE status = 'running'",
    races="SELECT * FROM races ORDER BY created",
    races_of="SELECT * FROM races WHERE owner = ? ORDER BY created",
    race_row="SELECT * FROM races WHERE id = ?",
    races_naming="SELECT * FROM races WHERE runs LIKE ? ORDER BY created",
    checkpoint="SELECT data FROM checkpoints WHERE session_id = ?",
    checkpoint_at="SELECT generation, step FROM checkpoints WHERE session_id = ?",
    max_seq="SELECT MAX(seq) AS m FROM history WHERE session_id = ?",
    records_after=(
        "SELECT seq, record FROM history WHERE session_id = ? AND seq > ? ORDER BY seq LIMIT ?"
    ),
    metrics_between=(
        "SELECT seq, record FROM history INDEXED BY history_metrics WHERE session_id = ?"
        " AND generation = ? AND has_metrics = 1 AND seq > ? AND seq <= ? ORDER BY seq"
    ),
    history=(
        "SELECT record FROM history WHERE session_id = ? AND generation = ? AND step > ?"
        " AND (step % ? = 0 OR has_metrics = 1) ORDER BY seq LIMIT ?"
    ),
    history_metrics=(
        "SELECT record FROM history INDEXED BY history_metrics WHERE session_id = ?"
        " AND generation = ? AND step > ? AND (step % ? = 0 OR has_metrics = 1)"
        " AND has_metrics = 1 ORDER BY seq LIMIT ?"
    ),
    # the wanted steps looked up by primary key (a generation's rows have seq = seq_base +
    # step), and the metric rows by their index
    sampled=(
        "WITH RECURSIVE want(step) AS (SELECT :first UNION ALL SELECT step + :stride FROM want"
        " WHERE step + :stride <= :upto)"
        " SELECT seq, record FROM history WHERE session_id = :sid AND generation = :gen"
        " AND seq IN (SELECT :seq_base + step FROM want)"
        " UNION SELECT seq, record FROM history INDEXED BY history_metrics"
        " WHERE session_id = :sid AND generation = :gen AND has_metrics = 1"
        " AND seq > :seq_after AND seq <= :seq_upto ORDER BY seq LIMIT :lim"
    ),
    last_row=(
        "SELECT record FROM history WHERE session_id = ? AND generation = ?"
        " ORDER BY seq DESC LIMIT 1"
    ),
    losses_after=(
        "SELECT seq, step, loss FROM history WHERE session_id = ? AND generation = ?"
        " AND seq > ? ORDER BY seq LIMIT ?"
    ),
    keyframe=(
        "SELECT step, kind, data FROM keyframes WHERE session_id = ? AND generation = ?"
        " AND step <= ? ORDER BY step DESC LIMIT 1"
    ),
    keyframe_sizes=(
        "SELECT generation, step, kind, bytes FROM keyframes WHERE session_id = ?"
        " ORDER BY generation, step"
    ),
)
