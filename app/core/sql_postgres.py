"""The PostgreSQL dialect's SQL (app/core/dialect.py lists what each statement takes).

The same statements as app/core/sql_sqlite.py, in PostgreSQL's words: ``%s`` placeholders
(psycopg 3), ``ON CONFLICT`` for SQLite's ``INSERT OR REPLACE`` / ``OR IGNORE``, ``mod()`` for
``%`` (which psycopg reads as a placeholder), ``generate_series`` for the recursive step list,
and no index hints (the planner has statistics).
"""

from __future__ import annotations

from app.core.dialect import Dialect

_STEP_COLUMNS = "(session_id, seq, generation, step, loss, has_metrics, record)"
_REPLACE_STEP = (
    " ON CONFLICT (session_id, seq) DO UPDATE SET generation = excluded.generation,"
    " step = excluded.step, loss = excluded.loss, has_metrics = excluded.has_metrics,"
    " record = excluded.record"
)

POSTGRES = Dialect(
    name="postgresql",
    upsert_session=(
        "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
        " created, updated, reason) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)"
        " ON CONFLICT (id) DO UPDATE SET owner = excluded.owner, name = excluded.name,"
        " config = excluded.config, status = excluded.status,"
        " generation = excluded.generation, seq_base = excluded.seq_base,"
        " counters = excluded.counters, updated = excluded.updated, reason = excluded.reason"
    ),
    update_status=(
        "UPDATE sessions SET status = %s, reason = %s, counters = %s, updated = %s WHERE id = %s"
    ),
    # a batch's rows as arrays, unnested: one statement instead of one per row (executemany's
    # pipeline still costs ~70 us a row; this makes a 320-row batch ~4x faster)
    insert_step=(
        f"INSERT INTO history {_STEP_COLUMNS} SELECT %s, u.seq, %s, u.step, u.loss, u.m, u.r"
        " FROM unnest(%b::bigint[], %b::bigint[], %b::float8[], %b::bigint[], %b::text[])"
        " AS u(seq, step, loss, m, r)" + _REPLACE_STEP
    ),
    steps_as_arrays=True,
    insert_checkpoint=(
        "INSERT INTO checkpoints (session_id, generation, step, data, saved)"
        " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (session_id) DO UPDATE SET"
        " generation = excluded.generation, step = excluded.step, data = excluded.data,"
        " saved = excluded.saved"
    ),
    upsert_keyframe=(
        "INSERT INTO keyframes (session_id, generation, step, kind, bytes, data)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (session_id, generation, step)"
        " DO UPDATE SET"
        " kind = CASE WHEN excluded.kind = 'step' THEN keyframes.kind ELSE excluded.kind END,"
        " bytes = excluded.bytes, data = excluded.data"
    ),
    # every record starts {"seq":N,"generation":G,... (app/training/output.py); rewriting that
    # prefix keeps the rest of the text byte for byte, as SQLite's json_set does on compact
    # JSON (a jsonb round trip would reorder the keys and space the text out)
    copy_history=(
        f"INSERT INTO history {_STEP_COLUMNS} SELECT %s, step, 0, step, loss, has_metrics,"
        " regexp_replace(record, '^\\{\"seq\":-?[0-9]+,\"generation\":-?[0-9]+',"
        " '{\"seq\":' || step || ',\"generation\":0')"
        " FROM history WHERE session_id = %s AND generation = %s AND step <= %s" + _REPLACE_STEP
    ),
    copy_keyframes=(
        "INSERT INTO keyframes (session_id, generation, step, kind, bytes, data)"
        " SELECT %s, 0, step, kind, bytes, data FROM keyframes"
        " WHERE session_id = %s AND generation = %s AND step <= %s ON CONFLICT DO NOTHING"
    ),
    thin_keyframes=(
        "DELETE FROM keyframes WHERE session_id = %s AND generation = %s AND kind = 'step'"
        " AND step > 0 AND step < %s AND mod(step, %s) != 0"
    ),
    drop_keyframes="DELETE FROM keyframes WHERE session_id = %s AND generation < %s",
    mark_restarted="UPDATE sessions SET status = 'paused', reason = 'restart' WHERE id = %s",
    cut_history="DELETE FROM history WHERE session_id = %s AND seq > %s",
    compact_history=(
        "DELETE FROM history WHERE session_id = %s AND seq <= %s AND has_metrics = 0"
        " AND mod(step, %s) != 0"
    ),
    set_full_from="UPDATE sessions SET full_from = %s WHERE id = %s",
    delete_history="DELETE FROM history WHERE session_id = %s",
    delete_keyframes="DELETE FROM keyframes WHERE session_id = %s",
    delete_checkpoint="DELETE FROM checkpoints WHERE session_id = %s",
    delete_session="DELETE FROM sessions WHERE id = %s",
    # the row's lock (the one a claim's UPDATE takes), so a claim waits for a write already
    # past its guard and every later guard sees the claim; a locking read, not SQLite's no-op
    # UPDATE: that would leave a dead row version for VACUUM every batch (~25 a second a run)
    hold_fence="SELECT 1 FROM sessions WHERE id = %s AND fence = %s FOR NO KEY UPDATE",
    claim_fence="UPDATE sessions SET fence = %s WHERE id = %s AND fence < %s",
    upsert_race=(
        "INSERT INTO races (id, owner, name, config, runs, created)"
        " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO UPDATE SET"
        " owner = excluded.owner, name = excluded.name, config = excluded.config,"
        " runs = excluded.runs, created = excluded.created"
    ),
    delete_race="DELETE FROM races WHERE id = %s",
    sessions="SELECT * FROM sessions ORDER BY created",
    sessions_of="SELECT * FROM sessions WHERE owner = %s ORDER BY created",
    session_row="SELECT * FROM sessions WHERE id = %s",
    session_count="SELECT count(*) AS n FROM sessions",
    session_count_of="SELECT count(*) AS n FROM sessions WHERE owner = %s",
    running_ids="SELECT id FROM sessions WHERE status = 'running'",
    races="SELECT * FROM races ORDER BY created",
    races_of="SELECT * FROM races WHERE owner = %s ORDER BY created",
    race_row="SELECT * FROM races WHERE id = %s",
    races_naming="SELECT * FROM races WHERE runs LIKE %s ORDER BY created",
    checkpoint="SELECT data FROM checkpoints WHERE session_id = %s",
    checkpoint_at="SELECT generation, step FROM checkpoints WHERE session_id = %s",
    max_seq="SELECT MAX(seq) AS m FROM history WHERE session_id = %s",
    records_after=(
        "SELECT seq, record FROM history WHERE session_id = %s AND seq > %s ORDER BY seq LIMIT %s"
    ),
    metrics_between=(
        "SELECT seq, record FROM history WHERE session_id = %s AND generation = %s"
        " AND has_metrics = 1 AND seq > %s AND seq <= %s ORDER BY seq"
    ),
    history=(
        "SELECT record FROM history WHERE session_id = %s AND generation = %s AND step > %s"
        " AND (mod(step, %s) = 0 OR has_metrics = 1) ORDER BY seq LIMIT %s"
    ),
    history_metrics=(
        "SELECT record FROM history WHERE session_id = %s AND generation = %s AND step > %s"
        " AND (mod(step, %s) = 0 OR has_metrics = 1) AND has_metrics = 1 ORDER BY seq LIMIT %s"
    ),
    # the first wanted step is listed even past ``upto``, as SQLite's recursive list does
    sampled=(
        "SELECT seq, record FROM history WHERE session_id = %(sid)s AND generation = %(gen)s"
        " AND seq IN (SELECT %(seq_base)s::bigint + s FROM generate_series(%(first)s::bigint,"
        " greatest(%(first)s::bigint, %(upto)s::bigint), %(stride)s::bigint) AS s)"
        " UNION SELECT seq, record FROM history WHERE session_id = %(sid)s"
        " AND generation = %(gen)s AND has_metrics = 1 AND seq > %(seq_after)s"
        " AND seq <= %(seq_upto)s ORDER BY seq LIMIT %(lim)s"
    ),
    last_row=(
        "SELECT record FROM history WHERE session_id = %s AND generation = %s"
        " ORDER BY seq DESC LIMIT 1"
    ),
    losses_after=(
        "SELECT seq, step, loss FROM history WHERE session_id = %s AND generation = %s"
        " AND seq > %s ORDER BY seq LIMIT %s"
    ),
    keyframe=(
        "SELECT step, kind, data FROM keyframes WHERE session_id = %s AND generation = %s"
        " AND step <= %s ORDER BY step DESC LIMIT 1"
    ),
    keyframe_sizes=(
        "SELECT generation, step, kind, bytes FROM keyframes WHERE session_id = %s"
        " ORDER BY generation, step"
    ),
)
