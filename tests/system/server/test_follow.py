"""Every place a resuming cursor can be, against a restarted server whose rings are empty
(promise 17): before the full-resolution window, at its start, inside the stored history, at
the live end, past it. Each answers promptly with what the module docstring of app/streaming/hub.py
promises, the page stream draws too, and healthz stays quick all along (a cursor the ring did
not match once made follow() loop without awaiting)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from apptools import FAST, Server, db_rows
from faulttools import Prober, Reader, wait_for

# a restarted server with a compacted history (~7 s), then 2 s of healthz probing a test
pytestmark = [pytest.mark.slow, pytest.mark.timed]

STEPS = 3000
OPTS = {"history_window_steps": 500, "history_sparse_points": 100,
        "cull_interval_seconds": 0.2, "checkpoint_seconds": 0.05, "ping_seconds": 0.5}


@pytest.fixture(scope="module")
def restarted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str, dict,
                                                                         int]]:
    """A server restarted after a session trained STEPS steps and had its history compacted;
    yields (server, session id, headers, the window's start)."""
    path = tmp_path_factory.mktemp("follow")
    with Server(path, **OPTS) as server, httpx.Client(base_url=server.url) as http:
        r = http.post("/api/sessions", json={"config": FAST})
        sid, h = r.json()["id"], {"Authorization": f"Bearer {r.json()['owner_token']}"}
        assert http.post(f"/api/sessions/{sid}/step", json={"count": STEPS},
                         headers=h).status_code == 200

        def window() -> int:
            rows = db_rows(path, "SELECT full_from FROM sessions WHERE id = ?", (sid,))
            return int(rows[0][0])

        start = wait_for(window)
    with Server(path, **OPTS) as server:
        yield server, sid, h, start


def test_the_window_is_where_the_history_thins(restarted: tuple) -> None:
    server, sid, h, start = restarted
    assert start == STEPS - OPTS["history_window_steps"]
    with httpx.Client(base_url=server.url) as http:
        hist = http.get(f"/api/sessions/{sid}/history?limit=100000", headers=h).json()
    steps = [p["step"] for p in hist["points"]]
    assert steps[-(STEPS - start):] == list(range(start + 1, STEPS + 1))  # full after it
    old = steps[: -(STEPS - start)]
    assert old == list(range(32, start + 1, 32))  # before it, a power-of-two stride: 2500/32


@pytest.mark.parametrize(
    ("where", "notice", "first"),
    [
        ("zero", "compacted", "start"),
        ("before_window", "compacted", "start"),
        ("window_start", None, "start"),
        ("inside", None, "inside"),
        ("past_end", "rewound", None),
    ],
)
def test_a_resume_from_anywhere_answers_promptly(
    restarted: tuple, where: str, notice: str | None, first: str | None
) -> None:
    server, sid, h, start = restarted
    inside = STEPS - 100
    cursor = {"zero": 0, "before_window": start - 100, "window_start": start,
              "inside": inside, "past_end": STEPS + 500}[where]
    with Prober(server.url, every=0.005) as probe, httpx.Client(base_url=server.url) as http:
        for headers, query in (({**h, "Last-Event-ID": str(cursor)}, ""),
                               (h, f"&after={cursor}")):
            reader = Reader().read(
                http, f"/api/sessions/{sid}/events?frames=false{query}", headers,
                until=lambda r: bool(r.seqs and r.seqs[-1] == STEPS)
                or any(s.get("reason") == "rewound" for s in r.statuses),
                timeout=20,
            )
            notices = [s for s in reader.statuses if s.get("reason") in ("compacted", "rewound")]
            if notice is None:
                assert notices == []
            else:
                assert [s["reason"] for s in notices] == [notice]
                assert notices[0]["from"] == cursor
            if first is not None:
                begin = start if first == "start" else inside
                assert reader.seqs == list(range(begin + 1, STEPS + 1))
            else:
                assert reader.seqs == [] and notices[0]["seq"] == STEPS
            assert reader.decreases_only_after_rewinds()
    assert probe.p99() < 0.1, f"healthz p99 {probe.p99():.3f} s"


def test_at_the_live_end_a_stream_waits_with_pings_then_gets_new_steps(restarted: tuple) -> None:
    server, sid, h, _ = restarted
    with Prober(server.url, every=0.005) as probe, httpx.Client(base_url=server.url) as http:
        lines: list[str] = []
        url = f"/api/sessions/{sid}/events?frames=false&after={STEPS}"
        with http.stream("GET", url, headers=h, timeout=20) as r:
            for line in r.iter_lines():
                lines.append(line)
                if line == ": ping" and lines.count(": ping") == 2:
                    assert http.post(f"/api/sessions/{sid}/step", json={"count": 2},
                                     headers=h).status_code == 200
                if line.startswith("data:") and '"seq":' in line and "step" in lines[-2]:
                    break
        data = [x for x in lines if x.startswith("data:")]
        assert f'"seq":{STEPS + 1}' in data[-1] and f'"seq":{STEPS + 2}' in data[-1]
    assert probe.p99() < 0.1


def test_the_page_stream_draws_from_an_empty_ring(restarted: tuple) -> None:
    server, sid, h, _ = restarted
    with Prober(server.url, every=0.005) as probe, httpx.Client(base_url=server.url) as http:
        events: list[str] = []
        with http.stream("GET", f"/api/sessions/{sid}/page-events", headers=h,
                         timeout=20) as r:
            for line in r.iter_lines():
                if line.startswith("event:"):
                    events.append(line.split(":", 1)[1].strip())
                if {"network", "curves"} <= set(events):
                    break
    assert probe.p99() < 0.1
