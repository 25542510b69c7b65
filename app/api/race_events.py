"""One live stream of a whole race: ``GET /api/races/{id}/events`` (server-sent events).

Events, each tagged with its run's index:

- ``step``: ``{"run": i, "records": [...]}`` — run i's stored step records after its cursor, as
  stored (the same JSON text as the session's own ``/events`` and ``/history``);
- ``frame``: ``{"steps": [...], "status": [...], "loss": [...], "generation": [...]}`` — every
  run's step, status and last batch loss read at one moment under the race's lock (so the
  ``steps`` of one frame are as the lock-step keeps them: at most one apart while running),
  sent when something changed, at most every ``stream_interval_ms`` (at least 40 ms);
- ``close``: the race was deleted.

With web replicas, the stream ends without ``close`` when this replica stops holding the race
(``Race.ended``: a run's session lost or let go, app/sessions/race_replicas.py), as a session's
streams end when its hub ends: the client reconnects with ``Last-Event-ID``, lands on the
replica holding the race (forwarded) and goes on from its cursors there, every step once.

The event id is every run's cursor, ``"seq0.seq1...."``; a reconnect's ``Last-Event-ID``
resumes each run after its own cursor (``?after=0`` replays everything). The stream polls the
store, which serves the records once committed: a run's records arrive in order, whatever the
other runs do, and a slow run never holds a fast one's records back.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Header, Query, Response
from fastapi.sse import KEEPALIVE_COMMENT, EventSourceResponse, format_sse_event

from app.api.deps import AddressDep, ManagerDep, QuotasDep, SettingsDep
from app.api.events import event_stream
from app.api.races import RaceDep, RacesDep
from app.core.jsontext import encode
from app.sessions.races import Race, Races
from app.sessions.session import Session

router = APIRouter(tags=["races"])
BATCH = 1000  # records per run per event
TICK = 0.04  # seconds between two looks at the runs: 25 frames a second while they change


async def race_slot(
    race: RaceDep, races: RacesDep, quotas: QuotasDep, address: AddressDep
) -> AsyncIterator[Session | None]:
    """Admit the stream, counted as a stream of the race's first run (429 over a cap); a
    dependency with ``yield``, so the slot is given back after the response, however it ends
    (a generator's own ``finally`` may run late: app/api/events.py ``StreamSlot``)."""
    first = next((s for s in races.sessions(race) if s is not None), None)
    member = None if first is None else await quotas.take_stream(first, address)
    try:
        yield first
    finally:
        if first is not None:
            quotas.give_stream(first, address, member)


def frame_of(races: Races, race: Race) -> dict[str, Any]:
    """Every run's step, status, loss and generation at one moment (see the module docstring)."""
    with race.lock:
        sessions = races.sessions(race)
        return {
            "steps": [int(s.counters.get("iteration", 0)) if s else None for s in sessions],
            "status": [s.status if s else "deleted" for s in sessions],
            "loss": [s.counters.get("loss") if s else None for s in sessions],
            "generation": [s.generation if s else None for s in sessions],
        }


@router.get(
    "/races/{race_id}/events",
    response_class=Response,
    responses={200: event_stream("Server-sent events: step (tagged with run), frame, close.")},
)
async def race_events(
    race: RaceDep,
    races: RacesDep,
    manager: ManagerDep,
    settings: SettingsDep,
    _slot: Annotated[Session | None, Depends(race_slot)],
    after: Annotated[
        int | None, Query(ge=0, le=2**53, description="Every run from after this seq (0: all).")
    ] = None,
    last_event_id: Annotated[str | None, Header(max_length=200)] = None,
) -> EventSourceResponse:
    """Every run's step records and the runs' steps and status, resumable by id."""
    sessions = races.sessions(race)
    cursors = [
        (after if after is not None else s.hub.last_seq) if s is not None else 0 for s in sessions
    ]
    if last_event_id is not None and re.fullmatch(r"[0-9]{1,16}(\.[0-9]{1,16})*", last_event_id):
        given = [int(c) for c in last_event_id.split(".")]
        if len(given) == len(cursors):
            cursors = given
    interval = max(TICK, settings.stream_interval_ms / 1000)

    async def stream() -> AsyncIterator[bytes]:
        shown: dict[str, Any] | None = None
        last_write = time.monotonic()
        yield format_sse_event(comment="connected", retry=settings.retry_ms)
        while True:
            began = time.monotonic()
            if race.ended:  # held elsewhere now: the client reconnects to the holder
                return
            if race.id not in races.races:
                yield format_sse_event(data_str='{"reason":"deleted"}', event="close")
                return
            chunk: list[bytes] = []
            for i, s in enumerate(races.sessions(race)):
                if s is None:
                    continue
                rows = await anyio.to_thread.run_sync(
                    manager.store.records_after, s.id, cursors[i], BATCH
                )
                if rows:
                    cursors[i] = rows[-1][0]
                    data = f'{{"run":{i},"records":[{",".join(r[1] for r in rows)}]}}'
                    chunk.append(_event("step", data, cursors))
            frame = frame_of(races, race)
            if frame != shown:
                shown = frame
                chunk.append(_event("frame", encode(frame), cursors))
            if chunk:
                yield b"".join(chunk)
                last_write = time.monotonic()
            elif time.monotonic() - last_write > settings.ping_seconds:
                yield KEEPALIVE_COMMENT
                last_write = time.monotonic()
            # paced by deadline: the reads and writes of a look count against the interval
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - began)))

    return EventSourceResponse(
        stream(), headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


def _event(name: str, data: str, cursors: list[int]) -> bytes:
    return format_sse_event(data_str=data, event=name, id=".".join(map(str, cursors)))
