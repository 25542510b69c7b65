"""The JSON event stream (``/events``) of one subscriber, framed as server-sent events.

:func:`follow` replays the stored step records after the client's cursor (from the hub's ring
of recent records, else the store), then follows the session live: step records, weight frames
and status events as they are published, everything due at one wake-up in one chunk; a cursor
the history was cut back past gets ``rewound``, one before the kept window ``compacted``.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import anyio
from fastapi.sse import KEEPALIVE_COMMENT, format_sse_event

from app.core.history import HistoryStore
from app.core.jsontext import encode
from app.streaming.fanout import FanOut
from app.streaming.hub import Subscriber

REPLAY_BATCH = 1000  # records per replayed "step" event: bounds one event's size
TERMINAL = ("finished", "diverged")
SLOW_WRITE = 0.05  # a write that waits this long (seconds) means the client is not keeping up



@dataclass
class StreamOptions:
    after: int
    follow: bool
    ping_seconds: float
    retry_ms: int
    min_interval: float = 0.0


async def follow(
    hub: FanOut,
    store: HistoryStore,
    session_id: str,
    sub: Subscriber,
    opts: StreamOptions,
    on_open: Callable[[], None],
    on_close: Callable[[], None],
) -> AsyncIterator[bytes]:
    """The event stream of one subscriber, framed by ``fastapi.sse.format_sse_event``.

    Everything due at one wake-up (steps, the newest frame, a status) goes out as one chunk:
    one socket write instead of three, which is what lets one event loop feed 100 streams.
    Every pass of the loop awaits something (promise 17): a database read, the client taking
    a chunk, a yield to the loop between two replayed batches, or the next publish.
    """
    cursor = opts.after
    seen_version = -1
    seen_rewinds = hub.rewinds
    slow = False  # the last write waited for the client
    # jitter spreads reconnects of many clients after a server restart (promise 3)
    retry = opts.retry_ms + random.randint(0, opts.retry_ms)
    # registered here, not by the route: a generator that never starts never unregisters
    on_open()
    hub.add(sub)
    try:
        yield format_sse_event(comment="connected", retry=retry)
        while True:
            sub.event.clear()
            if hub.closed:
                yield _event("close", encode({"reason": hub.closed}), cursor)
                return
            chunk: list[bytes] = []
            cursor, seen_rewinds, notice = place(hub, cursor, seen_rewinds)
            if notice is not None:
                chunk.append(_event("status", encode(notice), cursor))
            records = hub.read_ring(cursor, REPLAY_BATCH)
            if records is None:
                records = await _stored(hub, store, session_id, cursor)
            if records:
                cursor = records[-1][0]
                chunk.append(_event("step", "[" + ",".join(r[1] for r in records) + "]", cursor))
            with hub.lock:
                frames = [f for f in sub.queue if f.seq <= cursor]
                for _ in frames:
                    sub.queue.popleft()
                status_due = hub.status_version != seen_version and hub.status_seq <= cursor
                status, version = hub.status, hub.status_version
                behind = cursor < hub.last_seq
                ending = hub.ending
            # a client keeping up gets every frame it asked for (two can be queued when the
            # loop or a worker was held up); one that is slow to take our writes gets only the
            # newest, so it catches up instead of falling further behind
            for f in frames[-1:] if slow else frames:
                chunk.append(_event("frame", f.json, cursor))
            closing = False
            if status_due:
                seen_version = version
                chunk.append(_event("status", encode(status), cursor))
                if status["status"] in TERMINAL and not opts.follow:
                    chunk.append(_event("close", encode({"reason": status["status"]}), cursor))
                    closing = True
            if chunk:
                sent = time.monotonic()
                yield b"".join(chunk)  # returns once the server took it: later if the client lags
                slow = time.monotonic() - sent > SLOW_WRITE
            if closing or ending:
                return  # ending: the client reconnects (retry) and resumes from its last id
            if behind and records:
                await asyncio.sleep(0)  # more to replay: the loop serves others in between
                continue
            if records and opts.min_interval:
                # gather a few slices' steps into the next event: fewer, larger events keep
                # the event loop free with many streams (lag stays under the interval + commit);
                # a frame ends the wait, or the next one would replace it unseen
                sub.frame_event.clear()
                if not sub.queue:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(opts.min_interval):
                            await sub.frame_event.wait()
            try:
                async with asyncio.timeout(opts.ping_seconds):
                    await sub.event.wait()
            except TimeoutError:
                yield KEEPALIVE_COMMENT
    finally:
        hub.remove(sub)
        on_close()


def place(hub: FanOut, cursor: int, seen_rewinds: int) -> tuple[int, int, dict[str, Any] | None]:
    """Where a reader at ``cursor`` continues: ``(cursor, rewinds seen, notice)``, the notice
    being the ``status`` to tell it when its cursor had to move (see the module docstring)."""
    with hub.lock:
        rewinds, rewind_seq, last = hub.rewinds, hub.rewind_seq, hub.last_seq
        start, status = hub.window_start, hub.status
    moved, reason = cursor, None
    if rewinds != seen_rewinds and cursor > rewind_seq:
        moved, reason = rewind_seq, "rewound"  # cut back while this reader was past the cut
    elif cursor > last:
        moved, reason = last, "rewound"
    elif cursor < start:
        moved, reason = start, "compacted"
    if reason is None:
        return cursor, rewinds, None
    notice = {**status, "reason": reason, "seq": moved, "step": None, "from": cursor}
    return moved, rewinds, notice


async def _stored(
    hub: FanOut, store: HistoryStore, session_id: str, cursor: int
) -> list[tuple[int, str]]:
    """The stored records after ``cursor``, up to the hub's ``last_seq`` as it was before the
    read. The store is ahead of the hub: a batch is committed before it is published, and a
    process that does not run the session learns of it later still, through Redis. A record
    past ``last_seq`` would put the cursor past it, which :func:`place` takes for a cut
    (``rewound``): the records after ``last_seq`` would then be sent a second time."""
    with hub.lock:
        announced = hub.last_seq
    records = await anyio.to_thread.run_sync(
        store.records_after, session_id, cursor, REPLAY_BATCH
    )
    if records and records[-1][0] > announced:
        records = [r for r in records if r[0] <= announced]
    return records


def _event(name: str, data: str, cursor: int) -> bytes:
    return format_sse_event(data_str=data, event=name, id=str(cursor))
