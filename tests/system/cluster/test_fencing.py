"""A replica that stalls past its lease cannot write a session another replica has adopted
meanwhile (fencing tokens: app/sessions/fencing.py).

Two replicas A and B (a 1 s lease) over one PostgreSQL, Redis and Ray cluster. A runs a session
and is stopped (SIGSTOP) while it still has batches to write: between two of its transactions,
or inside one, past the guard that locked the session's row (PostgreSQL ends that transaction
once it has sat idle for the lease's time: app/core/pgstore.py, IDLE_TRANSACTION_SECONDS).
B finds the lease lapsed, takes the session over (claiming it in the store) and runs it on. A
is woken (SIGCONT): every write it tries for the session is refused, so nothing A commits comes
after B's claim (a trigger in the test's database notes which replica wrote what, by its
connection's ``application_name``), the stored steps are each seq once and contiguous, B's run
ends where A's would have, A's log says it was fenced, and a request to A for the session is
forwarded to B.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psycopg
import pytest
import redis
from apptools import FAST, Server
from faulttools import wait_for
from pgtools import rows, shared, stop_between_transactions
from raytools import RayCluster
from redistools import redis_url  # noqa: F401  (the session fixture)

pytestmark = pytest.mark.slow  # two servers on a Ray cluster, a stall and a take-over

START_SECONDS = 90
RUN = 3000  # steps of the run A starts and B finishes
SPEED = 300
OPTS = {"backend": "ray", "lease_seconds": 1, "checkpoint_seconds": 0.5, "warm_workers": 0,
        "ray_idle_seconds": 2}  # fmt: skip
# every write of a session's rows, noted with the replica (connection) that made it
AUDIT = """
CREATE TABLE audit (id bigserial PRIMARY KEY, app text, sid text, tbl text);
CREATE FUNCTION audited() RETURNS trigger AS $$ BEGIN
  INSERT INTO audit (app, sid, tbl) VALUES (current_setting('application_name'),
    coalesce(to_jsonb(NEW)->>'session_id', to_jsonb(NEW)->>'id'), TG_TABLE_NAME);
  RETURN NEW; END $$ LANGUAGE plpgsql;
CREATE TRIGGER audit_sessions AFTER UPDATE ON sessions FOR EACH ROW EXECUTE FUNCTION audited();
CREATE TRIGGER audit_history AFTER INSERT OR UPDATE ON history FOR EACH ROW
  EXECUTE FUNCTION audited();
CREATE TRIGGER audit_checkpoints AFTER INSERT OR UPDATE ON checkpoints FOR EACH ROW
  EXECUTE FUNCTION audited();
"""


@pytest.fixture(scope="module")
def cluster(
    ray_cluster: RayCluster, redis_url: str, tmp_path_factory: pytest.TempPathFactory  # noqa: F811
) -> Iterator[tuple[Server, Server, str, Path]]:
    """(A, B, the database's URL, A's log)."""
    database = shared().database("fencing")
    common = {**OPTS, "fanout": redis_url, "ray_address": ray_cluster.address}
    logs = tmp_path_factory.mktemp("fencing")
    a = Server(tmp_path_factory.mktemp("a"), log=logs / "a.log",
               database_url=f"{database}?application_name=replica-a", **common)  # fmt: skip
    b = Server(tmp_path_factory.mktemp("b"), log=logs / "b.log",
               database_url=f"{database}?application_name=replica-b", **common)  # fmt: skip
    try:
        with ThreadPoolExecutor(2) as starting:
            list(starting.map(lambda s: s.start(timeout=START_SECONDS), (a, b)))
        with psycopg.connect(database, autocommit=True) as pg:
            pg.execute(AUDIT)
        yield a, b, database, logs / "a.log"
    finally:
        for server in (a, b):
            if server.proc is not None and server.proc.poll() is None:
                os.kill(server.proc.pid, signal.SIGCONT)  # never left stopped
            server.stop()
        for name in ("a.log", "b.log"):
            print(name, (logs / name).read_text()[-2000:])


# A's write transactions (an xid: a row written or locked) once no statement of A is running
# (one sent before the stop still finishes: "active" turns "idle in transaction"), and those
# holding a lock on the sessions table (its guard holds the session row until the end)
A_WRITING = """
SELECT count(*) FILTER (WHERE a.state = 'active'),
       count(*) FILTER (WHERE a.state = 'idle in transaction' AND a.backend_xid IS NOT NULL
         AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid
                     AND l.relation = 'sessions'::regclass))
FROM pg_stat_activity a WHERE a.application_name = 'replica-a'
"""


def stop_a(a: Server, database: str, inside: bool) -> None:
    """SIGSTOP A where its writer is outside any write transaction, or (``inside``) inside one
    that holds the session's row: stopped at random until it is where it was wanted."""
    assert a.proc is not None
    if not inside:
        stop_between_transactions(a.proc.pid, database, "replica-a")
        return
    for _ in range(200):
        os.kill(a.proc.pid, signal.SIGSTOP)
        settled = wait_for(lambda: (n := rows(database, A_WRITING)[0])[0] == 0 and n, timeout=10)
        if settled[1] > 0:
            return
        os.kill(a.proc.pid, signal.SIGCONT)
        time.sleep(0.01)
    raise AssertionError("A was never stopped inside a transaction")


@pytest.mark.parametrize("inside", [False, True], ids=["between", "inside-a-transaction"])
def test_a_stalled_replica_writes_nothing_after_another_claimed_its_session(
    cluster: tuple[Server, Server, str, Path], inside: bool
) -> None:
    a, b, database, a_log = cluster
    assert a.proc is not None
    h = {"Authorization": "Bearer fencing-owner"}
    shared_state = redis.Redis.from_url(b.env["BPP_FANOUT"])

    def holder(sid: str) -> str | None:
        token = shared_state.get(f"bpp:{sid}:lease")
        url = None if token is None else shared_state.get(f"bpp:replica:{token.decode()}")
        return None if url is None else url.decode()

    with httpx.Client(base_url=a.url, timeout=30) as on_a, \
            httpx.Client(base_url=b.url, timeout=30) as on_b:
        made = on_a.post("/api/sessions", json={"config": FAST}, headers=h)
        assert made.status_code == 201, made.text
        sid = made.json()["id"]
        run = on_a.post(f"/api/sessions/{sid}/run", json={"steps": RUN, "speed": SPEED},
                        headers=h)  # fmt: skip
        assert run.status_code == 200, run.text
        wait_for(lambda: on_a.get(f"/api/sessions/{sid}", headers=h).json()["seq"] >= 300,
                 timeout=60)  # fmt: skip
        stop_a(a, database, inside)
        try:
            # B takes the session over once A's lease has lapsed, and writes it
            wait_for(lambda: holder(sid) == b.url, timeout=20)
            claimed = wait_for(lambda: rows(
                database, "SELECT min(id) FROM audit WHERE app = 'replica-b' AND sid = %s", sid
            )[0][0], timeout=20)  # fmt: skip
        finally:
            os.kill(a.proc.pid, signal.SIGCONT)
        # B runs it on to where A's run was to end
        wait_for(lambda: on_b.get(f"/api/sessions/{sid}", headers=h).json()["status"]
                 == "finished", timeout=60)  # fmt: skip
        final = on_b.get(f"/api/sessions/{sid}", headers=h).json()
        assert (final["status"], final["seq"]) == ("finished", RUN)
        late = rows(database, "SELECT count(*) FROM audit WHERE app = 'replica-a' AND sid = %s"
                    " AND id > %s", sid, claimed)[0][0]  # fmt: skip
        assert late == 0, f"A committed {late} rows of the session after B's claim"
        seqs = [r[0] for r in rows(database, "SELECT seq FROM history WHERE session_id = %s"
                                   " ORDER BY seq", sid)]  # fmt: skip
        assert seqs == list(range(1, RUN + 1))
        # A stops driving the session and forwards to B since: told by a write the store
        # refused (fenced), or first by its keeper's renewal that B holds the lease now (on a
        # busy machine either may come first; no late rows either way)
        wait_for(lambda: f"fenced: session {sid}" in a_log.read_text()
                 or f"session {sid}: another replica holds it now" in a_log.read_text(),
                 timeout=30)  # fmt: skip
        through_a = on_a.get(f"/api/sessions/{sid}", headers=h)
    assert through_a.status_code == 200 and through_a.json()["seq"] == RUN
    assert holder(sid) == b.url  # served by B: A did not take the session back
    said = [line for line in a_log.read_text().splitlines()
            if f"fenced: session {sid}" in line and "stopped here" in line]  # fmt: skip
    assert len(said) <= 1, said  # once, however many of its writes were refused
