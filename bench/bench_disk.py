"""Bench: what the history costs on disk, and the bound retention keeps it to (promise 22).

Two real servers, each training one session at full speed:

1. retention off (a window larger than the run): bytes on disk (database + WAL, after the
   server's own WAL checkpoint) per 100k steps;
2. retention on (the default window, or ``--window``): the database's size while a long run
   goes on, sampled every few seconds: where it levels off, against what (1)'s rate would have
   reached.

    .venv/bin/python bench/bench_disk.py [--seconds 60] [--window 100000]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server  # noqa: E402

from bench.bench_sessions import CONFIG  # noqa: E402  (the sessions bench's net)

MB = 2**20


def db_bytes(path: Path) -> tuple[int, int]:
    """(bytes in use: pages minus free pages, bytes on disk: file and WAL)."""
    with sqlite3.connect(path) as conn:
        pages, free, size = (
            conn.execute(f"PRAGMA {p}").fetchone()[0]
            for p in ("page_count", "freelist_count", "page_size")
        )
    wal = path.with_name(path.name + "-wal")
    disk = path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    return (pages - free) * size, disk


def run(window: int, seconds: float, every: float) -> list[tuple[float, int, int, int]]:
    """Train one session at full speed for ``seconds``; samples (t, step, in use, on disk)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp)
        settings = {"history_window_steps": window, "cull_interval_seconds": 1.0}
        samples = []
        with Server(path, **settings) as server, httpx.Client(base_url=server.url) as http:
            r = http.post("/api/sessions", json={"config": CONFIG})
            sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
            http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6}, headers=h)
            t0 = time.monotonic()
            while time.monotonic() - t0 < seconds:
                time.sleep(every)
                body = http.get(f"/api/sessions/{sid}", headers=h).json()
                used, disk = db_bytes(path / "playground.sqlite3")
                samples.append((time.monotonic() - t0, body["step"], used, disk))
                if body["status"] != "running":
                    break
            http.post(f"/api/sessions/{sid}/pause", headers=h)
        used, disk = db_bytes(path / "playground.sqlite3")  # after the shutdown's checkpoint
        samples.append((time.monotonic() - t0, samples[-1][1], used, disk))
        return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--window", type=int, default=100_000)
    args = parser.parse_args()

    off = run(10**9, min(args.seconds, 20.0), 2.0)
    steps, disk = off[-1][1], off[-1][3]
    per_100k = disk / steps * 100_000
    print("| disk, retention off | value |\n|---|---|")
    print(f"| steps trained | {steps:,} |")
    print(f"| bytes on disk per 100k steps | {per_100k / MB:.1f} MB |")

    on = run(args.window, args.seconds, 5.0)
    print(f"\n| disk, window {args.window:,} steps: time | steps | in use | on disk |"
          " unbounded at this step |\n|---|---|---|---|---|")
    for t, step, used, disk_now in on:
        print(f"| {t:.0f} s | {step:,} | {used / MB:.1f} MB | {disk_now / MB:.1f} MB |"
              f" {per_100k * step / 100_000 / MB:.1f} MB |")
    top = max(s[2] for s in on)
    print(f"\nlargest in use: {top / MB:.1f} MB after {on[-1][1]:,} steps"
          f" ({per_100k * on[-1][1] / 100_000 / MB:.1f} MB without retention)")


if __name__ == "__main__":
    main()
