"""Bench: memory per session, in the trajectory and in the web process.

1. Trajectory bytes one session keeps at most, by net size: the previous rule (up to 1,000
   points, at most 4M float64 = 32 MB; every other point dropped when full, kept here as the
   baseline) against the bound of engine/trajectory.py, both measured by recording a long run.
2. The path the page draws on a fresh 2-D PCA map, as the largest distance (in units of the
   300-unit drawing; the page shows it at most 340 px wide) from the path drawn from every
   step, for real runs: the previous rule's record and the bounded one.
3. RSS of a real server (``Server.rss_kb``) per session: N sessions of one owner train with
   their page open (2 frames a second), then nobody watches them and they are unloaded
   (``BPP_IDLE_SECONDS`` 2 s); per session while loaded and after the unload, and the share of
   what they added that the process gave back. Then N sessions of a second owner do the same:
   what stays after an unload is reused by them, not added to.

    .venv/bin/python bench/bench_memory.py [--sessions 20] [--steps 2000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import Server, loaded_sessions, train_with_pages_open, wait_for  # noqa: E402
from pathtools import drawn_by_engine, drawn_pca, every_step, hausdorff  # noqa: E402

from app.sessions.presets import PRESETS  # noqa: E402
from engine.trajectory import Trajectory  # noqa: E402

SIZES = {"circle-playground": 25, "digits-mlp": 13_802, "50k": 50_000, "max_params": 100_000}
PATH_RUNS = (("circle-playground", 20_000), ("digits-mlp", 2_000))


class PreviousTrajectory:
    """The rule before the bound: every stride-th θ in float64, every other point dropped when
    ``capacity`` = max(16, min(1000, 4M / n)) is exceeded."""

    def __init__(self, theta: np.ndarray) -> None:
        self.capacity = max(16, min(1000, 4_000_000 // max(theta.size, 1)))
        self.stride, self.steps, self.points = 1, [0], [theta.copy()]

    def record(self, iteration: int, theta: np.ndarray) -> None:
        if iteration % self.stride:
            return
        self.steps.append(iteration)
        self.points.append(theta.copy())
        if len(self.points) > self.capacity:
            self.points, self.steps = self.points[::2], self.steps[::2]
            self.stride *= 2


def most_bytes(n: int, records: int = 3_000) -> tuple[int, int, int, int]:
    """Record a random walk of n parameters; the most bytes and points each rule held."""
    rng = np.random.default_rng(0)
    theta = rng.standard_normal(n)
    old, new = PreviousTrajectory(theta), Trajectory(theta)
    peaks = [0, 0, 0, 0]
    for i in range(1, records + 1):
        theta = theta + 0.01 * rng.standard_normal(n)
        old.record(i, theta)
        new.record(i, theta)
        held_old = sum(p.nbytes for p in old.points)
        if held_old > peaks[0]:
            peaks[:2] = held_old, len(old.points)
        if new.nbytes > peaks[2]:
            peaks[2:] = new.nbytes, len(new.points)
    return peaks[0], peaks[1], peaks[2], peaks[3]


def path_deviation(preset: str, steps: int) -> dict[str, Any]:
    t, full = every_step(PRESETS[preset]["config"], steps)
    old = PreviousTrajectory(full[0])
    for i in range(1, steps + 1):
        old.record(i, full[i])
    truth = drawn_pca(full)
    old_path = np.vstack([np.stack(old.points), full[-1:]])  # the page ends it at θ now
    return {
        "old": hausdorff(drawn_pca(old_path), truth),
        "new": hausdorff(drawn_by_engine(t), truth),
        "old_points": len(old.points),
        "new_points": len(t.trajectory.points),
    }


def rss_rounds(preset: str, sessions: int, steps: int) -> list[float]:
    """Server RSS (MB): at the start, with ``sessions`` sessions loaded, after they are unloaded,
    then the same for as many sessions of a second owner (the first ones stay, unloaded)."""
    body = {"preset": preset, "config": {}}
    with (
        tempfile.TemporaryDirectory() as tmp,
        Server(Path(tmp), idle_seconds=2, cull_interval_seconds=0.2) as srv,
        httpx.Client(base_url=srv.url, timeout=60) as http,
    ):
        first = http.post("/api/sessions", json=body).json()
        headers = {"Authorization": f"Bearer {first['owner_token']}"}
        train_with_pages_open(srv, http, [first["id"]], headers, steps)  # warm up, then gone
        http.delete(f"/api/sessions/{first['id']}", headers=headers)
        wait_for("the warm-up session unloaded", lambda: loaded_sessions(http) == 0)
        out = [srv.rss_kb() / 1024]
        for _ in range(2):
            http.cookies.clear()  # a new owner
            owner = http.post("/api/sessions", json=body).json()
            headers = {"Authorization": f"Bearer {owner['owner_token']}"}
            ids = [owner["id"]] + [
                http.post("/api/sessions", json=body, headers=headers).json()["id"]
                for _ in range(sessions - 1)
            ]
            out.append(train_with_pages_open(srv, http, ids, headers, steps) / 1024)
            wait_for("the sessions unloaded", lambda: loaded_sessions(http) == 0)
            out.append(srv.rss_kb() / 1024)
    return out


def table(header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
    for row in [header, *rows]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    print()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--steps", type=int, default=2_000)
    args = ap.parse_args()
    t0 = time.monotonic()

    rows = []
    for name, n in SIZES.items():
        ob, op, nb, npts = most_bytes(n)
        rows.append(
            [
                f"{name} ({n:,})",
                f"{ob / 2**20:.2f} MiB ({op})",
                f"{nb / 2**20:.2f} MiB ({npts})",
                f"{ob / nb:.1f}x",
            ]
        )
    table(["net (parameters)", "previous rule (points)", "bounded (points)", "ratio"], rows)

    rows = []
    for preset, steps in PATH_RUNS:
        d = path_deviation(preset, steps)
        rows.append(
            [
                f"{preset}, {steps:,} steps",
                f"{d['old']:.2f} ({d['old_points']} points)",
                f"{d['new']:.2f} ({d['new_points']} points)",
            ]
        )
    table(["drawn PCA path vs every step", "previous rule", "bounded"], rows)

    rows = []
    for preset in ("digits-mlp", "circle-playground"):
        base, on, off, on2, off2 = rss_rounds(preset, args.sessions, args.steps)
        n = args.sessions
        rows.append(
            [
                preset,
                f"{(on - base) / n:.2f} MB",
                f"{(off - base) / n:.2f} MB",
                f"{(on - off) / (on - base):.0%}",
                f"{base:.0f} / {on:.0f} / {off:.0f}",
                f"{on2:.0f} / {off2:.0f}",
            ]
        )
    table(
        [
            f"{n} sessions, {args.steps:,} steps, page open",
            "a session loaded",
            "after unload",
            "given back",
            "RSS MB: start / loaded / unloaded",
            f"{n} more: loaded / unloaded",
        ],
        rows,
    )
    print(f"({time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    main()
