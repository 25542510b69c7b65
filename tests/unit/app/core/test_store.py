"""app/core/writer.py's writer thread outlives a write it cannot do: the others in its batch commit,
later writes are not left waiting (a value SQLite cannot bind once ended the thread), and the
failed write says so to its caller."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.store import Store

ROW = (
    "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
    " created, updated) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


def session_row(sid: str, generation: int) -> tuple[object, ...]:
    return (sid, "owner", "", "{}", "paused", generation, 0, "{}", 0.0, 0.0)


@pytest.mark.filterwarnings("ignore")
def test_writer_survives_a_write_it_cannot_do(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = Store(tmp_path / "db.sqlite3", commit_interval=0.2)  # the three share a batch
    try:
        good = store.submit([(ROW, session_row("a", 0), False)])
        bad = store.submit([(ROW, session_row("b", 2**70), False)])  # OverflowError on bind
        later = store.submit([(ROW, session_row("c", 0), False)])
        assert good.wait(5) and later.wait(5)
        assert not bad.wait(5) and "OverflowError" in (bad.error or "")  # its caller is told
        after = store.submit([(ROW, session_row("d", 0), False)])
        assert after.wait(5), "the writer stopped"
        assert sorted(r["id"] for r in store.sessions()) == ["a", "c", "d"]
        assert "write failed" in caplog.text
    finally:
        store.close()
