"""What subscribers in other processes want of a session's frames, through Redis.

A process that follows a session it does not run keeps its subscribers' demand (taken
together, :class:`~app.streaming.demand.Demand`) in the hash ``bpp:<id>:want``: field the
process's token, value JSON ``{"frames", "every", "fps", "include", "pages", "t"}`` (``t``: when
it was written, Unix seconds). Its reader rewrites it every :data:`WANT_TTL` / 3 seconds while
it has subscribers and deletes it when the last one leaves; each change is announced on the
stream ``bpp:demand`` (field ``s``: the session id).

The process that runs the session reads that stream (one :class:`DemandListener` thread per
process) and, for its own sessions, merges the entries younger than :data:`WANT_TTL` into the
hub's demand (:func:`merge`: the same rules as one process's subscribers), which reaches the
trainer like a local subscriber's would. It reads them again every :data:`WANT_TTL` / 3 while
any are held, so a process that died stops counting (clocks of the hosts are assumed to agree
within seconds, as NTP keeps them).
"""

from __future__ import annotations

import json
import threading
import time
import weakref
from typing import Any, Protocol

import redis

from app.streaming.demand import Demand

WANT_TTL = 15.0  # seconds an entry counts after it was written
DEMAND_STREAM = "bpp:demand"
DEMAND_KEPT = 1000
BLOCK_MS = 1000


def want_key(session_id: str) -> str:
    return f"bpp:{session_id}:want"


def encode_demand(d: Demand) -> str:
    return json.dumps(
        {"frames": d.frames, "every": d.every, "fps": d.fps, "include": sorted(d.include),
         "pages": d.pages, "t": time.time()}
    )


def decode_wants(raw: dict[bytes, bytes], now: float) -> list[Demand]:
    """The live entries of a ``want`` hash (older than WANT_TTL, or unreadable: skipped)."""
    out = []
    for value in raw.values():
        try:
            d = json.loads(value)
            if now - float(d["t"]) > WANT_TTL:
                continue
            out.append(Demand(bool(d["frames"]), int(d["every"]), float(d["fps"]),
                              frozenset(map(str, d["include"])), float(d["pages"])))
        except (ValueError, KeyError, TypeError):
            continue
    return out


def merge(demands: list[Demand], look: Any) -> Demand:
    """Several processes' demands as one: frames if any wants them, the smallest ``every``,
    the largest ``fps`` unless one wants frames untimed, every view, the most page frames."""
    wanting = [d for d in demands if d.frames]
    everies = [d.every for d in wanting if d.every]
    timed = [d.fps for d in wanting if d.fps] if all(d.fps for d in wanting) else []
    return Demand(
        frames=bool(wanting),
        every=min(everies) if everies else 0,
        fps=max(timed) if timed else 0.0,
        include=frozenset().union(*(d.include for d in wanting)) if wanting else frozenset(),
        pages=max((d.pages for d in demands), default=0.0),
        look=look,
    )


class Owned(Protocol):
    def take_remote(self, wants: list[Demand]) -> None: ...


class DemandListener:
    """The owner's side: one thread per process reading ``bpp:demand`` (module docstring)."""

    def __init__(self, client: Any, usable: Any, failed: Any) -> None:
        self.client, self.usable, self.failed = client, usable, failed
        self.hubs: weakref.WeakValueDictionary[str, Any] = weakref.WeakValueDictionary()
        self.held: set[str] = set()  # sessions with other processes' demand now
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.closed = False

    def register(self, session_id: str, hub: Owned) -> None:
        with self.lock:
            self.hubs[session_id] = hub
            if self.thread is None:
                self.thread = threading.Thread(
                    target=self._run, name="bpp-redis-demand", daemon=True
                )
                self.thread.start()

    def _run(self) -> None:
        last: bytes | str = "$"
        refresh = time.monotonic()
        while not self.closed:
            if not self.usable():
                time.sleep(0.25)
                continue
            try:
                got = self.client.xread({DEMAND_STREAM: last}, count=500, block=BLOCK_MS)
                named: set[str] = set()
                for _, entries in got or []:
                    for eid, fields in entries:
                        last = eid
                        named.add(fields.get(b"s", b"").decode())
                if time.monotonic() >= refresh:  # entries age out: read the held ones again
                    named |= self.held
                    refresh = time.monotonic() + WANT_TTL / 3
                for sid in named:
                    hub = self.hubs.get(sid)
                    if hub is not None:
                        wants = decode_wants(self.client.hgetall(want_key(sid)), time.time())
                        (self.held.add if wants else self.held.discard)(sid)
                        hub.take_remote(wants)
            except (redis.RedisError, OSError) as exc:
                self.failed(exc)
                last = "$"  # a restarted Redis has a new stream; the held wants are re-read
                refresh = 0.0


def announce(pipe: Any, session_id: str, token: str, demand: Demand | None) -> int:
    """Add the commands that publish this process's ``demand`` for a session it follows (None:
    it follows no more); how many."""
    key = want_key(session_id)
    if demand is None:
        pipe.hdel(key, token)
    else:
        pipe.hset(key, token, encode_demand(demand))
    pipe.expire(key, int(WANT_TTL * 4))
    pipe.xadd(DEMAND_STREAM, {"s": session_id}, maxlen=DEMAND_KEPT, approximate=True)
    return 3
