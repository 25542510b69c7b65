"""Bench: one session's training on Ray actors (``BPP_BACKEND=ray``) against local workers.

A loopback Ray cluster (tests/raytools.py: a head and one 1-CPU node) and two real servers, one
per backend. For each: the server's start (Ray: importing ray and connecting), the time from
``POST /run`` to the first trained step with a new actor (Ray) or a warm worker (local), the
same on a resume (Ray keeps the session's actor ``ray_idle_seconds``), and one session's
steps/s at full speed over a window, unobserved (the ratio is the Ray backend's overhead per
step: the actor calls, cloudpickle, the object store).

    .venv/bin/python bench/bench_ray.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server  # noqa: E402
from raytools import start_cluster  # noqa: E402

from bench.bench_sessions import CONFIG  # noqa: E402  (the sessions bench's net)


def step_of(http: httpx.Client, sid: str, h: dict[str, str]) -> int:
    return int(http.get(f"/api/sessions/{sid}", headers=h).json()["step"])


def first_step_after(http: httpx.Client, sid: str, h: dict[str, str], body: dict) -> float:
    """Seconds from POST /run to the session's step moving on (polled every 2 ms)."""
    before = step_of(http, sid, h)
    t0 = time.perf_counter()
    assert http.post(f"/api/sessions/{sid}/run", json=body, headers=h).status_code == 200
    while step_of(http, sid, h) == before:
        time.sleep(0.002)
    return time.perf_counter() - t0


def measure(server: Server, seconds: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    server.start(timeout=120)
    out: dict[str, Any] = {"server start (s)": time.perf_counter() - t0}
    try:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            r = http.post("/api/sessions", json={"config": CONFIG})
            sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
            run = {"steps": 10**6}
            out["first run → first step (s)"] = first_step_after(http, sid, h, run)
            time.sleep(1.0)  # warm up
            a, ta = step_of(http, sid, h), time.perf_counter()
            time.sleep(seconds)
            b, tb = step_of(http, sid, h), time.perf_counter()
            out["steps/s, one session"] = (b - a) / (tb - ta)
            http.post(f"/api/sessions/{sid}/pause", headers=h)
            out["resume → first step (s)"] = first_step_after(http, sid, h, run)
            http.post(f"/api/sessions/{sid}/pause", headers=h)
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    cluster = start_cluster(nodes=1)
    try:
        with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
            ray = measure(Server(Path(a), backend="ray", ray_address=cluster.address,
                                 ray_actor_cpus=1), args.seconds)
            local = measure(Server(Path(b)), args.seconds)
    finally:
        cluster.close()
    print(f"\nRay cluster (head + 1 node) started in {cluster.started_s:.1f} s\n")
    print("| one session (the sessions bench's net) | Ray actor | local worker | Ray / local |")
    print("|---|---|---|---|")
    for key in ray:
        print(f"| {key} | {ray[key]:.3g} | {local[key]:.3g} | {ray[key] / local[key]:.2f} |")


if __name__ == "__main__":
    main()
