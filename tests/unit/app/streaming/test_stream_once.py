"""A stream catching up from the store while the store is ahead of its hub (a batch committed,
not yet published, or not yet read back from Redis by a process that does not run the session)
gets every step once: before, it took the store's newer records, found its cursor past the
hub's ``last_seq``, took that for a cut (``rewound``) and was sent those steps again."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from app.core.store import Store
from app.streaming.hub import Hub, Subscriber
from app.streaming.sse import StreamOptions, follow

SESSION = (
    "INSERT INTO sessions (id, owner, name, config, status, generation, seq_base, counters,"
    " created, updated) VALUES ('s', 'owner', '', '{}', 'running', 0, 0, '{}', 0.0, 0.0)"
)


def steps(first: int, last: int) -> list[tuple[int, str]]:
    return [(s, json.dumps({"seq": s})) for s in range(first, last + 1)]


def sent(chunks: list[bytes]) -> tuple[list[int], list[str]]:
    """The step seqs and the status reasons in the stream's chunks, in order."""
    seqs: list[int] = []
    reasons: list[str] = []
    for block in b"".join(chunks).decode().replace("\r\n", "\n").split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        if lines.get("event") == "step":
            seqs.extend(r["seq"] for r in json.loads(lines["data"]))
        elif lines.get("event") == "status":
            reasons.append(json.loads(lines["data"]).get("reason", ""))
    return seqs, reasons


def test_a_store_ahead_of_the_hub_sends_no_step_twice(tmp_path: Path) -> None:
    store = Store(tmp_path / "db.sqlite3")
    rows = [(s, s, 0.5, 0, text) for s, text in steps(1, 20)]
    assert store.submit([(SESSION, (), False), store.put_steps("s", 0, rows)]).wait(10)

    async def scenario() -> list[bytes]:
        # steps 1-20 are committed, 1-10 published: the ring (4 long) holds 7-10, so a reader
        # from 0 catches up from the store
        hub = Hub(ring_size=4, last_seq=0, loop=asyncio.get_running_loop())
        hub.publish(steps(1, 10))
        sub = Subscriber(owner="o", every=0, fps=0, include=frozenset(), frames=False)
        opts = StreamOptions(after=0, follow=False, ping_seconds=5, retry_ms=1000)
        stream = follow(hub, store, "s", sub, opts, lambda: None, lambda: None)
        async with asyncio.timeout(20):
            chunks = [await anext(stream), await anext(stream)]  # connected; the catch-up
            hub.publish(steps(11, 15))  # the next publish wakes the stream
            chunks.append(await anext(stream))
            hub.publish(steps(16, 20), status={"status": "finished"})
            chunks.extend([c async for c in stream])  # ends with close (follow=False)
        return chunks

    with ThreadPoolExecutor(1) as pool:  # Playwright may hold an event loop in this thread
        try:
            chunks = pool.submit(asyncio.run, scenario()).result(timeout=30)
        finally:
            store.close()
    seqs, reasons = sent(chunks)
    assert seqs == list(range(1, 21))
    assert "rewound" not in reasons
    assert b"event: close" in chunks[-1]
