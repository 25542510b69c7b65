"""A write led by a guard (app/core/writer.py ``GUARD``, app/core/writes.py ``guarded`` and
``claim``) commits only while the session's row carries its fence: a stale one fails that write
alone, rolled back whole and marked ``fenced``, while the others of its batch commit. The writer
is dialect-agnostic: SQLite is a real database for it (the cluster's test is
tests/system/cluster/test_fencing.py)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from app.core.store import Store
from app.core.writer import Write

ROW = (
    "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
    " created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def held(fence: int) -> SimpleNamespace:
    """Session ``a`` as a replica holding it with ``fence`` sees it."""
    return SimpleNamespace(id="a", fence=fence)


def step(seq: int) -> tuple[int, int, float, bool, str]:
    return (seq, seq, 0.5, False, "{}")


@pytest.fixture
def store(tmp_path: Path) -> Store:
    failed: list[Write] = []
    s = Store(tmp_path / "db.sqlite3", commit_interval=0.3, on_failed=failed.append)
    s.failed = failed  # type: ignore[attr-defined]
    assert s.submit([(ROW, ("a", "o", "", "{}", "paused", 0, 0, "{}", 0.0, 0.0), False)]).wait(5)
    return s


def seqs(store: Store) -> list[int]:
    return [seq for seq, _, _ in store.losses_after("a", 0, 0, 100)]


def test_a_stale_fence_fails_its_write_alone(store: Store) -> None:
    try:
        assert store.submit([store.claim("a", 2)]).wait(5)
        assert store.session_row("a")["fence"] == 2
        # one batch (the writer gathers for 0.3 s): the holder's, a stale holder's, the holder's
        ours = store.submit(store.guarded(held(2), [store.put_steps("a", 0, [step(1)])]))
        stale = store.submit(
            store.guarded(held(1), [store.put_steps("a", 0, [step(2)]), store.put_status(
                SimpleNamespace(id="a", status="running", reason=None, counters={}))]),
            session_id="a",
        )  # fmt: skip
        after = store.submit(store.guarded(held(2), [store.put_steps("a", 0, [step(3)])]))
        assert ours.wait(5) and after.wait(5)
        assert not stale.wait(5) and stale.fenced
        assert "fenced: session a" in (stale.error or "") and "no longer 1" in (stale.error or "")
        assert store.failed == [stale]  # type: ignore[attr-defined]
        assert seqs(store) == [1, 3]  # nothing of the stale write
        assert store.session_row("a")["status"] == "paused"
        assert store.failing is None  # not a storage failure: later writes go on
    finally:
        store.close()


def test_a_claim_takes_over_and_an_older_or_equal_one_is_refused(store: Store) -> None:
    try:
        assert store.submit([store.claim("a", 3)]).wait(5)
        for fence in (3, 2):  # claimed already with as new a fence: refused
            refused = store.submit([store.claim("a", fence)])
            assert not refused.wait(5) and refused.fenced
        missing = store.submit([store.claim("nowhere", 4)])
        assert not missing.wait(5) and missing.fenced  # not stored: nothing to claim
        assert store.submit([store.claim("a", 4)]).wait(5)
        stale = store.submit(store.guarded(held(3), [store.put_steps("a", 0, [step(1)])]))
        assert not stale.wait(5) and stale.fenced
        assert seqs(store) == []
    finally:
        store.close()


def test_a_session_without_a_fence_writes_unguarded(store: Store) -> None:
    try:
        statements = [store.put_steps("a", 0, [step(1)])]
        assert store.guarded(held(0), statements) == statements  # one process: no guard
        assert store.submit(statements).wait(5)
        assert seqs(store) == [1] and store.session_row("a")["fence"] == 0
    finally:
        store.close()
