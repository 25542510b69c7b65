"""Bench: what one publish costs the writer thread, in-process hub against Redis streams
(issue 16 part 3's figure).

A batch is what the writer publishes after one commit: ``k`` step records (real ones, from
training the tests' small net: JSON text as stored) and, every 4th batch, a weight frame and a
status. Each fan-out is timed over ``--batches`` publishes with one subscriber following it
(the Redis one then also runs its reader thread, as a followed session does), against a
``redis-server`` started on 127.0.0.1 for the bench. Printed: the writer thread's µs per
publish (median; the Redis fan-out only queues it) and the ratio Redis / hub; and the sending
µs per batch (from the first publish until Redis has them all, over the batches: the sender's
pipelines, which serve every session of the process); and the time from a publish to its
subscriber being woken.

    .venv/bin/python bench/bench_fanout.py [--batches 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]
from apptools import FAST  # noqa: E402
from redistools import RedisServer  # noqa: E402

from app.streaming.demand import Frame  # noqa: E402
from app.streaming.fanout import FanOut  # noqa: E402
from app.streaming.hub import Hub, Subscriber  # noqa: E402
from app.streaming.redis_fanout import RedisFanOut  # noqa: E402
from app.streaming.redis_link import RedisLink  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

RING = 1024


def sample_records(n: int) -> list[str]:
    t = Trainer(FAST)
    t.step(n)
    return [json.dumps(r, separators=(",", ":")) for r in t.history][-n:]


async def time_publishes(
    hub: FanOut, texts: list[str], k: int, batches: int
) -> tuple[list[float], float]:
    """Each publish's time, and the time until all of them were sent (Redis), per batch."""
    sub = Subscriber(owner="o", every=0, fps=0, include=frozenset(), frames=True)
    hub.add(sub)
    await asyncio.sleep(0.05)  # the reader (if any) is in XREAD
    frame_json = json.dumps({"layers": [[0.1] * 64] * 4})
    took: list[float] = []
    seq = 0
    start = time.perf_counter()
    for i in range(batches):
        steps = [(seq + j + 1, texts[(seq + j) % len(texts)]) for j in range(k)]
        seq += k
        extra = i % 4 == 0
        frame = Frame(seq, seq, frame_json) if extra else None
        status = {"status": "running", "step": seq} if extra else None
        t0 = time.perf_counter()
        hub.publish(steps, frame, status)
        took.append(time.perf_counter() - t0)
        sub.queue.clear()
        if i % 50 == 0:
            await asyncio.sleep(0)  # let the loop run the wake-ups
    link = getattr(hub, "link", None)
    if link is not None:
        link.sender.flush(60)
    sent = (time.perf_counter() - start) / batches
    hub.remove(sub)
    return took, sent


async def wake_latency(hub: FanOut, text: str, rounds: int = 200) -> float:
    """Median seconds from a publish (one record) to its subscriber being woken."""
    sub = Subscriber(owner="o", every=0, fps=0, include=frozenset(), frames=False)
    hub.add(sub)
    await asyncio.sleep(0.05)
    took = []
    for seq in range(10**6, 10**6 + rounds):
        sub.event.clear()
        t0 = time.perf_counter()
        hub.publish([(seq, text)])
        await sub.event.wait()
        took.append(time.perf_counter() - t0)
    hub.remove(sub)
    return statistics.median(took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=2000)
    args = parser.parse_args()
    texts = sample_records(200)
    size = statistics.mean(len(t) for t in texts)
    print(f"fan-out publish cost per batch (records ~{size:.0f} B; median of {args.batches})")
    print(f"{'records/batch':>14} {'hub µs':>9} {'redis µs':>9} {'ratio':>7} {'sent µs':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        server = RedisServer(Path(tmp)).start()
        link = RedisLink(server.url)
        try:
            for k in (1, 10, 40):

                async def both(k: int = k) -> tuple[float, float, float]:
                    loop = asyncio.get_running_loop()
                    hub, _ = await time_publishes(Hub(RING, 0, loop), texts, k, args.batches)
                    red = RedisFanOut(link, f"bench{k}", RING, 0, loop)
                    over, sent = await time_publishes(red, texts, k, args.batches)
                    return statistics.median(hub), statistics.median(over), sent

                hub_s, redis_s, sent_s = asyncio.run(both())
                print(f"{k:>14} {hub_s * 1e6:>9.1f} {redis_s * 1e6:>9.1f} "
                      f"{redis_s / hub_s:>6.1f}× {sent_s * 1e6:>9.1f}")
            async def latencies() -> tuple[float, float]:
                loop = asyncio.get_running_loop()
                hub = await wake_latency(Hub(RING, 10**6 - 1, loop), texts[0])
                red = RedisFanOut(link, "bench-wake", RING, 10**6 - 1, loop)
                return hub, await wake_latency(red, texts[0])

            hub_w, redis_w = asyncio.run(latencies())
            print(f"publish to subscriber woken (median): hub {hub_w * 1e3:.2f} ms, "
                  f"redis {redis_w * 1e3:.2f} ms")
        finally:
            link.close()
            server.stop()


if __name__ == "__main__":
    main()
