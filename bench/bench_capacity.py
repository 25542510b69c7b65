"""Bench: per-node capacity, in the embedded default and in the cluster configuration.

Capacity is the most ``N`` one server on this machine keeps at its promises, for two loads:

- sessions: ``N`` sessions training at once, each followed by a JSON SSE client at 10 frames/s
  (bench/bench_sessions.py ``many``: the sessions bench's net);
- pages: ``N`` learners' ``circle-playground`` sessions, each followed by its page stream at
  30 frames/s (bench/bench_classroom.py ``case``).

``N`` passes when every client gets at least ``SHARE`` of its rate (9 and 27 frames/s) and
``/api/healthz`` p99 is at most ``P99_MS``. The search doubles ``N`` from ``--start`` up to
``--max`` until one fails, then bisects ``--bisect`` times between the last pass and that fail;
every probe is a fresh server, and a probe that errs (say, a server that did not start) fails.

Both in the embedded default (SQLite, local worker processes, in-process hubs) and in the
cluster configuration on this one node: a Ray cluster on loopback (tests/raytools.py: a head
that only coordinates and one node with this machine's CPUs; each actor asks ``ACTOR_CPUS``, so
Ray's placement never bounds ``N``), PostgreSQL (tests/pgtools.py, a fresh database per server)
and Redis (tests/redistools.py). Printed as a table with the ratio cluster / embedded, then the
time for a session to continue after its Ray node is lost, as
tests/system/cluster/test_ray_backend.py measures it (that test, run with ``-s``; its figure).

    .venv/bin/python bench/bench_capacity.py [--start 10] [--max 80] [--seconds 5] [--bisect 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server  # noqa: E402
from pgtools import PgCluster  # noqa: E402
from raytools import RayCluster, start_cluster  # noqa: E402
from redistools import RedisServer  # noqa: E402

from bench import bench_classroom, bench_sessions  # noqa: E402

RATE = {"sessions": 10.0, "pages": 30.0}  # frames/s each client asks for
SHARE = 0.9  # ... of which it must get at least this share
P99_MS = 50.0  # /api/healthz p99 bound
ACTOR_CPUS = 0.01  # a session actor's CPU ask: 100 a CPU, so placement bounds nothing here
NODE_LOSS_TEST = "tests/system/cluster/test_ray_backend.py"
NODE_LOSS_LINE = re.compile(r"node lost → the next step on screen \(the other node\) in ([\d.]+) s")

Probe = Callable[[int], tuple[float, float]]  # N -> (slowest client's frames/s, p99 ms)


class Cluster:
    """PostgreSQL, Redis and a Ray cluster on loopback; ``settings()`` for each new server."""

    def __init__(self, pg_root: Path | None = None) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="bpp-capacity-"))
        self.pg = PgCluster(root=pg_root)
        self.redis = RedisServer(self.folder).start()
        self.ray: RayCluster = start_cluster(nodes=1, cpus=os.cpu_count() or 1)
        self.databases = 0

    def settings(self) -> dict[str, Any]:
        self.databases += 1
        return {
            "backend": "ray", "ray_address": self.ray.address, "ray_actor_cpus": ACTOR_CPUS,
            "database_url": self.pg.database(f"capacity{self.databases}"),
            "fanout": self.redis.url,
        }

    def close(self) -> None:
        self.ray.close()
        self.redis.stop()
        self.pg.remove()
        shutil.rmtree(self.folder, ignore_errors=True)


def sessions_probe(settings: Callable[[], dict[str, Any]], seconds: float) -> Probe:
    def probe(n: int) -> tuple[float, float]:
        with tempfile.TemporaryDirectory() as tmp:
            server = Server(Path(tmp), **bench_sessions.LIMITS, **settings())
            try:
                server.start(timeout=120)
                res = asyncio.run(bench_sessions.many(server, n, seconds))
            finally:
                server.stop()
        return res["fps_min"], res["health_p99"] * 1000

    return probe


def pages_probe(settings: Callable[[], dict[str, Any]], seconds: float) -> Probe:
    def probe(n: int) -> tuple[float, float]:
        res = bench_classroom.case(n, seconds, False, settings=settings())
        return res["min"], res["p99"]

    return probe


def search(name: str, probe: Probe, rate: float, start: int, most: int, bisect: int) -> str:
    """The largest N that passed (``≥ N`` when the cap was reached), each probe logged."""

    def passes(n: int) -> bool:
        try:
            fps, p99 = probe(n)
        except Exception as exc:  # a probe that errs fails; the log says why
            print(f"  {name} N={n}: failed to run ({type(exc).__name__}: {exc})", flush=True)
            return False
        ok = fps >= SHARE * rate and p99 <= P99_MS
        print(f"  {name} N={n}: slowest {fps:.2f} frames/s, healthz p99 {p99:.1f} ms"
              f" -> {'pass' if ok else 'fail'}  (load {load()})", flush=True)
        return ok

    good, bad, n = 0, 0, start
    while n <= most:
        if not passes(n):
            bad = n
            break
        good, n = n, n * 2
    if not bad:
        return f"≥ {good}"
    for _ in range(bisect):
        mid = (good + bad) // 2
        if mid in (good, bad):
            break
        good, bad = (mid, bad) if passes(mid) else (good, mid)
    return str(good)


def node_loss_seconds() -> str:
    """The node-loss test's own figure (a head and two 1-CPU nodes; it removes the node that
    holds a running session's actor)."""
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", NODE_LOSS_TEST, "-k", "lost_node", "-s", "-q",
         "-p", "no:cacheprovider"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    found = NODE_LOSS_LINE.search(proc.stdout)
    if found is None:
        return f"not measured (pytest exited {proc.returncode})"
    return f"{float(found.group(1)):.2f} s"


def load() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def ratio(cluster: str, embedded: str) -> str:
    a, b = (float(x.lstrip("≥ ")) for x in (cluster, embedded))
    return f"{a / b:.2f}" if b else "n/a"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", type=int, default=10)
    parser.add_argument("--max", type=int, default=80, help="the search's cap (a Ray actor is"
                        " a process of ~100 MB: mind the memory)")
    parser.add_argument("--seconds", type=float, default=5.0, help="each probe's window")
    parser.add_argument("--bisect", type=int, default=1)
    parser.add_argument("--no-node-loss", action="store_true")
    parser.add_argument("--pg-dir", type=Path, help="where PostgreSQL's data lives (default:"
                        " the temp folder; /dev/shm takes this machine's disk out of it)")
    parser.add_argument("--kinds", default="sessions,pages", help="the loads to search")
    args = parser.parse_args()
    print(f"load average at the start (1 / 5 / 15 min): {load()}", flush=True)
    found: dict[tuple[str, str], str] = {}
    cluster = Cluster(args.pg_dir)
    kinds = [(k, m) for k, m in (("sessions", sessions_probe), ("pages", pages_probe))
             if k in args.kinds.split(",")]  # fmt: skip
    try:
        for config, settings in (("embedded", dict), ("cluster", cluster.settings)):
            for kind, make in kinds:
                probe = make(settings, args.seconds)
                found[config, kind] = search(f"{config} {kind}", probe, RATE[kind], args.start,
                                             args.max, args.bisect)
    finally:
        cluster.close()
    loss = "skipped" if args.no_node_loss else node_loss_seconds()
    print(f"\nload average at the end (1 / 5 / 15 min): {load()}\n")
    print("| per node (this machine) | embedded | cluster on one node | cluster / embedded |")
    print("|---|---|---|---|")
    for kind, what in (("sessions", "sessions training, each followed at 10 frames/s"),
                       ("pages", "page viewers at 30 frames/s, each of its own session")):
        if ("cluster", kind) not in found:
            continue
        emb, clu = found["embedded", kind], found["cluster", kind]
        print(f"| {what} | {emb} | {clu} | {ratio(clu, emb)} |")
    print(f"| a session continues after its Ray node is lost | | {loss} | |")


if __name__ == "__main__":
    main()
