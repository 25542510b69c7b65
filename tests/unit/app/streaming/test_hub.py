"""The stream hub's frame hand-out, without a server: which frames a subscriber takes, and that a
frame published while a stream gathers step records is sent rather than replaced unseen."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.core.store import Store
from app.streaming import hub as hub_module
from app.streaming.demand import Demand, Frame
from app.streaming.hub import Hub, Subscriber
from app.streaming.page_sse import data_lines
from app.streaming.sse import StreamOptions, follow
from engine.inspect import readouts


def subscriber(fps: float) -> Subscriber:
    return Subscriber(owner="o", every=0, fps=fps, include=frozenset(), frames=True)


def jittered_arrivals(fps: float, n: int) -> list[float]:
    """Deadline-paced frames as they arrive: on average ``fps`` a second, but each pair is one
    frame most of a period late, then the next on time (the producer makes the late one up)."""
    period = 1.0 / fps
    times = []
    for i in range(n):
        late = 0.9 * period if i % 2 == 0 else 0.0
        times.append(100.0 + i * period + late)
    return times


def test_subscriber_at_the_paced_rate_takes_every_frame() -> None:
    sub = subscriber(10)
    taken = [sub.take(i, t, False, paced=10) for i, t in enumerate(jittered_arrivals(10, 200))]
    assert all(taken)


def test_slower_subscriber_is_thinned_to_its_own_rate() -> None:
    sub = subscriber(10)
    arrivals = jittered_arrivals(30, 300)  # 10 seconds of frames paced for a 30-fps reader
    taken = sum(sub.take(i, t, False, paced=30) for i, t in enumerate(arrivals))
    seconds = arrivals[-1] - arrivals[0]
    assert 10 * seconds - 1 <= taken <= 10 * seconds + 2  # rate plus the burst allowance


def test_every_n_steps_and_forced_frames() -> None:
    sub = Subscriber(owner="o", every=5, fps=0, include=frozenset(), frames=True)
    assert [s for s in range(1, 21) if sub.take(s, 0.0, False)] == [5, 10, 15, 20]
    assert sub.take(7, 0.0, True)  # a manual step is always drawn
    assert not Subscriber(owner="o", every=0, fps=10, include=frozenset(), frames=False).take(
        5, 0.0, True
    )


def test_frame_published_while_gathering_steps_is_sent(tmp_path: Path) -> None:
    """Two frames a little apart, both inside the stream's step-gathering interval: each goes
    out as its own event (before, the wait let the second replace the first in the queue)."""
    store = Store(tmp_path / "db.sqlite3")

    async def scenario() -> list[bytes]:
        hub = Hub(ring_size=64, last_seq=0, loop=asyncio.get_running_loop())
        hub.demand = Demand(frames=True, fps=30)
        sub = subscriber(30)
        opts = StreamOptions(after=0, follow=True, ping_seconds=5, retry_ms=1000, min_interval=0.5)
        chunks: list[bytes] = []

        async def read() -> None:
            async for chunk in follow(hub, store, "s", sub, opts, lambda: None, lambda: None):
                chunks.append(chunk)

        reader = asyncio.create_task(read())
        await asyncio.sleep(0.05)
        hub.publish([(1, '{"step":1}')])
        await asyncio.sleep(0.05)  # the stream now gathers steps for up to 0.5 s
        hub.publish([(2, '{"step":2}')], Frame(2, 2, '{"frame":2}'))
        await asyncio.sleep(0.05)
        hub.publish([(3, '{"step":3}')], Frame(3, 3, '{"frame":3}'))
        await asyncio.sleep(0.1)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        return chunks

    # in a thread of its own: the browser tests' Playwright keeps an event loop running here
    with ThreadPoolExecutor(1) as pool:
        try:
            chunks = pool.submit(asyncio.run, scenario()).result(timeout=30)
        finally:
            store.close()
    text = b"".join(chunks).decode()
    assert text.count("event: frame") == 2
    assert '{"frame":2}' in text and '{"frame":3}' in text


def test_two_queued_frames_both_go_to_a_client_keeping_up_only_the_newest_to_a_slow_one(
    tmp_path: Path,
) -> None:
    """Two frames queued before the stream wakes (a held-up loop or worker): a client that
    takes the writes at once gets both; one whose last write waited (it lags) gets the newest."""
    store = Store(tmp_path / "db.sqlite3")

    async def scenario(lag: float) -> list[str]:
        hub = Hub(ring_size=64, last_seq=0, loop=asyncio.get_running_loop())
        hub.demand = Demand(frames=True, fps=10)
        sub = subscriber(10)
        opts = StreamOptions(after=0, follow=True, ping_seconds=5, retry_ms=1000, min_interval=0)
        stream = follow(hub, store, "s", sub, opts, lambda: None, lambda: None)
        await stream.__anext__()  # ": connected"
        hub.publish([(1, '{"step":1}')], Frame(1, 1, '{"frame":1}'))
        first = await stream.__anext__()
        await asyncio.sleep(lag)  # the client takes its time over the first write
        # both frames are queued before the stream runs again (no await in between)
        hub.publish([(2, '{"step":2}')], Frame(2, 2, '{"frame":2}'))
        hub.publish([(3, '{"step":3}')], Frame(3, 3, '{"frame":3}'))
        second = await stream.__anext__()
        await stream.aclose()
        text = (first + second).decode()
        return [line for line in text.splitlines() if line.startswith("data: {\"frame")]

    with ThreadPoolExecutor(1) as pool:  # Playwright may hold an event loop in this thread
        try:
            fast = pool.submit(asyncio.run, scenario(0.0)).result(timeout=30)
            slow = pool.submit(asyncio.run, scenario(0.2)).result(timeout=30)
        finally:
            store.close()
    assert fast == ['data: {"frame":1}', 'data: {"frame":2}', 'data: {"frame":3}']
    assert slow == ['data: {"frame":1}', 'data: {"frame":3}']


def test_frame_text_from_arrays_equals_the_list_snapshot() -> None:
    """Frames are encoded from the trainer's arrays directly: the same JSON text as from the
    list snapshot the REST API uses, non-finite values (a diverged run) as null."""
    import json

    from app.core.jsontext import encode
    from app.training.output import pack
    from engine.trainer import Trainer

    t = Trainer({"dataset": {"name": "circle", "n_samples": 60}, "hidden": [{"units": 3}]})
    t.step(4)
    t.net.layers[0].W[0, 1] = float("nan")
    t.net.layers[1].b[0] = float("inf")
    views = frozenset({"gradients", "updates", "batch"})
    frame = pack(t, [], seq_base=0, generation=0, frame=views).frame
    assert frame is not None
    data = json.loads(frame.json)
    for key in ("seq", "generation", "t"):
        del data[key]
    assert json.dumps(data, sort_keys=True) == json.dumps(
        json.loads(encode(readouts.snapshot(t, views))), sort_keys=True
    )
    assert data["layers"][0]["W"][0][1] is None and data["layers"][1]["b"][0] is None


def test_pacer_keeps_the_average_rate_through_late_checks() -> None:
    """Checks every 7 ms, sometimes stalled by 50 ms: 10 ticks a second still come out."""
    from app.streaming.demand import Pacer

    pacer, now, ticks = Pacer(), 0.0, []
    while now < 10.0:
        if pacer.due(10, now):
            ticks.append(now)
        now += 0.057 if int(now * 1000) % 300 < 7 else 0.007
    assert 99 <= len(ticks) <= 101
    stalled = Pacer()
    assert stalled.due(10, 0.0) and stalled.due(10, 1.0)  # after a 1 s stall: one tick,
    assert not stalled.due(10, 1.01) and stalled.due(10, 1.1)  # then every 0.1 s again


def test_pacer_makes_up_a_stall_shorter_than_its_horizon() -> None:
    """A worker left unscheduled for 0.35 s (3.5 periods at 10 fps) makes up the ticks it
    missed, one per check, when ``make_up`` covers the stall; with the default it loses them."""
    from app.streaming.demand import Pacer

    for make_up, want in ((5, 20), (1, 17)):
        pacer, ticks, now = Pacer(make_up=make_up), 0, 0.0
        while now < 2.0:  # checks every 20 ms, none between 0.5 and 0.85 s
            ticks += pacer.due(10, now)
            now += 0.37 if abs(now - 0.48) < 1e-9 else 0.02
        assert ticks == want, (make_up, ticks)


def test_a_running_sessions_rows_do_not_wake_its_pages() -> None:
    """A page draws page frames, which wake it when rendered: a running session's step rows
    alone (60 commits a second) must not wake it, while a JSON stream wakes for each; a
    status, a forced frame (a step by hand), rows-free changes and explicit wakes do."""

    async def scenario() -> list[tuple[bool, bool]]:
        hub = Hub(ring_size=16, last_seq=0, loop=asyncio.get_running_loop())
        page = Subscriber(
            owner="o", every=0, fps=0, include=frozenset(), frames=False, pages=30.0
        )
        json_stream = subscriber(10)
        hub.add(page)
        hub.add(json_stream)
        seen = []
        publishes = [
            lambda: hub.publish([(1, "{}")]),  # rows of a run: the JSON stream only
            lambda: hub.publish([(2, "{}")], status={"status": "paused"}),
            lambda: hub.publish([(3, "{}")], forced_frame=True),
            lambda: hub.publish([]),  # a session row (an edit)
            hub.wake,  # a page frame rendered
        ]
        for publish in publishes:
            page.event.clear()
            json_stream.event.clear()
            publish()
            # every case wakes the JSON stream, with the page in the same batch if at all
            # (a wake in a batch's gap comes at the gap's end: hub.WAKE_GAP)
            await asyncio.wait_for(json_stream.event.wait(), 10)
            seen.append((page.event.is_set(), json_stream.event.is_set()))
        return seen

    with ThreadPoolExecutor(1) as pool:  # Playwright may hold an event loop in this thread
        seen = pool.submit(asyncio.run, scenario()).result(timeout=30)
    assert seen == [
        (False, True), (True, True), (True, True), (True, True), (True, True)
    ]


def test_wakes_just_after_a_batch_wait_for_the_gap_and_go_as_one(monkeypatch) -> None:
    """Hubs woken from another thread within WAKE_GAP of the loop's last wake-up batch join the
    next batch, at the gap's end, instead of calling the loop again; that batch still comes."""
    monkeypatch.setattr(hub_module, "WAKE_GAP", 0.5)  # a gap no descheduling outlasts

    async def scenario() -> tuple[Any, Any, bool]:
        loop = asyncio.get_running_loop()
        hubs = [Hub(ring_size=4, last_seq=0, loop=loop) for _ in range(3)]
        subs = [subscriber(10) for _ in hubs]
        for hub, sub in zip(hubs, subs, strict=True):
            hub.add(sub)
        await loop.run_in_executor(None, hubs[0].wake)  # a thread, as the writer's
        await asyncio.wait_for(subs[0].event.wait(), 10)
        with hub_module._batch_lock:
            after = list(hub_module._batches.get(loop, ["no gap"]))

        def wake_two() -> Any:
            hubs[1].wake()
            hubs[2].wake()
            with hub_module._batch_lock:
                return list(hub_module._batches.get(loop, []))

        gathered = await loop.run_in_executor(None, wake_two)
        await asyncio.wait_for(asyncio.gather(subs[1].event.wait(), subs[2].event.wait()), 10)
        return after, gathered == [hubs[1], hubs[2]], all(s.event.is_set() for s in subs)

    with ThreadPoolExecutor(1) as pool:
        after, gathered, woken = pool.submit(asyncio.run, scenario()).result(timeout=30)
    assert after == []  # the batch that woke hubs[0] left its gap open
    assert gathered and woken


def test_a_fragment_is_a_data_line_per_line_of_its_html() -> None:
    """The page stream's framing: every line of the HTML (blank ones too) after ``data: ``."""
    for html in ["", "<b>x</b>", "a\nb", "\n", "x\n\ny\n", "한국어\n<svg>\n</svg>"]:
        lines = html.split("\n")
        expected = "".join(f"data: {line}\n" for line in lines).encode()
        assert data_lines(html) == expected
