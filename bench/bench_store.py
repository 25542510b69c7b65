"""Bench: the store seam on PostgreSQL against SQLite, as a ratio (issue 16).

The writes a running session makes (app/sessions/session.py: batches of step rows, a status
now and then, a checkpoint every ``checkpoint_seconds``), from ``--sessions`` threads at once
through each store's one writer thread; then the reads a stream resume and a page's curves
make. SQLite is the default file (WAL, synchronous=NORMAL); PostgreSQL 15 is a throwaway
cluster on loopback (tests/pgtools.py), durable as configured by default (``fsync`` on, a WAL
flush a commit) and with ``synchronous_commit=off`` (a crash of PostgreSQL itself may lose the
last fraction of a second, about what SQLite's NORMAL risks on power loss). "guarded" is what
web replicas write (app/sessions/fencing.py): each session claimed with a fence, and each of
its writes led by the guard, a no-op UPDATE of its row that must match; its ratio to the same
database unguarded is the guards' cost.

    .venv/bin/python -m bench store [--sessions 8] [--seconds 5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from pgtools import PgCluster  # noqa: E402

from app.core.history import HistoryStore  # noqa: E402
from app.core.pgstore import PgStore  # noqa: E402
from app.core.store import Store  # noqa: E402

BATCH = 40  # step rows a worker's batch carries at full speed (~25 batches a second)
CHECKPOINT = json.dumps({"w": [[0.1] * 64] * 8})  # ~4 KB, a small net's


def record(sid: str, seq: int) -> str:
    rec = {"seq": seq, "generation": 0, "sid": sid, "step": seq, "epoch": 1, "loss": 1.0 / seq,
           "grad_norm": 0.5, "lr": 0.1}  # fmt: skip
    return json.dumps(rec, separators=(",", ":"))


def write_load(store: HistoryStore, sessions: int, seconds: float, fence: int = 0) -> float:
    """Step rows committed a second, ``sessions`` writers submitting as fast as commits go;
    with a ``fence``, each session claimed with it and its writes guarded."""
    done = [0] * sessions
    stop = time.monotonic() + seconds

    def session(i: int) -> None:
        sid = f"s{i}"
        s = SimpleNamespace(id=sid, owner="o", name="", config={}, status="running",
                            generation=0, seq_base=0, counters={}, created=0.0,
                            reason=None, fence=fence)  # fmt: skip
        assert store.submit([store.put_session(s)], urgent=True).wait()
        if fence:
            assert store.submit([store.claim(sid, fence)], urgent=True).wait()
        seq, last_checkpoint = 0, time.monotonic()
        while time.monotonic() < stop:
            rows = [(q, q, 1.0 / q, q % 20 == 0, record(sid, q))
                    for q in range(seq + 1, seq + BATCH + 1)]  # fmt: skip
            statements = [store.put_steps(sid, 0, rows)]
            if time.monotonic() - last_checkpoint > 2.0:
                statements += [store.put_checkpoint(sid, 0, seq, CHECKPOINT), store.put_status(s)]
                last_checkpoint = time.monotonic()
            assert store.submit(store.guarded(s, statements)).wait(), "a write failed"
            seq += BATCH
            done[i] = seq

    t0 = time.monotonic()
    threads = [threading.Thread(target=session, args=(i,)) for i in range(sessions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(done) / (time.monotonic() - t0)


def read_ms(fn: Callable[[], object], n: int = 200) -> float:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def measure(store: HistoryStore, sessions: int, seconds: float, fence: int = 0) -> dict[str, float]:
    try:
        rate = write_load(store, sessions, seconds, fence)
        top = store.max_seq("s0")
        return {
            "steps/s written": rate,
            "resume read (256 records), ms": read_ms(
                lambda: store.records_after("s0", top - 300, 256)),
            "curves read (metrics rows), ms": read_ms(
                lambda: store.history("s0", 0, 0, 2000, 1, True)),
            "session row, ms": read_ms(lambda: store.session_row("s0")),
        }
    finally:
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results["SQLite"] = measure(Store(Path(tmp) / "db.sqlite3"), args.sessions, args.seconds)
    for label, options in (
        ("PostgreSQL", "-c max_connections=200"),
        ("PostgreSQL async commit", "-c max_connections=200 -c synchronous_commit=off"),
    ):
        cluster = PgCluster(options)
        try:
            # unguarded and guarded alternate, each in a database of its own, twice: the
            # guards' cost is their ratio, each side the better of its two runs
            for i, fence in enumerate((0, 7, 0, 7)):
                name = f"{label} guarded" if fence else label
                url = cluster.database(f"bench{i}")
                got = measure(PgStore(url), args.sessions, args.seconds, fence)
                results[name] = better(results.get(name), got)
        finally:
            cluster.remove()
    plain = [n for n in results if not n.endswith("guarded")]
    table(results, plain, args.sessions)
    for name in plain[1:]:
        table(results, [name, f"{name} guarded"], args.sessions)


def better(old: dict[str, float] | None, new: dict[str, float]) -> dict[str, float]:
    """Of two runs, per figure the better: the most steps/s, the least ms."""
    if old is None:
        return new
    return {k: max(v, new[k]) if "/s" in k else min(v, new[k]) for k, v in old.items()}


def table(results: dict[str, dict[str, float]], names: list[str], sessions: int) -> None:
    """The figures of the stores ``names``, with their ratios to the first."""
    base = results[names[0]]
    print(f"\n| store, {sessions} sessions writing | " + " | ".join(names)
          + " | " + " | ".join(f"{n} / {names[0]}" for n in names[1:]) + " |")  # fmt: skip
    print("|---" * (2 * len(names)) + "|")
    for key in base:
        values = [results[n][key] for n in names]
        ratios = [results[n][key] / base[key] for n in names[1:]]
        print(f"| {key} | " + " | ".join(f"{v:,.2f}" for v in values) + " | "
              + " | ".join(f"{r:.2f}" for r in ratios) + " |")  # fmt: skip


if __name__ == "__main__":
    main()
