"""Two web replicas (two uvicorn processes on two ports) over one PostgreSQL, one Redis and one
Ray cluster, all on loopback, behave as one server (app/sessions/replicas.py).

A session created on A is stepped and run through B (forwarded to A, which holds it), followed
on A; A is killed (-9) mid-run and mid-stream; the client resumes on B with ``Last-Event-ID``
and gets every step exactly once while B takes the run over and runs it to its end. The page's
view settings set through A are what B's page shows afterwards. The new-owner rate and the
open-streams cap count both replicas together; a page stream asked of B comes from A. A race
made on A is read, stepped, run, streamed, listed and deleted through B; when A stops, B
gathers a race of A's and shows a lesson followed through A at its step with its facts. When
A stalls (SIGSTOP) past its leases mid race run, B takes the race whole and runs it on in
lock-step; A woken ends its race stream, and the client back through A (forwarded to B) gets
every step of every run once.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from apptools import FAST, Server
from faulttools import Reader, wait_for
from httpx_sse import connect_sse
from pgtools import shared, stop_between_transactions
from raytools import RayCluster
from redistools import redis_url  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow  # two servers on a Ray cluster, a kill and a take-over

START_SECONDS = 90  # a server joins the Ray cluster: slow on a loaded machine
RUN = 1500  # steps of the run A starts and B finishes
OPTS = {
    "backend": "ray", "lease_seconds": 2, "checkpoint_seconds": 0.5, "warm_workers": 0,
    "ray_idle_seconds": 2, "max_new_owners_per_address": 3, "max_streams_per_session": 2,
    "ping_seconds": 0.5,
}  # fmt: skip


@pytest.fixture(scope="module")
def replicas(
    ray_cluster: RayCluster, redis_url: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
) -> Iterator[tuple[Server, Server]]:
    """(A, B): two replicas of one server; A may be killed by the test that needs it last."""
    database = shared().database("replicas")
    common = {**OPTS, "database_url": database, "fanout": redis_url,
              "ray_address": ray_cluster.address}  # fmt: skip
    common.pop("database_url")
    log = tmp_path_factory.mktemp("replicas") / "servers.log"
    a = Server(tmp_path_factory.mktemp("a"), log=log, **common,
               database_url=f"{database}?application_name=replica-a")  # fmt: skip
    b = Server(tmp_path_factory.mktemp("b"), log=log, **common,
               database_url=f"{database}?application_name=replica-b")  # fmt: skip
    try:
        t0 = time.perf_counter()
        with ThreadPoolExecutor(2) as starting:  # side by side: each imports Ray and joins it
            list(starting.map(lambda s: s.start(timeout=START_SECONDS), (a, b)))
        print(f"\nreplicas up in {time.perf_counter() - t0:.1f} s")
        yield a, b
    finally:
        if a.proc is not None and a.proc.poll() is None:
            os.kill(a.proc.pid, signal.SIGCONT)  # never left stopped
        a.stop()
        b.stop()
        print(Path(log).read_text()[-3000:])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def created(http: httpx.Client, headers: dict[str, str] | None = None) -> httpx.Response:
    r = http.post("/api/sessions", json={"config": FAST}, headers=headers or {})
    http.cookies.clear()
    return r


def test_the_new_owner_rate_and_the_stream_cap_count_both_replicas(
    replicas: tuple[Server, Server],
) -> None:
    a, b = replicas
    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        # three owners per address in the window: two through A, one through B, then neither
        made = [created(on_a), created(on_b), created(on_a)]
        assert [r.status_code for r in made] == [201, 201, 201], made[-1].text
        for http in (on_b, on_a):
            refused = created(http)
            assert refused.status_code == 429, refused.text
            assert refused.json()["limit"] == "max_new_owners_per_address"
        sid, h = made[0].json()["id"], bearer(made[0].json()["owner_token"])
        url = f"/api/sessions/{sid}/events?frames=false"
        # two streams of one session at most: one on each replica, then a third on either
        with on_a.stream("GET", url, headers=h) as first:
            assert first.status_code == 200
            with on_b.stream("GET", url, headers=h) as second:
                assert second.status_code == 200
                third = on_a.get(url, headers=h)
                assert third.status_code == 429, third.text
                assert third.json()["limit"] == "max_streams_per_session"
        # both closed: their slots are given back (across replicas)
        with on_b.stream("GET", url, headers=h) as again:
            assert again.status_code == 200
        # the page stream through B: forwarded to A (which holds the session), streamed back
        events: list[str] = []
        with on_b.stream("GET", f"/api/sessions/{sid}/page-events?fps=5", headers=h) as page:
            assert page.status_code == 200, page.read()
            for line in page.iter_lines():
                events += [line.removeprefix("event: ")] if line.startswith("event: ") else []
                if "network" in events:
                    break
        # the session list is the same on both, whichever holds what
        names = [[s["id"] for s in http.get("/api/sessions", headers=h).json()]
                 for http in (on_a, on_b)]  # fmt: skip
        assert names == [[sid], [sid]]


def race_frames(
    http: httpx.Client, url: str, h: dict[str, str], until: str
) -> list[dict[str, Any]]:
    """The ``frame`` events of a race's stream until every run's status is ``until``."""
    frames: list[dict[str, Any]] = []
    with http.stream("GET", url, headers=h, timeout=60) as stream:
        assert stream.status_code == 200, stream.read()
        event = ""
        for line in stream.iter_lines():
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "frame":
                frames.append(json.loads(line.removeprefix("data: ")))
                if all(status == until for status in frames[-1]["status"]):
                    break
    return frames


RACE = {"config": FAST, "name": "lr", "runs": [
    {"name": "slow", "changes": {"optimizer": {"lr": 0.05}}},
    {"name": "fast", "changes": {"optimizer": {"lr": 0.3}}},
]}  # fmt: skip


def test_a_race_made_on_one_replica_is_driven_through_the_other(
    replicas: tuple[Server, Server],
) -> None:
    a, b = replicas
    h = bearer("replica-race-owner")
    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        made = on_a.post("/api/races", json=RACE, headers=h)
        assert made.status_code == 201, made.text
        rid = made.json()["id"]
        read = on_b.get(f"/api/races/{rid}", headers=h)  # served by A, which holds its runs
        assert read.status_code == 200, read.text
        assert [r["name"] for r in read.json()["runs"]] == ["slow", "fast"]
        stepped = on_b.post(f"/api/races/{rid}/step", json={"count": 3}, headers=h)
        assert stepped.status_code == 200, stepped.text
        assert [r["state"]["step"] for r in stepped.json()["runs"]] == [3, 3]
        run = on_b.post(f"/api/races/{rid}/run", json={"steps": 60, "speed": 100}, headers=h)
        assert run.status_code == 200, run.text
        frames = race_frames(on_b, f"/api/races/{rid}/events?after=0", h, "finished")
        assert frames[-1]["steps"] == [63, 63]
        # lock-step held while it ran: no frame has the runs more than a step apart
        assert all(max(f["steps"]) - min(f["steps"]) <= 1 for f in frames), frames
        listed = [[r["id"] for r in http.get("/api/races", headers=h).json()]
                  for http in (on_a, on_b)]  # fmt: skip
        assert listed == [[rid], [rid]]
        page = on_b.get(f"/race/{rid}", headers=h)
        assert page.status_code == 200 and "slow" in page.text
        gone = on_b.delete(f"/api/races/{rid}", headers=h)
        assert gone.status_code == 204, gone.text
        for http in (on_a, on_b):
            assert http.get(f"/api/races/{rid}", headers=h).status_code == 404
            assert http.get("/api/races", headers=h).json() == []
            assert http.get("/api/sessions", headers=h).json() == []


class RaceReader:
    """One client of a race's stream: each run's step seqs, the frames, the last event id, and
    whether the server ended the stream (``ended``; False when the reader stopped it)."""

    def __init__(self, runs: int) -> None:
        self.seqs: list[list[int]] = [[] for _ in range(runs)]
        self.frames: list[dict[str, Any]] = []
        self.last_id: str | None = None
        self.ended = False

    def read(self, http: httpx.Client, url: str, headers: dict[str, str], *,
             until_seq: int | None = None, timeout: float = 60) -> RaceReader:  # fmt: skip
        """Until every run is finished with its steps up to ``until_seq`` read, the stream
        ends, or ``timeout``."""
        deadline = time.monotonic() + timeout
        with connect_sse(http, "GET", url, headers=headers, timeout=timeout) as es:
            for sse in es.iter_sse():
                self.last_id = sse.id or self.last_id
                data = json.loads(sse.data) if sse.data else None
                if sse.event == "step" and data is not None:
                    self.seqs[data["run"]] += [r["seq"] for r in data["records"]]
                elif sse.event == "frame" and data is not None:
                    self.frames.append(data)
                if until_seq is not None and self.frames and all(
                    st == "finished" for st in self.frames[-1]["status"]
                ) and all(seqs and seqs[-1] >= until_seq for seqs in self.seqs):
                    return self
                if time.monotonic() > deadline:
                    return self
        self.ended = True
        return self


RACE_RUN = 400  # steps of each run of the race A starts and B finishes


def test_a_stalled_replicas_race_goes_on_whole_in_lock_step_on_the_other(
    replicas: tuple[Server, Server],
) -> None:
    """A stops (SIGSTOP) past its leases mid race run, a client streaming the race from it: B's
    keeper takes the race's runs together and runs them on in lock-step to the end A noted; A
    woken drops the race, so its stream ends; the client reconnects through A with its last
    event id (forwarded to B) and gets every step of every run once."""
    a, b = replicas
    assert a.proc is not None
    h = bearer("replica-race-stall-owner")
    shared_state = redis.Redis.from_url(b.env["BPP_FANOUT"])

    def holders(sids: list[str]) -> list[str | None]:
        tokens = [shared_state.get(f"bpp:{sid}:lease") for sid in sids]
        urls = [None if t is None else shared_state.get(f"bpp:replica:{t.decode()}")
                for t in tokens]  # fmt: skip
        return [None if u is None else u.decode() for u in urls]

    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        made = on_a.post("/api/races", json=RACE, headers=h)
        assert made.status_code == 201, made.text
        rid, sids = made.json()["id"], [r["session"] for r in made.json()["race"]["runs"]]
        url = f"/api/races/{rid}/events?after=0"
        run = on_a.post(f"/api/races/{rid}/run", json={"steps": RACE_RUN, "speed": 100},
                        headers=h)  # fmt: skip
        assert run.status_code == 200, run.text
        first = RaceReader(2)
        thread = threading.Thread(target=first.read, args=(on_a, url, h), kwargs={"timeout": 60})
        thread.start()
        wait_for(lambda: min(map(len, first.seqs)) >= 100, timeout=60)
        stop_between_transactions(a.proc.pid, a.env["BPP_DATABASE_URL"], "replica-a")
        try:  # B's keeper takes the race whole once A's leases have lapsed
            wait_for(lambda: holders(sids) == [b.url, b.url], timeout=30)
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        # A woken finds its runs held by B: it drops the race and ends the stream of it
        thread.join(30)
        assert not thread.is_alive() and first.ended, "A's stale race stream went on"
        assert first.seqs[0][-1] < RACE_RUN  # it ended mid-run
        second = RaceReader(2).read(on_a, url, {**h, "Last-Event-ID": first.last_id or ""},
                                    until_seq=RACE_RUN, timeout=90)  # fmt: skip
        final = on_b.get(f"/api/races/{rid}", headers=h).json()
        assert on_b.delete(f"/api/races/{rid}", headers=h).status_code == 204
    for i in range(2):  # every step of every run once, across the two streams
        assert first.seqs[i] + second.seqs[i] == list(range(1, RACE_RUN + 1)), i
    assert [r["state"]["step"] for r in final["runs"]] == [RACE_RUN, RACE_RUN]
    # B ran them in lock-step: never more than a step apart while both ran
    both = [f["steps"] for f in second.frames if f["status"] == ["running", "running"]]
    assert both and all(max(s) - min(s) <= 1 for s in both), both


def test_a_stopped_replicas_lesson_and_race_go_on_through_the_other(
    replicas: tuple[Server, Server],
) -> None:
    """A lets go of everything it holds (SIGTERM): B adopts the lesson's session with the
    learner's place in it, and gathers the race's runs when the race is asked for."""
    a, b = replicas
    h = bearer("replica-lesson-owner")
    with httpx.Client(base_url=a.url, timeout=30) as on_a:
        r = created(on_a, h)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        lesson = f"/api/sessions/{sid}/lesson"
        began = on_a.put(lesson, json={"name": "learning-rate", "step": 0}, headers=h)
        assert began.status_code == 200, began.text
        acted = on_a.post(f"{lesson}/act", headers=h)  # the step's run: 30 epochs
        assert acted.status_code == 200, acted.text
        wait_for(lambda: on_a.get(f"/api/sessions/{sid}", headers=h).json()["status"]
                 == "finished", timeout=60)  # fmt: skip
        moved = on_a.put(lesson, json={"name": "learning-rate", "step": 1}, headers=h)
        assert moved.status_code == 200, moved.text
        there = moved.json()
        assert there["step"] == 1 and there["recorded"]["tiny"]["train_loss"] is not None
        race = on_a.post("/api/races", json=RACE, headers=h)
        assert race.status_code == 201, race.text
        rid = race.json()["id"]
        assert on_a.post(f"/api/races/{rid}/step", json={"count": 2}, headers=h).is_success
    a.stop()
    try:
        with httpx.Client(base_url=b.url, timeout=30) as on_b:
            here = on_b.get(lesson, headers=h)  # B adopts the session from the store
            assert here.status_code == 200, here.text
            got = here.json()
            assert got is not None, "B's page follows no lesson"
            assert (got["lesson"], got["step"], got["recorded"]) == (
                "learning-rate", 1, there["recorded"])
            assert [c["target"] for c in got["checks"]] == [c["target"] for c in there["checks"]]
            read = on_b.get(f"/api/races/{rid}", headers=h)  # B gathers the race's runs
            assert read.status_code == 200, read.text
            assert [r["state"]["step"] for r in read.json()["runs"]] == [2, 2]
            stepped = on_b.post(f"/api/races/{rid}/step", json={"count": 1}, headers=h)
            assert stepped.status_code == 200, stepped.text
            assert [r["state"]["step"] for r in stepped.json()["runs"]] == [3, 3]
            assert on_b.delete(f"/api/races/{rid}", headers=h).status_code == 204
    finally:
        a.start(timeout=START_SECONDS)  # back, empty-handed, for the tests after


def test_a_replica_killed_mid_run_its_client_resumes_on_the_other(
    replicas: tuple[Server, Server],
) -> None:
    a, b = replicas
    h = bearer("replica-test-owner")  # a token of our own: no new owner is counted
    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        r = created(on_a, h)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        # stepped through B: served by A, which holds the session
        stepped = on_b.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h)
        assert stepped.status_code == 200, stepped.text
        assert [rec["step"] for rec in stepped.json()["records"]] == [1, 2, 3, 4, 5]
        assert on_a.get(f"/api/sessions/{sid}", headers=h).json()["seq"] == 5
        # the page's view chosen through A
        ui = on_a.put(f"/api/sessions/{sid}/ui", json={"view": "gradients"}, headers=h)
        assert ui.status_code == 204, ui.text
        run = on_b.post(f"/api/sessions/{sid}/run", json={"steps": RUN, "speed": 150},
                        headers=h)  # fmt: skip
        assert run.status_code == 200 and run.json()["status"] == "running", run.text
        # followed on A until the run is well on, then A dies mid-stream
        first = Reader()

        def follow_on_a() -> None:
            with contextlib.suppress(httpx.HTTPError):  # A dies under it
                first.read(on_a, f"/api/sessions/{sid}/events?after=0&frames=false", h,
                           timeout=60)  # fmt: skip

        thread = threading.Thread(target=follow_on_a)
        thread.start()
        wait_for(lambda: len(first.seqs) >= 60, timeout=60)
        a.kill9()
        thread.join(30)
        assert not thread.is_alive()
        # the client comes back through B, from the last id it got: every step once, the run
        # going on (B takes it over once A's lease has lapsed) to its end
        resumed = Reader().read(
            on_b, f"/api/sessions/{sid}/events?frames=false",
            {**h, "Last-Event-ID": first.last_id or ""}, until_status="finished", timeout=90,
        )  # fmt: skip
        final = on_b.get(f"/api/sessions/{sid}", headers=h).json()
        page = on_b.get("/", params={"s": sid}, headers=h)
    assert first.seqs + resumed.seqs == list(range(1, RUN + 6))
    assert first.seqs[-1] < RUN  # A died mid-run
    assert resumed.statuses[-1]["status"] == "finished"
    assert (final["status"], final["seq"]) == ("finished", RUN + 5)
    assert page.status_code == 200
    assert 'value="gradients" selected' in page.text  # the view set through A


def test_a_replica_stopped_hands_its_runs_over(replicas: tuple[Server, Server]) -> None:
    """SIGTERM (a rolling restart): the run is checkpointed, left running and its lease freed;
    the other replica goes on with it at once, and its followers never see it pause."""
    a, b = replicas
    if a.proc is None or a.proc.poll() is not None:
        a.start()  # killed by the test before: back, empty-handed
    h = bearer("replica-test-owner-2")
    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        r = created(on_b, h)
        assert r.status_code == 201, r.text
        sid = r.json()["id"]
        run = on_b.post(f"/api/sessions/{sid}/run", json={"steps": 600, "speed": 150}, headers=h)
        assert run.status_code == 200, run.text
        follower = Reader()
        thread = threading.Thread(target=follower.read, args=(
            on_a, f"/api/sessions/{sid}/events?after=0&frames=false", h
        ), kwargs={"until_status": "finished", "timeout": 60})  # fmt: skip
        thread.start()
        wait_for(lambda: len(follower.seqs) >= 50, timeout=60)
        b.stop()
        thread.join(60)
        final = on_a.get(f"/api/sessions/{sid}", headers=h).json()
    assert follower.seqs == list(range(1, 601))
    assert [s["status"] for s in follower.statuses][-1] == "finished"
    told = [(i, v) for i, (k, v) in enumerate(follower.log) if k == "status"]
    assert "paused" not in [s["status"] for s in follower.statuses], told
    assert (final["status"], final["seq"]) == ("finished", 600)
