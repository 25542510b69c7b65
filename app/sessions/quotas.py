"""Server-wide quotas (promise 21): open streams, and new owners per client address.

A quota per owner alone limits nothing while owners are free: a request without a token gets a
new one. So open streams are counted per session, per owner, per client address and in total
(:class:`StreamSlots`), and minting an owner is rate-limited per client address
(:class:`OwnerRate`). Sessions stored and held in memory are counted by the session manager
(app/sessions/manager.py), which knows them.

The client address is ``request.client.host`` as the ASGI server reports it. Behind a reverse
proxy, uvicorn's ``--forwarded-allow-ips`` decides whether that is the proxy's address (every
client then shares one) or the one the proxy forwards in ``X-Forwarded-For``.

Over a quota is a 429 naming it, with ``Retry-After`` (:func:`app.errors.quota_error`):
capacity (streams, sessions) is retried after the cull interval, the cadence at which the server
gives capacity back (idle runs paused, idle sessions unloaded); the owner rate after the time
until its window has room again.
"""

from __future__ import annotations

import importlib
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable
from typing import Any

import anyio

from app.core.errors import ApiError, quota_error
from app.core.settings import Settings
from app.sessions.session import Session

SHARED_MODULE = "app.sessions.shared_quotas"  # web replicas only: it imports redis-py
MAX_ADDRESSES = 4096  # client addresses the owner rate remembers (each ~limit floats)


class StreamSlots:
    """Open streams per session, owner, client address and in total, for the caps.

    A slot is taken when a stream request is admitted and given back when its response has
    ended, both on the event loop (app/api/events.py ``stream_slot``): the check and the take
    have no ``await`` between them, so simultaneous requests cannot both pass a cap.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.by_session: Counter[str] = Counter()
        self.by_owner: Counter[str] = Counter()
        self.by_address: Counter[str] = Counter()
        self.total = 0

    def take(self, session: Session, address: str) -> None:
        """Count one more stream of ``session`` from ``address``, or raise a 429 naming the
        first cap it would pass (the narrowest first)."""
        s = self.settings
        for limit, held, maximum in (
            ("max_streams_per_session", self.by_session[session.id], s.max_streams_per_session),
            ("max_streams_per_owner", self.by_owner[session.owner], s.max_streams_per_owner),
            ("max_streams_per_address", self.by_address[address], s.max_streams_per_address),
            ("max_streams_total", self.total, s.max_streams_total),
        ):
            if held >= maximum:
                raise quota_error("events", limit, held + 1, maximum, s.cull_interval_seconds)
        self.by_session[session.id] += 1
        self.by_owner[session.owner] += 1
        self.by_address[address] += 1
        self.total += 1

    def give(self, session: Session, address: str) -> None:
        for counter, key in (
            (self.by_session, session.id),
            (self.by_owner, session.owner),
            (self.by_address, address),
        ):
            counter[key] -= 1
            if counter[key] <= 0:
                del counter[key]  # nothing kept for what has no stream open
        self.total -= 1


class OwnerRate:
    """At most ``limit`` new owners per client address in any ``window`` seconds.

    A sliding-window log: per address, the times of its last ``limit`` mints; a mint is refused
    while the oldest of them is less than ``window`` old, and may be retried when it leaves the
    window (``oldest + window - now`` seconds). Unlike a fixed window, no burst of 2 × limit
    fits across a window boundary.

    Memory is bounded: addresses are kept in the order of their latest mint, so those whose
    latest mint has left the window are at the front and are forgotten at the next mint; past
    ``max_addresses`` the least recent is forgotten early (it starts afresh: the price of a
    fixed bound, about ``limit`` floats an address). Thread-safe (creates run in the thread
    pool).
    """

    def __init__(
        self,
        limit: int,
        window: float,
        max_addresses: int = MAX_ADDRESSES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit, self.window, self.max_addresses = limit, window, max_addresses
        self.clock = clock
        self.mints: OrderedDict[str, deque[float]] = OrderedDict()
        self.lock = threading.Lock()

    def take(self, address: str) -> float:
        """Count one new owner from ``address``: 0.0 if allowed, else the seconds until one
        would be (nothing is counted then)."""
        with self.lock:
            now = self.clock()
            self._forget(now)
            times = self.mints.get(address)
            if times is None:
                times = self.mints[address] = deque(maxlen=self.limit)
            elif len(times) == self.limit and times[0] > now - self.window:
                return times[0] + self.window - now
            times.append(now)
            self.mints.move_to_end(address)
            while len(self.mints) > self.max_addresses:
                self.mints.popitem(last=False)
            return 0.0

    def give_back(self, address: str) -> None:
        """Uncount ``address``'s latest mint (its create failed: no owner came of it)."""
        with self.lock:
            times = self.mints.get(address)
            if times:
                times.pop()
                if not times:
                    del self.mints[address]

    def _forget(self, now: float) -> None:
        while self.mints:
            address, times = next(iter(self.mints.items()))
            if times[-1] > now - self.window:
                return
            del self.mints[address]


class Quotas:
    """The app's quota counters (one per app, made by ``app/api/deps.py`` on first use): this
    process's, or with ``link`` (web replicas: the fan-out's Redis) every replica's together
    (app/sessions/shared_quotas.py)."""

    def __init__(self, settings: Settings, link: Any = None) -> None:
        self.settings = settings
        self.streams = StreamSlots(settings)
        self.owners = OwnerRate(
            settings.max_new_owners_per_address, settings.new_owners_window_seconds
        )
        self.shared: Any = None
        if link is not None:
            self.shared = importlib.import_module(SHARED_MODULE).SharedQuotas(link, settings)

    async def take_stream(self, session: Session, address: str) -> str | None:
        """Count one more stream, or raise a 429 naming the cap it would pass; the member to
        give back (:meth:`give_stream`). Here: no ``await`` between check and take. Shared:
        one script on Redis (off the event loop)."""
        if self.shared is None:
            self.streams.take(session, address)
            return None
        got = await anyio.to_thread.run_sync(self.shared.take_stream, session, address)
        if isinstance(got, tuple):
            limit, held, maximum = got
            raise quota_error(
                "events", limit, held + 1, maximum, self.settings.cull_interval_seconds
            )
        return got

    def give_stream(self, session: Session, address: str, member: str | None) -> None:
        if self.shared is None:
            self.streams.give(session, address)
        elif member is not None:
            self.shared.give_stream(member)

    def owner_given_back(self, address: str, member: str | None) -> None:
        """Uncount a new owner (its create failed): ``member``, as :meth:`new_owner` gave it."""
        if self.shared is None:
            self.owners.give_back(address)
        elif member is not None:
            self.shared.unmint(address, member)

    def new_owner(self, address: str) -> str | None:
        """Count a new owner from ``address``, or raise a 429 naming the rate; what to give
        back should its create fail (:meth:`owner_given_back`)."""
        member = None
        if self.shared is None:
            wait = self.owners.take(address)
        else:
            wait, member = self.shared.mint(address, self.owners.limit, self.owners.window)
        if wait > 0:
            limit, window = self.settings.max_new_owners_per_address, self.owners.window
            raise ApiError(
                429,
                f"owner_token: {address} made {limit} new owners in the last {window:g} s, the"
                f" limit max_new_owners_per_address={limit}; send the owner token you were"
                " given (Authorization: Bearer) to add sessions under it",
                field="owner_token",
                limit="max_new_owners_per_address",
                maximum=limit,
                retry_after=wait,
            )
        return member
