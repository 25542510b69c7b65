"""Bench: scrubbing back through a long run (issue 13 part 3's figure).

A real server (``python -m app.serve``, its worker processes) trains the default net
(circle-playground) for 100k steps in the background; then ``GET /api/sessions/{id}/at/{step}``
at random steps, timed from the request to the whole answer over HTTP: p50 / p95 / max, with
the keyframe interval, how many steps each answer re-trained, and what the keyframes take on
disk. The target: the state on screen within 300 ms. Takes about a minute on the 2-core
machine; ``--steps`` and ``--scrubs`` make it shorter.

    .venv/bin/python bench/bench_replay.py [--steps 100000] [--scrubs 60]
"""

from __future__ import annotations

import argparse
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server  # noqa: E402

TARGET_MS = 300.0


def keyframes(db: Path, sid: str) -> tuple[int, int]:
    """(count, bytes) of the session's keyframes in the database file."""
    with sqlite3.connect(db) as conn:
        row = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(bytes), 0) FROM keyframes WHERE session_id = ?", (sid,)
        ).fetchone()
    return int(row[0]), int(row[1])


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--scrubs", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp)) as server, httpx.Client(
        base_url=server.url, timeout=60
    ) as http:
        r = http.post("/api/sessions", json={"preset": "circle-playground"})
        sid = r.json()["id"]
        h = {"Authorization": f"Bearer {r.json()['owner_token']}"}
        t0 = time.perf_counter()
        http.post(f"/api/sessions/{sid}/run", json={"steps": args.steps}, headers=h)
        while http.get(f"/api/sessions/{sid}", headers=h).json()["status"] == "running":
            time.sleep(0.25)
        trained = time.perf_counter() - t0
        rng = random.Random(args.seed)
        times: dict[str, list[float]] = {"state": [], "state+gradients+probe": []}
        retrained: list[int] = []
        every = 0
        for i in range(args.scrubs):
            n = rng.randint(0, args.steps)
            name = "state" if i % 2 == 0 else "state+gradients+probe"
            params = [] if name == "state" else [("include", "gradients"), ("include", "probe")]
            t1 = time.perf_counter()
            r = http.get(f"/api/sessions/{sid}/at/{n}", headers=h, params=params)
            body = r.json()
            times[name].append(1000 * (time.perf_counter() - t1))
            assert r.status_code == 200 and body["iteration"] == n, r.text
            retrained.append(body["replay"]["steps"])
            every = body["replay"]["every"]
        count, size = keyframes(Path(tmp) / "playground.sqlite3", sid)
    print(f"\nReplay: scrub to random steps of a {args.steps:,}-step run of circle-playground")
    print(f"  trained in {trained:.1f} s; keyframe interval replay_every = {every} steps;")
    print(f"  keyframes kept: {count} ({size / 1024:.0f} kB); re-trained per scrub: mean "
          f"{statistics.mean(retrained):.0f}, max {max(retrained)} steps\n")
    print(f"  {'request':<24}{'n':>4}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}  target")
    for name, values in times.items():
        p95 = percentile(values, 0.95)
        verdict = "ok" if p95 <= TARGET_MS else "OVER"
        print(f"  {name:<24}{len(values):>4}{percentile(values, 0.5):>10.1f}{p95:>10.1f}"
              f"{max(values):>10.1f}  <= {TARGET_MS:.0f} ms: {verdict}")


if __name__ == "__main__":
    main()
