"""Helpers for the fault tests (restarts, kills, a refusing disk, shutdown): a healthz prober
on its own thread, a stream reader with a deadline, and the server's worker processes."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
from httpx_sse import connect_sse

PROBE = """
import json, select, sys, time, httpx
url, every, timeout = sys.argv[1], float(sys.argv[2]), float(sys.argv[3])
times, codes = [], []
with httpx.Client(base_url=url, timeout=timeout) as http:
    while True:
        t0 = time.perf_counter()
        try:
            code = http.get("/api/healthz").status_code
        except httpx.HTTPError:
            code = 0
        times.append(time.perf_counter() - t0)
        codes.append(code)

        if select.select([sys.stdin], [], [], every)[0]:
            break  # the parent closed our stdin: done
print(json.dumps({"times": times, "codes": codes}))
"""


class Prober:
    """Polls ``/api/healthz`` every ``every`` seconds while active, from a process of its own
    (in the test's process, the readers' JSON parsing would hold the GIL and colour the
    times); keeps each answer's time. A request with no answer in ``timeout`` counts as that
    long (the server hung)."""

    def __init__(self, url: str, every: float = 0.02, timeout: float = 2.0) -> None:
        self.url, self.every, self.timeout = url, every, timeout
        self.times: list[float] = []
        self.codes: list[int] = []
        self._proc: subprocess.Popen[str] | None = None
        self._started = 0.0

    def __enter__(self) -> Prober:
        self._proc = subprocess.Popen(
            [sys.executable, "-c", PROBE, self.url, str(self.every), str(self.timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self._started = time.monotonic()
        return self

    def __exit__(self, *exc: object) -> None:
        # enough samples for a percentile: at least 2 s of probing
        time.sleep(max(0.0, 2.0 - (time.monotonic() - self._started)))
        assert self._proc is not None
        out, _ = self._proc.communicate("", timeout=30)  # closing stdin stops it
        result = json.loads(out)
        self.times, self.codes = result["times"], result["codes"]

    def p99(self) -> float:
        ordered = sorted(self.times)
        assert len(ordered) >= 10, "too few healthz samples"
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


class Reader:
    """One client of a session's JSON stream: every step seq and status it got, in order."""

    def __init__(self) -> None:
        self.seqs: list[int] = []
        self.statuses: list[dict[str, Any]] = []
        self.log: list[tuple[str, Any]] = []  # ("step", seq) / ("status", payload) in order
        self.last_id: str | None = None
        self.started = threading.Event()  # set at the first event received

    def read(
        self,
        http: httpx.Client,
        url: str,
        headers: dict[str, str],
        *,
        until_seq: int | None = None,
        until_status: str | None = None,
        until: Callable[[Reader], bool] | None = None,
        timeout: float = 30.0,
    ) -> Reader:
        """Read until a step with seq >= ``until_seq``, a status with reason or status
        ``until_status``, ``until(self)``, a ``close``, or the end of the stream."""
        deadline = time.monotonic() + timeout
        with connect_sse(http, "GET", url, headers=dict(headers), timeout=timeout) as es:
            for sse in es.iter_sse():
                self.started.set()
                if sse.id:
                    self.last_id = sse.id
                if sse.event == "step":
                    for rec in json.loads(sse.data):
                        self.seqs.append(rec["seq"])
                        self.log.append(("step", rec["seq"]))
                elif sse.event == "status":
                    payload = json.loads(sse.data)
                    self.statuses.append(payload)
                    self.log.append(("status", payload))
                    if until_status is not None and until_status in (
                        payload.get("reason"),
                        payload.get("status"),
                    ):
                        break
                elif sse.event == "close":
                    break
                if until_seq is not None and self.seqs and self.seqs[-1] >= until_seq:
                    break
                if until is not None and until(self):
                    break
                assert time.monotonic() < deadline, f"stream too slow: {self.log[-3:]}"
        return self

    def decreases_only_after_rewinds(self) -> bool:
        """``seq`` never goes backwards unless a ``rewound`` status came just before."""
        last, rewound = 0, False
        for kind, value in self.log:
            if kind == "status":
                if value.get("reason") == "rewound":
                    last, rewound = value["seq"], True
                continue
            if value <= last and not rewound:
                return False
            last, rewound = value, False
        return True


def descendants(pid: int) -> list[tuple[int, int]]:
    """``(pid, depth)`` of every process below ``pid`` (from /proc)."""
    out: list[tuple[int, int]] = []
    todo = [(pid, 0)]
    while todo:
        parent, depth = todo.pop()
        for task in Path(f"/proc/{parent}/task").glob("*/children"):
            for child in task.read_text().split():
                out.append((int(child), depth + 1))
                todo.append((int(child), depth + 1))
    return out


def training_workers(server_pid: int) -> list[int]:
    """The training worker processes of a server: forked by its fork server (depth 2)."""
    return [pid for pid, depth in descendants(server_pid) if depth == 2]


def wait_for(check: Any, timeout: float = 30.0, every: float = 0.05) -> Any:
    """Poll ``check()`` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"condition not met in {timeout} s")
