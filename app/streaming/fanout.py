"""The fan-out seam: how what a session does reaches the clients that follow it.

Sessions publish each committed batch (step records, a weight frame, a status) to their
:class:`FanOut`; streams subscribe to it and read the recent records from it (or from the
store, when they are further behind): app/streaming/sse.py frames the JSON stream from these
members only. Two implementations, chosen by ``BPP_FANOUT`` (the session manager builds one
per session): unset, an in-process hub per session (app/streaming/hub.py); a Redis URL, the
same hub publishing through Redis streams, its subscribers woken by a reader of those streams,
so that they may be in any web process (app/streaming/redis_fanout.py). The sessions, routes
and page do not know which one runs.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol

from app.streaming.demand import Demand, Frame
from app.streaming.hub import Hub


class FanOut(Protocol):
    """One session's fan-out point (see the module docstring)."""

    lock: Any  # held while reading several of the fields below together
    last_seq: int  # the newest published step record
    status: dict[str, Any]  # the newest published status event
    status_seq: int  # ... published after the step record of this seq
    status_version: int  # bumped with every status published
    rewinds: int  # how many times the history was cut back
    rewind_seq: int  # ... and to which seq, the last time
    window_start: int  # steps after this are kept at full resolution
    closed: str | None  # why the session's streams end for good (deleted)
    ending: bool  # the server is going down
    demand: Demand  # what the subscribers want, together
    on_demand: Callable[[Demand], None] | None  # told when ``demand`` changes

    @property
    def watched(self) -> bool:
        """Does anyone follow the session now?"""
        ...

    def add(self, sub: Any) -> None: ...

    def remove(self, sub: Any) -> None: ...

    def set_look(self, look: Any) -> None:
        """How the pages want the session drawn (part of ``demand``)."""

    def publish(
        self,
        steps: list[tuple[int, str]],
        frame: Frame | None = None,
        status: dict[str, Any] | None = None,
        forced_frame: bool = False,
    ) -> None:
        """A committed batch: ``(seq, JSON record)`` steps, a weight frame, a status."""

    def rewind(self, seq: int, status: dict[str, Any]) -> None:
        """The history was cut back to ``seq``."""

    def close(self, reason: str) -> None: ...

    def end(self) -> None: ...

    def wake(self) -> None:
        """Wake the subscribers (something they draw changed)."""

    def read_ring(self, cursor: int, limit: int) -> list[tuple[int, str]] | None:
        """Recent records after ``cursor``, or None when they are no longer held."""
        ...

    def forget_recent(self) -> None:
        """Drop the recent records held (readers then go to the store)."""

    def holds_recent(self) -> bool: ...


# (session id, ring size, last seq, event loop) -> the session's fan-out
Maker = Callable[[str, int, int, asyncio.AbstractEventLoop], FanOut]


def fanouts(url: str | None) -> tuple[Any, Maker]:
    """The process's link to the fan-out service (None: in-process hubs) and a maker of the
    sessions' fan-outs, for ``BPP_FANOUT`` = ``url``."""
    if not url:
        return None, lambda _id, ring_size, last_seq, loop: Hub(ring_size, last_seq, loop)
    # imported only when chosen: redis-py comes with the cluster extra, which the embedded
    # default (`make run`) does without
    from app.streaming.redis_fanout import redis_hubs

    return redis_hubs(url)
