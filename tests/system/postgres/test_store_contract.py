"""The store seam's contract, the same assertions on both dialects (app/core/store.py over
SQLite, app/core/pgstore.py over PostgreSQL): what each named write leaves and each named read
returns, commit order and ``after``, a bad write failing alone, retention's statements, and the
size cap (a storage failure that a delete and a vacuum end)."""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import psycopg
import psycopg.errors
import pytest
from faulttools import wait_for
from pgtools import PgCluster

from app.core.history import HistoryStore
from app.core.pgstore import PgStore
from app.core.store import Store

_names = itertools.count()


def open_store(kind: str, tmp_path: Path, pg: PgCluster, **kw: Any) -> HistoryStore:
    if kind == "sqlite":
        return Store(tmp_path / "db.sqlite3", **kw)
    return PgStore(pg.database(f"contract{next(_names)}"), **kw)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path, pg: PgCluster) -> Iterator[HistoryStore]:
    s = open_store(request.param, tmp_path, pg)
    yield s
    s.close()


def session(sid: str = "s", owner: str = "o", generation: int = 0, **kw: Any) -> Any:
    fields = dict(id=sid, owner=owner, name="n", config={"seed": 1}, status="paused",
                  generation=generation, seq_base=0, counters={"step": 0}, created=1.5,
                  reason=None)  # fmt: skip
    return SimpleNamespace(**{**fields, **kw})


def record(seq: int, generation: int = 0, **extra: Any) -> str:
    return json.dumps({"seq": seq, "generation": generation, **extra}, separators=(",", ":"))


def steps(first: int, last: int, generation: int = 0, metrics_every: int = 10) -> list[Any]:
    """Rows (seq, step, loss, has_metrics, record) with seq = step."""
    return [
        (i, i, 1.0 / i, i % metrics_every == 0, record(i, generation, step=i, loss=1.0 / i))
        for i in range(first, last + 1)
    ]


def write(store: HistoryStore, *statements: Any, frees: bool = False) -> None:
    flat = [x for s in statements for x in (s if isinstance(s, list) else [s])]
    w = store.submit(flat, urgent=True, frees=frees)
    assert w.wait(10), w.error


def test_sessions_rows_and_status(store: HistoryStore) -> None:
    write(store, store.put_session(session("a", created=1.0)),
          store.put_session(session("b", owner="p", created=2.0)))  # fmt: skip
    assert [r["id"] for r in store.sessions()] == ["a", "b"]
    assert [r["id"] for r in store.sessions("p")] == ["b"]
    s = session("a", status="running", reason="x", counters={"step": 7})
    write(store, store.put_status(s))
    row = store.session_row("a")
    assert (row["status"], row["reason"]) == ("running", "x")
    assert json.loads(row["counters"]) == {"step": 7}
    assert row["full_from"] == 0 and row["created"] == 1.0
    write(store, store.mark_restarted("a"))
    row = store.session_row("a")
    assert (row["status"], row["reason"]) == ("paused", "restart")
    # an upsert keeps the history (a replace would cascade-delete it)
    write(store, store.put_steps("a", 0, steps(1, 3)), store.put_session(session("a", name="m")))
    assert store.session_row("a")["name"] == "m" and store.max_seq("a") == 3
    assert store.session_row("zz") is None


def test_fence_claims_and_guards(store: HistoryStore) -> None:
    """sessions.fence (migration 0002) starts at 0; a claim raises it; a guarded write commits
    only with the row's fence, and one with another fails alone, rolled back, ``fenced``."""
    write(store, store.put_session(session("a")))
    assert store.session_row("a")["fence"] == 0
    write(store, store.claim("a", 5))
    older = store.submit([store.claim("a", 4)], urgent=True)
    assert not older.wait(10) and older.fenced
    guarded = store.guarded(session("a", fence=4), [store.put_steps("a", 0, steps(1, 2))])
    stale = store.submit(guarded, urgent=True)
    assert not stale.wait(10) and stale.fenced and "fenced: session a" in (stale.error or "")
    write(store, store.guarded(session("a", fence=5), [store.put_steps("a", 0, steps(1, 3))]))
    assert store.session_row("a")["fence"] == 5 and store.max_seq("a") == 3


def test_a_writer_transaction_left_idle_is_ended_and_the_writer_goes_on(pg: PgCluster) -> None:
    """A stall inside a write transaction (its guard holding the session row) is bounded:
    PostgreSQL ends a writer's transaction idle for ``idle_transaction_seconds``, freeing its
    locks for a claim; the writer's next write commits on a new connection."""
    url = pg.database(f"contract{next(_names)}")
    store = PgStore(url, idle_transaction_seconds=0.3)
    try:
        write(store, store.put_session(session("a")))
        with store.writing.connection() as conn:
            assert conn.execute("SHOW idle_in_transaction_session_timeout").fetchone() == {
                "idle_in_transaction_session_timeout": "300ms"
            }
            stalled = conn.info.backend_pid
            conn.execute("BEGIN")
            conn.execute("UPDATE sessions SET fence = fence WHERE id = 'a'")  # the row locked
            with psycopg.connect(url, autocommit=True) as other:  # a claim goes through
                other.execute("SET lock_timeout = '20s'")
                other.execute("UPDATE sessions SET fence = 3 WHERE id = 'a'")
                gone = "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
                wait_for(lambda: other.execute(gone, (stalled,)).fetchone() == (0,), timeout=20)
            with pytest.raises(psycopg.errors.IdleInTransactionSessionTimeout):
                conn.execute("COMMIT")  # what the stalled process finds when it wakes
        write(store, store.put_steps("a", 0, steps(1, 2)))
        assert store.max_seq("a") == 2 and store.session_row("a")["fence"] == 3
    finally:
        store.close()


def test_history_reads(store: HistoryStore) -> None:
    write(store, store.put_session(session()), store.put_steps("s", 0, steps(1, 100)))
    write(store, store.put_steps("s", 0, [(100, 100, None, 1, record(100, extra=1))]))  # replaced
    assert store.max_seq("s") == 100 and store.max_seq("none") == 0
    after = store.records_after("s", 95, 3)
    assert after == [(96, record(96, step=96, loss=1 / 96)), (97, record(97, step=97, loss=1 / 97)),
                     (98, record(98, step=98, loss=1 / 98))]  # fmt: skip
    assert [s for s, _ in store.metrics_between("s", 0, 10, 40)] == [20, 30, 40]
    assert [json.loads(r)["seq"] for r in store.history("s", 0, 90, 100, 4, False)] == [
        92, 96, 100]  # fmt: skip
    assert [json.loads(r)["seq"] for r in store.history("s", 0, 0, 3, 1, True)] == [10, 20, 30]
    sampled = store.sampled("s", 0, 0, (0, 30), 7, 100)
    assert [json.loads(r)["seq"] for r in sampled] == [7, 10, 14, 20, 21, 28, 30]
    assert store.sampled("s", 0, 0, (0, 30), 7, 3) == sampled[:3]
    assert store.last_row("s", 0) == {"seq": 100, "generation": 0, "extra": 1}
    assert store.last_row("s", 1) is None
    losses = store.losses_after("s", 0, 97, 10)
    assert losses == [(98, 98, 1 / 98), (99, 99, 1 / 99), (100, 100, None)]


def test_checkpoints_and_keyframes(store: HistoryStore) -> None:
    write(store, store.put_session(session()), store.put_checkpoint("s", 0, 5, '{"w": [1.5]}'))
    write(store, store.put_checkpoint("s", 1, 9, '{"w": [2.5]}'))
    assert store.checkpoint("s") == {"w": [2.5]} and store.checkpoint_at("s") == (1, 9)
    assert store.checkpoint("none") is None and store.checkpoint_at("none") is None
    blob = bytes(range(256)) * 4
    write(store, store.put_keyframes("s", 0, [(0, "step", blob), (10, "event", b"e"),
                                              (20, "step", b"a"), (30, "step", b"b")]))  # fmt: skip
    write(store, store.put_keyframes("s", 0, [(10, "step", b"x")]))  # an event stays an event
    assert store.keyframe("s", 0, 15) == (10, "event", b"x")
    assert store.keyframe("s", 0, 0) == (0, "step", blob)
    assert store.keyframe("s", 1, 99) is None
    write(store, store.put_keyframes("s", 1, [(0, "restore", b"r")]))
    assert store.keyframe_sizes("s") == [
        (0, 0, "step", 1024), (0, 10, "event", 1), (0, 20, "step", 1), (0, 30, "step", 1),
        (1, 0, "restore", 1),
    ]  # fmt: skip
    write(store, store.thin_keyframes("s", 0, 30, 20), frees=True)
    assert [st for g, st, _, _ in store.keyframe_sizes("s") if g == 0] == [0, 10, 20, 30]
    write(store, store.thin_keyframes("s", 0, 31, 20), frees=True)
    assert [st for g, st, _, _ in store.keyframe_sizes("s") if g == 0] == [0, 10, 20]
    write(store, store.drop_keyframes("s", 1), frees=True)
    assert store.keyframe_sizes("s") == [(1, 0, "restore", 1)]


def test_fork_cut_compact_delete(store: HistoryStore) -> None:
    write(store, store.put_session(session("a")), store.put_session(session("f")))
    write(store, store.put_steps("a", 2, [(50 + i, i, 0.5, 0, record(50 + i, 2, step=i))
                                          for i in range(1, 11)]))  # fmt: skip
    write(store, store.put_keyframes("a", 2, [(0, "step", b"k0"), (5, "step", b"k5"),
                                              (8, "step", b"k8")]))  # fmt: skip
    write(store, store.copy_upto("a", "f", 2, 6))
    copied = store.records_after("f", 0, 100)
    assert copied == [(i, record(i, 0, step=i)) for i in range(1, 7)]  # renumbered, text kept
    assert store.keyframe_sizes("f") == [(0, 0, "step", 2), (0, 5, "step", 2)]
    write(store, store.cut_history("a", 55), frees=True)
    assert store.max_seq("a") == 55
    write(store, store.put_steps("a", 0, steps(100, 140)))
    write(store, store.compact_history("a", 130, 4), frees=True)
    kept = [s for s, _ in store.records_after("a", 99, 1000)]
    assert kept == [100, 104, 108, 110, 112, 116, 120, 124, 128, 130, *range(131, 141)]
    assert store.session_row("a")["full_from"] == 130
    write(store, store.put_checkpoint("a", 0, 1, "{}"), store.delete_session("a"), frees=True)
    assert store.session_row("a") is None and store.records_after("a", 0, 10) == []
    assert store.checkpoint("a") is None and store.keyframe_sizes("a") == []
    assert [r["id"] for r in store.sessions()] == ["f"]


def test_races(store: HistoryStore) -> None:
    write(store, store.put_race("r2", "o", "two", "{}", "[]", 2.0))
    write(store, store.put_race("r1", "o", "one", '{"a": 1}', '[{"name": "x"}]', 1.0))
    write(store, store.put_race("r2", "o", "zwei", "{}", "[]", 2.0))
    assert [(r["id"], r["name"]) for r in store.races()] == [("r1", "one"), ("r2", "zwei")]
    # the race of a run's session: "a_b" as a LIKE pattern matches r3's "axb" too
    write(store, store.put_race("r3", "o", "three", "{}", json.dumps(
        [{"name": "a", "session": "axb"}, {"name": "b", "session": "c-d"}]), 3.0))
    write(store, store.put_race("r4", "o", "four", "{}", json.dumps(
        [{"name": "a", "session": "a_b"}, {"name": "b", "session": "e"}]), 4.0))
    found = [store.race_with(s)["id"] for s in ("axb", "c-d", "a_b", "e")]
    assert found == ["r3", "r3", "r4", "r4"]
    assert store.race_with("c") is None and store.race_with("x") is None
    write(store, store.delete_race("r1"), frees=True)
    assert [r["id"] for r in store.races()] == ["r2", "r3", "r4"]


def test_commit_order_after_and_a_bad_write(
    kind: str, tmp_path: Path, pg: PgCluster, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(kind, tmp_path, pg, commit_interval=0.2)  # the writes share a batch
    try:
        order: list[str] = []
        lock = threading.Lock()

        def after(name: str) -> Any:
            def run() -> None:
                assert store.session_row(name) is not None  # committed when it runs
                with lock:
                    order.append(name)
            return run

        good = store.submit([store.put_session(session("a"))], after("a"))
        bad = store.submit([store.put_session(session("b", generation=2**70))], after("b"))
        later = store.submit([store.put_session(session("c"))], after("c"))
        assert good.wait(10) and later.wait(10)
        assert not bad.wait(10) and bad.error  # its caller is told
        assert store.failing is None  # a bad value is not the storage failing
        assert order == ["a", "c"]
        assert sorted(r["id"] for r in store.sessions()) == ["a", "c"]
        assert "write failed" in caplog.text
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_a_full_store_refuses_writes_until_a_delete_frees_room(
    kind: str, tmp_path: Path, pg: PgCluster
) -> None:
    cap = 2 * 2**20
    store = open_store(kind, tmp_path, pg, max_bytes=cap, commit_interval=0.0)
    try:
        write(store, store.put_session(session("filler")), store.put_session(session("s")))
        noise = random.Random(1)
        refused = None
        for i in range(40):  # 256 KB each that does not compress (PostgreSQL's TOAST would)
            frame = [(i, "step", noise.randbytes(256 * 1024))]
            w = store.submit([store.put_keyframes("filler", 0, frame)], urgent=True)
            if not w.wait(10):
                refused = w
                break
        assert refused is not None and "full" in (refused.error or "")
        assert store.failing is not None and "full" in store.failing
        assert store.used_bytes() > cap * 0.7
        after = store.submit([store.put_steps("s", 0, steps(1, 2))], urgent=True)
        assert not after.wait(10) and store.max_seq("s") == 0  # refused while failing
        assert store.records_after("s", 0, 10) == []  # reads still answer
        full = store.used_bytes()
        write(store, store.delete_session("filler"), frees=True)  # tried during the episode
        # the episode ends by itself: the probe finds the room (PostgreSQL: after its VACUUM),
        # and the size retention reads counts the room as free
        deadline = time.monotonic() + 20
        while (store.failing or store.used_bytes() > full / 2) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert store.failing is None and store.used_bytes() < full / 2
        write(store, store.put_steps("s", 0, steps(1, 2)))
        assert store.max_seq("s") == 2
    finally:
        store.close()
