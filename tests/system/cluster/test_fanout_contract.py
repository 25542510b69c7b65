"""The fan-out seam's contract (app/streaming/fanout.py) on both implementations: the
in-process hub and the Redis streams one (against a real redis-server). Publish, the recent
records (``read_ring``), the window they are trimmed to, a rewind, close, and subscribers woken
with the status and frames they asked for."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable, Iterator

import pytest
import redis
from redistools import redis_url, run_apart  # noqa: F401  (the session fixture)

from app.streaming import redis_fanout
from app.streaming.demand import Demand, Frame
from app.streaming.fanout import FanOut
from app.streaming.hub import Hub, Subscriber
from app.streaming.redis_fanout import RedisFanOut
from app.streaming.redis_link import RedisLink, keys

RING = 16
Make = Callable[[asyncio.AbstractEventLoop], FanOut]


@pytest.fixture(params=["hub", "redis"])
def make(request: pytest.FixtureRequest, redis_url: str) -> Iterator[Make]:  # noqa: F811
    links: list[RedisLink] = []

    def build(loop: asyncio.AbstractEventLoop) -> FanOut:
        if request.param == "hub":
            return Hub(RING, 0, loop)
        links.append(RedisLink(redis_url))
        return RedisFanOut(links[-1], secrets.token_urlsafe(9), RING, 0, loop)

    yield build
    for link in links:
        link.close()


def run(make: Make, body: Callable[[FanOut], Awaitable[None]]) -> None:
    async def main() -> None:
        hub = make(asyncio.get_running_loop())
        try:
            await body(hub)
        finally:
            hub.end()

    run_apart(main())


def settle(hub: FanOut) -> None:
    """Wait until Redis has what was published (its sender writes in the background)."""
    link = getattr(hub, "link", None)
    if link is not None:
        assert link.sender.flush()


def records(first: int, last: int, tag: str = "") -> list[tuple[int, str]]:
    return [(s, f'{{"seq":{s},"t":"{tag}"}}') for s in range(first, last + 1)]


def subscriber() -> Subscriber:
    return Subscriber(owner="o", every=0, fps=0, include=frozenset(), frames=True)


async def woken(sub: Subscriber, check: Callable[[], bool], timeout: float = 3.0) -> None:
    """Wait for wake-ups until ``check()`` holds."""
    async with asyncio.timeout(timeout):
        while not check():
            await sub.event.wait()
            sub.event.clear()


def test_published_steps_are_read_back_in_order(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        hub.publish(records(1, 5))
        hub.publish(records(6, 10))
        assert hub.last_seq == 10
        settle(hub)
        assert hub.read_ring(0, 100) == records(1, 10)
        assert hub.read_ring(7, 2) == records(8, 9)  # at most the limit
        assert hub.read_ring(10, 100) == []  # at the live end: nothing yet

    run(make, body)


def test_the_window_is_the_newest_ring_size_records(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        for first in range(1, 41, 8):
            hub.publish(records(first, first + 7))
        settle(hub)
        assert hub.read_ring(40 - RING, 100) == records(41 - RING, 40)
        assert hub.read_ring(39 - RING, 100) is None  # before the window: the store's

    run(make, body)


def test_a_rewind_drops_what_came_after_the_cut(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        hub.publish(records(1, 12, "old"))
        hub.rewind(8, {"status": "paused", "reason": "rewound"})
        assert (hub.last_seq, hub.rewinds, hub.rewind_seq) == (8, 1, 8)
        settle(hub)
        kept = hub.read_ring(4, 100)
        assert kept is None or kept == records(5, 8, "old")  # never a cut record
        hub.publish(records(9, 11, "new"))
        settle(hub)
        assert hub.read_ring(8, 100) == records(9, 11, "new")
        assert hub.read_ring(10, 100) == records(11, 11, "new")

    run(make, body)


def test_subscribers_get_the_status_and_frames(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        sub = subscriber()
        hub.add(sub)
        assert hub.watched
        version = hub.status_version
        await asyncio.sleep(0.05)  # a reader, if any, is reading
        frame = Frame(seq=3, step=3, json='{"step":3}')
        hub.publish(records(1, 3), frame, {"status": "running"}, forced_frame=True)
        await woken(sub, lambda: hub.status_version > version and bool(sub.queue))
        assert hub.status == {"status": "running"} and hub.status_seq == 3
        assert list(sub.queue) == [frame]
        assert hub.read_ring(0, 10) == records(1, 3)
        hub.remove(sub)
        assert not hub.watched

    run(make, body)


def test_close_reaches_the_subscribers(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        sub = subscriber()
        hub.add(sub)
        hub.close("deleted")
        await woken(sub, lambda: hub.closed == "deleted")
        hub.remove(sub)

    run(make, body)


def test_forgetting_the_recent_records_sends_readers_to_the_store(make: Make) -> None:
    async def body(hub: FanOut) -> None:
        hub.publish(records(1, 4))
        settle(hub)
        hub.forget_recent()
        assert not hub.holds_recent()
        got = hub.read_ring(0, 10)  # the hub has nothing; Redis still holds its window
        assert got is None or got == records(1, 4)

    run(make, body)


def test_redis_keeps_the_steps_as_a_stream_keyed_by_seq(redis_url: str) -> None:  # noqa: F811
    """What the Redis implementation stores: entry ids ``<seq>-0``, trimmed to the window."""
    link = RedisLink(redis_url)
    sid = secrets.token_urlsafe(9)

    async def main() -> None:
        hub = RedisFanOut(link, sid, RING, 0, asyncio.get_running_loop())
        hub.publish(records(1, 30))
        hub.rewind(25, {"status": "paused"})
        settle(hub)

    run_apart(main())
    client = redis.Redis.from_url(redis_url)
    ids = [eid.decode() for eid, _ in client.xrange(keys(sid)[0])]
    assert ids == [f"{s}-0" for s in range(31 - RING, 26)]
    assert client.hget(keys(sid)[2], "rw") == b"1"
    client.close()
    link.close()


def test_the_owner_hears_what_another_process_subscribers_want(redis_url: str) -> None:  # noqa: F811
    """A process following a session it does not run tells the owner its subscribers' demand
    (frames at 5 a second, the gradients view); the owner's trainer would be told the merged
    demand, and nothing once they leave."""
    owner_link, other_link = RedisLink(redis_url), RedisLink(redis_url)
    sid = secrets.token_urlsafe(9)
    told: list[Demand] = []

    async def main() -> None:
        loop = asyncio.get_running_loop()
        owner = RedisFanOut(owner_link, sid, RING, 0, loop)
        owner.on_demand = told.append
        await asyncio.sleep(0.2)  # the owner's listener is reading
        other = RedisFanOut(other_link, sid, RING, 0, loop, owner=False)
        sub = Subscriber(owner="o", every=0, fps=5, include=frozenset({"gradients"}), frames=True)
        other.add(sub)
        async with asyncio.timeout(5):
            while not owner.demand.frames:
                await asyncio.sleep(0.05)
        assert (owner.demand.fps, owner.demand.include) == (5, frozenset({"gradients"}))
        other.remove(sub)
        async with asyncio.timeout(5):
            while owner.demand.frames:
                await asyncio.sleep(0.05)

    run_apart(main())
    assert [d.frames for d in told] == [True, False]
    owner_link.close()
    other_link.close()


def test_a_quiet_session_wakes_nobody(make: Make, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing published, nobody woken: a stream then sends its ping, which is how the server
    finds a client gone (a reader woken by its own XREAD timeouts held the pings back)."""
    monkeypatch.setattr(redis_fanout, "BLOCK_MS", 100)

    async def body(hub: FanOut) -> None:
        sub = subscriber()
        hub.add(sub)
        await asyncio.sleep(0.2)  # the reader's first pass
        sub.event.clear()
        await asyncio.sleep(0.5)  # several XREAD timeouts
        assert not sub.event.is_set()
        hub.remove(sub)

    run(make, body)
