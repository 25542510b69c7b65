"""Bench: a race of 4 runs of the default net, each run's page open, as a learner comparing
optimizers would have them.

A real server; one race of the ``circle-playground`` preset's config with 4 optimizer runs
(SGD, Momentum 0.9, RMSProp, Adam), running. Each run's ``page-events`` stream is followed at
30 frames/s asked (bench_classroom.py's client process), and the race's own stream
(``/api/races/{id}/events``) is read meanwhile. Reported: each run's network frames/s (min /
median; the issue's figure: ≥ 20), the race stream's frames/s and the largest step difference
between the runs in any of its frames (≤ 1: lock-step), and the steps a second each run
trains, beside the same 4 configs run as separate sessions (the price of lock-step).

    .venv/bin/python bench/bench_race.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from apptools import Server  # noqa: E402

from bench.bench_classroom import CLIENTS, LIMITS  # noqa: E402

RUNS = [
    {"name": "SGD", "changes": {"optimizer": {"name": "sgd", "lr": 0.03}}},
    {"name": "Momentum", "changes": {"optimizer": {"name": "sgd", "lr": 0.03, "momentum": 0.9}}},
    {"name": "RMSProp", "changes": {"optimizer": {"name": "rmsprop", "lr": 0.01}}},
    {"name": "Adam", "changes": {"optimizer": {"name": "adam", "lr": 0.01}}},
]


def race_frames(url: str, race: str, token: str, stop: threading.Event, out: list[Any]) -> None:
    """The race stream's frames (their step lists) until ``stop``."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/event-stream"}
    with httpx.stream("GET", f"{url}/api/races/{race}/events", headers=headers, timeout=60) as r:
        event = ""
        for line in r.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "frame":
                out.append((time.monotonic(), json.loads(line[5:])["steps"]))


def raced(url: str, seconds: float) -> dict[str, Any]:
    with httpx.Client(base_url=url, timeout=60) as http:
        base = http.get("/api/catalog/presets/circle-playground").json()["config"]
        made = http.post("/api/races", json={"config": base, "runs": RUNS})
        made.raise_for_status()
        body = made.json()
        race, token = body["race"]["id"], body["owner_token"]
        h = {"Authorization": f"Bearer {token}"}
        sids = [run["session"] for run in body["race"]["runs"]]
        http.post(f"/api/races/{race}/run", headers=h).raise_for_status()
        stop, seen = threading.Event(), []
        reader = threading.Thread(target=race_frames, args=(url, race, token, stop, seen))
        reader.start()
        streams = [(f"/api/sessions/{sid}/page-events?fps=30", token) for sid in sids]
        before = [http.get(f"/api/sessions/{s}", headers=h).json()["step"] for s in sids]
        t0 = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-c", CLIENTS, url, str(seconds)],
            input=json.dumps(streams), capture_output=True, text=True, timeout=seconds + 120,
        )
        dt = time.monotonic() - t0
        after = [http.get(f"/api/sessions/{s}", headers=h).json()["step"] for s in sids]
        stop.set()
        http.post(f"/api/races/{race}/pause", headers=h)
        reader.join(timeout=30)
    if proc.returncode:
        raise RuntimeError(proc.stderr)
    rates = json.loads(proc.stdout)
    span = (seen[-1][0] - seen[0][0]) if len(seen) > 1 else float("nan")
    spread = max((max(s) - min(s) for _, s in seen if s), default=-1)
    return {
        "min": min(rates),
        "median": statistics.median(rates),
        "race_fps": (len(seen) - 1) / span if span == span and span > 0 else float("nan"),
        "spread": spread,
        "steps": statistics.median([(a - b) / dt for a, b in zip(after, before, strict=True)]),
    }


def separate(url: str, seconds: float) -> float:
    """Median steps/s of the same 4 configs as separate running sessions."""
    with httpx.Client(base_url=url, timeout=60) as http:
        base = http.get("/api/catalog/presets/circle-playground").json()["config"]
        runs = []
        for run in RUNS:
            config = {**base, **run["changes"]}
            r = http.post("/api/sessions", json={"config": config})
            r.raise_for_status()
            sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
            run_it = http.post(f"/api/sessions/{sid}/run", json={"steps": 10**6}, headers=h)
            run_it.raise_for_status()
            runs.append((sid, h))
        time.sleep(1.0)
        before = [http.get(f"/api/sessions/{s}", headers=h).json()["step"] for s, h in runs]
        time.sleep(seconds)
        after = [http.get(f"/api/sessions/{s}", headers=h).json()["step"] for s, h in runs]
        for sid, h in runs:
            http.post(f"/api/sessions/{sid}/pause", headers=h)
    return statistics.median([(a - b) / seconds for a, b in zip(after, before, strict=True)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=8.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), **LIMITS) as server:
        r = raced(server.url, args.seconds)
    with tempfile.TemporaryDirectory() as tmp, Server(Path(tmp), **LIMITS) as server:
        alone = separate(server.url, args.seconds)
    print("| 4-run race, circle-playground | value |")
    print("|---|---|")
    print(f"| each run's page, network frames/s (min / median) | {r['min']:.1f} / "
          f"{r['median']:.1f} |")
    print(f"| race stream frames/s | {r['race_fps']:.1f} |")
    print(f"| largest step difference in a race frame | {r['spread']} |")
    print(f"| steps/s per run, raced / as separate sessions | {r['steps']:.0f} / {alone:.0f} |")


if __name__ == "__main__":
    main()
