"""The fan-out over Redis streams (``BPP_FANOUT=redis://…``): a :class:`FanOut` whose
subscribers may be in any web process.

A :class:`RedisFanOut` is a :class:`~app.streaming.hub.Hub` (the same subscribers, demand and
wake-ups) whose publishing goes to Redis (app/streaming/redis_link.py: the keys and their
formats) and whose subscribers are woken by a *reader*: one thread per followed session per
process (started by the first subscriber, gone a second after the last), blocked in ``XREAD``
on the session's ``steps`` and ``events`` streams. It copies the step records it reads into the
hub's ring (a mirror of the stream's tail: live readers read memory, not Redis), applies the
events (status, weight frames queued at each subscriber's own cadence, rewinds, close) and
wakes the process's subscribers. So a process that does not run the session (``owner`` False)
streams it like the one that does.

``read_ring`` reads the mirror, else ``XRANGE`` in Redis, and returns None when the cursor is
before the stream's window or Redis is unreachable: readers then read the store (sse.py).

The owner keeps what the session manager reads at once (``last_seq``, ``status``, rewinds,
``closed``, ``window_start``) up to date itself. When Redis does not take a publish, the owner
applies it to its own subscribers (status, frame, wake) as the in-process hub does: its streams
go on from the store, and nothing is applied twice (a publish reaches the subscribers through
Redis or locally, never both). The owner's first publish, and its first after any Redis
failure, starts the ``steps`` stream over (``x``), so Redis never holds records the store
has cut back.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
from collections.abc import Callable
from typing import Any, cast

import redis

from app.core.jsontext import encode
from app.streaming.demand import Demand, Frame
from app.streaming.hub import Hub
from app.streaming.redis_demand import WANT_TTL, announce, merge
from app.streaming.redis_link import (
    BACKOFF,
    BLOCK_MS,
    CLOSED_TTL,
    Fields,
    RedisLink,
    keys,
    seq_of,
    step_id,
)

READ_COUNT = 1000  # entries per XREAD and stream


class RedisFanOut(Hub):
    """One session's fan-out point in this process, through Redis (module docstring)."""

    def __init__(
        self,
        link: RedisLink,
        session_id: str,
        ring_size: int,
        last_seq: int,
        loop: asyncio.AbstractEventLoop,
        owner: bool = True,
    ) -> None:
        self.link, self.session_id, self.owner = link, session_id, owner
        self._window = 0
        super().__init__(ring_size, last_seq, loop)
        self.ring_size = ring_size
        self._reader: threading.Thread | None = None
        self._episode = -1  # the link's episode this session's stream is sound in
        self._applied = ""  # the status text last given a version (to subscribers)
        self.remote: list[Demand] = []  # other processes' subscribers' demand (the owner's)
        if owner:
            link.listener.register(session_id, self)
        else:
            self._snapshot(link.meta(session_id) or {})

    # ---- the window (steps after it are stored at full resolution) ----------------------------

    @property
    def window_start(self) -> int:
        return self._window

    @window_start.setter
    def window_start(self, value: int) -> None:
        changed, self._window = value != self._window, value
        if changed and self.owner and hasattr(self, "_episode"):
            self._send([], [("k", "w"), ("w", str(value))])

    # ---- publishing (the owner's writer thread) ----------------------------------------------

    def publish(
        self,
        steps: list[tuple[int, str]],
        frame: Frame | None = None,
        status: dict[str, Any] | None = None,
        forced_frame: bool = False,
    ) -> None:
        with self.lock:
            if steps:
                self.last_seq = max(self.last_seq, steps[-1][0])
            if status is not None:
                self.status = status  # for the manager now; subscribers get it when read back
            seq = self.last_seq
        event: list[tuple[str, str]] = []
        if status is not None or frame is not None:
            event = [("k", "p"), ("q", str(seq))]
            if status is not None:
                event.append(("s", encode(status)))
            if frame is not None:
                event += [("f", frame.json), ("fs", str(frame.step)), ("fq", str(frame.seq))]
                event.append(("fo", "1" if forced_frame else "0"))

        def here() -> None:  # Redis did not take it: this process's streams still hear of it
            with self.lock:
                if frame is not None:
                    self._offer(frame, forced_frame)
                if status is not None:
                    self._set_status(status, seq)
                    self._applied = encode(status)
                self.ring.clear()
            self.wake(pages=not steps or status is not None or forced_frame)

        self._send(steps, event, here)

    def _send(
        self,
        steps: list[tuple[int, str]],
        event: list[tuple[str, str]],
        failed: Callable[[], None] | None = None,
        cut: int | None = None,
        expire: int | None = None,
    ) -> None:
        """Queue steps and an event for Redis (the sender's thread writes them), after cutting
        the steps after ``cut``; the stream is started over instead when it may be unsound
        (the first publish of this process, or the first after a failure). ``failed`` runs
        if Redis does not take them."""
        decided: list[bool] = []  # reset or not: kept if the sender builds this twice

        def build(pipe: Any) -> int:
            episode = self.link.episode
            decided[:] = decided or [self._episode != episode]
            added, fields, reset = 0, event, decided[0]
            # sound from here on, unless this batch fails (done(False), and the failure
            # starts a new episode): the publishes after it in this pipeline must not reset
            self._episode = episode
            if reset:
                with self.lock:
                    state = [("rw", str(self.rewinds)), ("rs", str(self.rewind_seq))]
                    state.append(("q", str(self.last_seq)))
                fields = (event or [("k", "p")]) + [("x", "1")] + state
            elif cut is not None:
                added += self.link.cut_to(pipe, self.session_id, cut)
            added += self.link.publish_to(
                pipe, self.session_id, steps, fields, self.ring_size, reset
            )
            if expire is not None:
                added += self.link.expire_to(pipe, self.session_id, expire)
            return added

        def done(ok: bool) -> None:
            if not ok:
                self._episode = -1
                if failed is not None:
                    failed()

        self.link.sender.submit(build, done)

    def rewind(self, seq: int, status: dict[str, Any]) -> None:
        super().rewind(seq, status)
        self._applied = encode(status)
        with self.lock:
            state = [("rw", str(self.rewinds)), ("rs", str(seq)), ("q", str(seq))]
        self._send([], [("k", "r"), ("s", encode(status)), *state], cut=seq)

    def close(self, reason: str) -> None:
        super().close(reason)
        if self.owner:
            self._send([], [("k", "c"), ("c", reason)], expire=CLOSED_TTL)

    # ---- reading (event loop, page feed) ------------------------------------------------------

    def read_ring(self, cursor: int, limit: int) -> list[tuple[int, str]] | None:
        """Records after ``cursor`` (at most ``limit``, up to ``last_seq``) from the mirror, else
        from Redis; None when neither holds the next one."""
        with self.lock:
            last = self.last_seq
            if cursor >= last:
                return []
            if self.ring and self.ring[0][0] <= cursor + 1 <= self.ring[-1][0]:
                start = cursor + 1 - self.ring[0][0]  # the mirror is gap-free
                held = itertools.islice(self.ring, start, start + limit)
                return [r for r in held if r[0] <= last]
        got = self.link.records(self.session_id, cursor, min(limit, last - cursor))
        if not got or got[0][0] != cursor + 1:
            return None  # before the window, or Redis out of reach: the store has them
        out: list[tuple[int, str]] = []
        for seq, record in got:  # gap-free and never past what this process announced
            if seq != cursor + 1 + len(out) or seq > last:
                break
            out.append((seq, record))
        return out

    # ---- demand: other processes' subscribers (app/streaming/redis_demand.py) ------------------

    def _wanted(self) -> Demand:
        local = super()._wanted()
        return merge([local, *self.remote], self.look) if self.remote else local

    def take_remote(self, wants: list[Demand]) -> None:
        """The owner's listener read what other processes' subscribers want now."""
        with self.lock:
            self.remote = wants
        self._recompute()

    def _recompute(self) -> None:
        super()._recompute()
        if not self.owner:
            self._announce()

    def _announce(self) -> None:
        """Tell the owner what this process's subscribers want (nothing, once none is left)."""
        with self.lock:
            demand = self.demand if self.subscribers else None
        sid, token = self.session_id, self.link.token
        self.link.sender.submit(lambda pipe: announce(pipe, sid, token, demand), lambda ok: None)

    # ---- the reader (one thread per followed session) -----------------------------------------

    def add(self, sub: Any) -> None:
        super().add(sub)
        with self.lock:
            if self._reader is None:
                self._reader = threading.Thread(
                    target=self._read, name=f"bpp-redis-{self.session_id[:8]}", daemon=True
                )
                self._reader.start()

    def _read(self) -> None:
        steps_key, events_key, meta_key = keys(self.session_id)
        synced, steps_at, events_at = False, 0, b"0-0"
        announced = time.monotonic()
        while True:
            with self.lock:
                if not self.subscribers or self.link.closed:
                    self._reader = None  # under the lock: add() starts a new one after this
                    return
            if not self.owner and time.monotonic() - announced > WANT_TTL / 3:
                announced = time.monotonic()
                self._announce()  # still wanted: the owner counts an entry WANT_TTL long
            if not self.link.usable():
                time.sleep(BACKOFF / 4)
                continue
            try:
                if not synced:
                    meta = cast(dict[bytes, bytes], self.link.blocking.hgetall(meta_key))
                    events_at = self._snapshot(meta)
                    with self.lock:
                        self.ring.clear()
                        steps_at = self.last_seq
                    synced = True
                    self.wake()
                got = self.link.blocking.xread(
                    {steps_key: step_id(steps_at), events_key: events_at},
                    count=READ_COUNT,
                    block=BLOCK_MS,
                )
            except (redis.RedisError, OSError) as exc:
                self.link.failed(exc)
                synced = False
                with self.lock:
                    self.ring.clear()
                self.wake()  # streams re-read: from the store now
                continue
            self.link.worked()
            if got:  # nothing within BLOCK_MS: no wake-up (it would hold back the pings)
                # RESP2 (redis-py's default): a list of [stream key, entries]
                answer = cast(list[Any], got)
                steps_at, events_at = self._apply(answer, steps_key, steps_at, events_at)

    def _apply(
        self, got: list[Any], steps_key: str, steps_at: int, events_at: bytes
    ) -> tuple[int, bytes]:
        """Take one XREAD answer in: steps into the mirror, events applied; the new cursors."""
        steps: list[tuple[int, str]] = []
        events: list[Fields] = []
        for key, entries in got:
            if key.decode() == steps_key:
                steps = [(seq_of(eid), f[b"r"].decode()) for eid, f in entries]
            elif entries:
                events = [f for _, f in entries]
                events_at = entries[-1][0]
        # a cut or a restarted stream in this answer: its steps may be from before it, so
        # they are dropped and the stream is read again from its start
        restart = any(f.get(b"k") == b"r" or b"x" in f for f in events)
        pages = not steps
        with self.lock:
            if steps and not restart:
                if self.ring and steps[0][0] != self.ring[-1][0] + 1:
                    self.ring.clear()
                self.ring.extend(steps)
                steps_at = steps[-1][0]
                if not self.owner:
                    self.last_seq = max(self.last_seq, steps_at)
            for f in events:
                pages = self._event(f) or pages
            if restart:
                self.ring.clear()
                steps_at = 0
        self.wake(pages=pages)
        return steps_at, events_at

    def _event(self, f: Fields) -> bool:
        """Apply one event (under ``lock``); True if the pages' streams should redraw."""
        kind, q = f.get(b"k"), int(f.get(b"q", b"0"))
        if not self.owner:
            if b"rw" in f and int(f[b"rw"]) != self.rewinds:  # cut back, here or in an outage
                self.rewinds, self.rewind_seq = int(f[b"rw"]), int(f[b"rs"])
                self.last_seq = q
                self.ring.clear()
            self.last_seq = max(self.last_seq, q)
            if kind == b"c":
                self.closed = f[b"c"].decode()
            if kind == b"w":
                self._window = int(f[b"w"])
        elif kind == b"r":
            return False  # the owner applied its own cut at once
        if b"f" in f:
            frame = Frame(int(f[b"fq"]), int(f[b"fs"]), f[b"f"].decode())
            self._offer(frame, f.get(b"fo") == b"1")
        text = f.get(b"s", b"").decode()
        # a status already applied here is not news: a publish Redis took but whose answer
        # timed out was also applied locally (the status names its seq, so a real repeat
        # says nothing new either)
        if text and text != self._applied:
            self._set_status(json.loads(text), min(q, self.last_seq))
            self._applied = text
        return bool(text) or f.get(b"fo") == b"1" or kind in (b"c", b"w")

    def _snapshot(self, meta: dict[bytes, bytes]) -> bytes:
        """Catch up with what was published before this reader started (or reconnected):
        the owner with its own status, another process with the session's ``meta``; returns
        the ``events`` id to read after."""
        with self.lock:
            if self.owner:
                text = encode(self.status)
                if text != self._applied:
                    self._set_status(self.status, self.last_seq)
                    self._applied = text
            else:
                q = max(int(meta.get(b"last", b"0")), int(meta.get(b"q", b"0")))
                rewinds = int(meta.get(b"rw", b"0"))
                if rewinds != self.rewinds:
                    self.rewinds, self.rewind_seq = rewinds, int(meta.get(b"rs", b"0"))
                    self.last_seq = q
                self.last_seq = max(self.last_seq, q)
                self._window = int(meta.get(b"w", b"0"))
                if b"c" in meta:
                    self.closed = meta[b"c"].decode()
                text = meta.get(b"s", b"").decode()
                if text and text != self._applied:
                    self._set_status(json.loads(text), min(int(meta[b"q"]), self.last_seq))
                    self._applied = text
        return meta.get(b"ev", b"0-0")


def redis_hubs(url: str) -> tuple[RedisLink, Any]:
    """The process's link to ``url`` and a maker of its sessions' fan-outs (the owner's):
    ``make(session_id, ring_size, last_seq, loop)``."""
    link = RedisLink(url)

    def make(
        session_id: str, ring_size: int, last_seq: int, loop: asyncio.AbstractEventLoop
    ) -> RedisFanOut:
        return RedisFanOut(link, session_id, ring_size, last_seq, loop)

    return link, make
