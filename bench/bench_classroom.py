"""Bench: a classroom on one server — learners watching the playground page's stream.

Each learner has their own running session (the ``circle-playground`` preset) and follows its
``page-events`` stream at 30 frames/s asked, as the playground page does; a teacher's projected
session is also opened by the whole class (30 viewers of one session). Reported per case: each
client's ``network`` frames/s (min / median over the clients), ``/api/healthz`` p99 (probed from
a separate process), and the bytes moved from the training workers to the web process per page
frame (the server's own counters, ``/api/healthz`` → ``pages``), also for one digits-mlp page;
and the web process's CPU time per network frame the clients got, over the same window (a
figure a busy machine moves less than the frame rates: 1000 / it is what one core could serve).

The clients run in a process of their own and only count event lines in the raw bytes, so the
bench's parsing does not take the server's CPU. Ranges over ``--runs`` runs.

    .venv/bin/python bench/bench_classroom.py [--learners 1,10,30,100] [--seconds 8] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server  # noqa: E402
from faulttools import Prober  # noqa: E402

# The client process: opens one stream per (session, token) pair read from stdin, waits until
# every stream has its first network frame, counts network frames for the window, prints JSON.
CLIENTS = r"""
import asyncio, json, sys, time
from urllib.parse import urlsplit

async def follow(host, port, path, token, counts, i, ready):
    reader, writer = await asyncio.open_connection(host, port)
    writer.write((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n"
                  f"Authorization: Bearer {token}\r\n\r\n").encode())
    await writer.drain()
    tail = b""
    while True:
        data = await reader.read(65536)
        if not data:
            return
        seen = (tail + data).count(b"event: network\n")
        tail = data[-16:]
        if seen:
            counts[i] += seen
            ready[i].set()

async def main():
    url, seconds = sys.argv[1], float(sys.argv[2])
    pairs = json.loads(sys.stdin.read())
    u = urlsplit(url)
    counts = [0] * len(pairs)
    ready = [asyncio.Event() for _ in pairs]
    tasks = [asyncio.create_task(follow(u.hostname, u.port, path, token, counts, i, ready))
             for i, (path, token) in enumerate(pairs)]
    await asyncio.wait_for(asyncio.gather(*(e.wait() for e in ready)), 60)
    await asyncio.sleep(1.0)  # past the first frames' burst
    start = list(counts); t0 = time.monotonic()
    print("counting", flush=True)  # the bench reads the server's CPU time now, and at the end
    await asyncio.sleep(seconds)
    dt = time.monotonic() - t0
    print(json.dumps([(c - s) / dt for c, s in zip(counts, start)]), flush=True)
    for t in tasks:
        t.cancel()

asyncio.run(main())
"""


# the bench's clients all come from one address: its stream and owner caps are raised
LIMITS = {"max_streams_per_address": 1000, "max_streams_per_session": 64,
          "max_new_owners_per_address": 1000, "max_streams_total": 1000}


def make_sessions(
    url: str, n: int, preset: str = "circle-playground", speed: float | None = None
) -> list[tuple[str, str]]:
    """``n`` running sessions of ``preset``, each with its own owner: (id, token); ``speed``:
    their steps a second (None: as fast as they train)."""
    out = []
    with httpx.Client(base_url=url, timeout=60) as http:
        for _ in range(n):
            r = http.post("/api/sessions", json={"preset": preset})
            if r.status_code != 201:
                raise RuntimeError(r.text)
            body = r.json()
            sid, token = body["id"], body["owner_token"]
            h = {"Authorization": f"Bearer {token}"}
            body = {"steps": 1_000_000, **({"speed": speed} if speed else {})}
            run = http.post(f"/api/sessions/{sid}/run", json=body, headers=h)
            run.raise_for_status()
            out.append((sid, token))
            http.cookies.clear()  # the next learner is a new owner
    return out


def started(url: str, pairs: list[tuple[str, str]], timeout: float = 300) -> None:
    """Wait until every session has trained a step (a local worker starts a run in ~0.1 s, a
    new Ray actor in ~1 s each)."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=url, timeout=60) as http:
        for sid, token in dict(pairs).items():
            h = {"Authorization": f"Bearer {token}"}
            while http.get(f"/api/sessions/{sid}", headers=h).json()["step"] == 0:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"runs did not start in {timeout} s")
                time.sleep(0.1)


def gauges(url: str) -> dict[str, Any]:
    return dict(httpx.get(url + "/api/healthz", timeout=30).json().get("pages") or {})


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(
    url: str, pairs: list[tuple[str, str]], seconds: float, pid: int
) -> dict[str, Any]:
    streams = [(f"/api/sessions/{sid}/page-events?fps=30", tok) for sid, tok in pairs]
    before = gauges(url)
    with Prober(url + "/api/healthz") as probe:
        client = subprocess.Popen(
            [sys.executable, "-c", CLIENTS, url, str(seconds)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        assert client.stdin is not None and client.stdout is not None
        client.stdin.write(json.dumps(streams))
        client.stdin.close()
        client.stdout.readline()  # "counting"
        cpu0 = cpu_seconds(pid)
        out = client.stdout.readline()
        cpu = cpu_seconds(pid) - cpu0
        if client.wait(timeout=120) or not out:
            raise RuntimeError("the clients failed")
    after = gauges(url)
    rates = json.loads(out)
    frames = after.get("frames", 0) - before.get("frames", 0)
    moved = after.get("bytes", 0) - before.get("bytes", 0)
    return {
        "min": min(rates),
        "median": statistics.median(rates),
        "p99": probe.p99() * 1000,
        "bytes": moved / frames if frames else float("nan"),
        # the web process's CPU per network frame the clients got: its cost, which a busy
        # machine changes less than the frame rates (1000 / this: frames a second one core
        # would serve)
        "cpu_ms": cpu * 1000 / (sum(rates) * seconds) if sum(rates) else float("nan"),
    }


def case(
    learners: int,
    seconds: float,
    shared: bool,
    preset: str = "circle-playground",
    settings: dict[str, Any] | None = None,
    speed: float | None = None,
) -> dict[str, Any]:
    limits = {**LIMITS, **(settings or {})}
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), **limits) as server:
        pairs = make_sessions(server.url, 1 if shared else learners, preset, speed)
        if shared:
            pairs = pairs * learners
        started(server.url, pairs)
        return measure(server.url, pairs, seconds, server.proc.pid)


def rng(values: list[float], digits: int = 1) -> str:
    lo, hi = min(values), max(values)
    return f"{lo:.{digits}f}" if round(lo, digits) == round(hi, digits) else (
        f"{lo:.{digits}f}–{hi:.{digits}f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--learners", default="1,10,30,100")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--no-shared", action="store_true", help="skip 30 viewers of one session")
    ap.add_argument(
        "--speed", type=float, default=None,
        help="the runs' steps/s (the page's play button asks 30; default: as fast as they train)",
    )
    ap.add_argument(
        "--replay-every", type=int, default=None, help="keyframe interval (BPP_REPLAY_EVERY)"
    )
    args = ap.parse_args()
    settings = {"replay_every": args.replay_every} if args.replay_every else {}
    cases = [(int(n), False) for n in args.learners.split(",")]
    if not args.no_shared:
        cases.append((30, True))
    print(
        "| case | network frames/s each (min / median) | healthz p99 ms | bytes/page frame "
        "| web process CPU ms/frame |"
    )
    print("|---|---|---|---|---|")
    for n, shared in cases:
        runs = [
            case(n, args.seconds, shared, settings=settings, speed=args.speed)
            for _ in range(args.runs)
        ]
        name = "30 viewers of one session" if shared else f"{n} learners, own sessions"
        print(
            f"| {name} | {rng([r['min'] for r in runs])} / {rng([r['median'] for r in runs])} "
            f"| {rng([r['p99'] for r in runs], 0)} | {rng([r['bytes'] for r in runs], 0)} "
            f"| {rng([r['cpu_ms'] for r in runs], 2)} |",
            flush=True,
        )
    print()
    print("| one learner's page, preset | bytes per page frame, worker → web process |")
    print("|---|---|")
    for preset in ("circle-playground", "digits-mlp"):
        runs = [case(1, args.seconds, False, preset) for _ in range(args.runs)]
        print(f"| {preset} | {rng([r['bytes'] for r in runs], 0)} |", flush=True)


if __name__ == "__main__":
    main()
