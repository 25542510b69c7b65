"""The server-wide quotas of app/sessions/quotas.py kept in Redis, so that web replicas
(app/sessions/replicas.py) enforce one limit together: open streams per session, owner,
client address and in total, and new owners per client address in a sliding window.

Each count is a sorted set whose members expire (their score is when), read and written by one
script, so a check and its take are one step for every replica at once, on Redis's own clock:

* ``bpp:q:streams:{s|o|a}:<key>`` and ``bpp:q:streams:t``: a member per open stream, expiring
  :data:`SLOT_SECONDS` after its replica last renewed it (every third of that, on a thread of
  its own): a replica that dies gives its slots back within that time, not never;
* ``bpp:q:owners:<address>``: a member per owner minted, scored with when; the window's oldest
  says when the next one may be.

Redis out of reach: the check is skipped (the stream or owner is allowed and not counted); a
quota must not take the service down with Redis. Imported only when replicas are on (redis-py).
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
from typing import Any

import redis

from app.core.settings import Settings
from app.sessions.session import Session
from app.streaming.redis_link import RedisLink

log = logging.getLogger(__name__)

SLOT_SECONDS = 10.0
LIMITS = ("max_streams_per_session", "max_streams_per_owner", "max_streams_per_address",
          "max_streams_total")  # fmt: skip

# KEYS: the counts to pass; ARGV: member, ttl ms, then each key's maximum. {0, 0} when taken,
# else {index of the first key at its maximum, members it holds}.
TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[2])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  local held = redis.call('ZCARD', key)
  if held >= tonumber(ARGV[2 + i]) then return {i, held} end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + ttl, ARGV[1])
  redis.call('PEXPIRE', key, ttl)
end
return {0, 0}
"""

# KEYS: counts; ARGV: ttl ms, then the member each key holds (one a key).
RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + ttl, ARGV[1 + i])
  redis.call('PEXPIRE', key, ttl)
end
return 1
"""

# KEYS: the address's mints; ARGV: limit, window ms, member. 0 when counted, else the ms until
# the window has room.
MINT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 0
"""

UNREACHABLE = (redis.RedisError, OSError)


def stream_keys(session: Session, address: str) -> list[str]:
    base = "bpp:q:streams:"
    return [f"{base}s:{session.id}", f"{base}o:{session.owner}", f"{base}a:{address}", base + "t"]


class SharedQuotas:
    """This replica's side of the shared counts (see the module docstring)."""

    def __init__(self, link: RedisLink, settings: Settings) -> None:
        self.client: Any = link.client
        self.settings = settings
        self._take = self.client.register_script(TAKE)
        self._renew = self.client.register_script(RENEW)
        self._mint = self.client.register_script(MINT)
        self.open: dict[str, list[str]] = {}  # this replica's streams: member -> its counts
        self.lock = threading.Lock()
        self._stop = threading.Event()
        threading.Thread(target=self._renew_loop, name="bpp-slots", daemon=True).start()

    # ---- streams -----------------------------------------------------------------------------

    def take_stream(self, session: Session, address: str) -> tuple[str, int, int] | str | None:
        """Count one more stream: its member (give it back with :meth:`give_stream`), None if
        Redis could not count it, or ``(limit, held, maximum)`` of the first cap it passes."""
        keys = stream_keys(session, address)
        member = secrets.token_hex(8)
        maxima = [getattr(self.settings, name) for name in LIMITS]
        try:
            at, held = self._take(keys=keys, args=[member, int(SLOT_SECONDS * 1000), *maxima])
        except UNREACHABLE as exc:
            log.warning("stream quota not counted (Redis: %s)", exc)
            return None
        if at:
            return LIMITS[at - 1], int(held), int(maxima[at - 1])
        with self.lock:
            self.open[member] = keys
        return member

    def give_stream(self, member: str) -> None:
        with self.lock:
            keys = self.open.pop(member, None)
        if keys is None:
            return
        with contextlib.suppress(*UNREACHABLE):  # else it expires
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.zrem(key, member)
            pipe.execute()

    def _renew_loop(self) -> None:
        while not self._stop.wait(SLOT_SECONDS / 3):
            with self.lock:
                pairs = [(k, m) for m, keys in self.open.items() for k in keys]
            if not pairs:
                continue
            try:
                ttl = int(SLOT_SECONDS * 1000)
                self._renew(keys=[k for k, _ in pairs], args=[ttl, *(m for _, m in pairs)])
            except UNREACHABLE as exc:
                log.warning("stream slots not renewed (Redis: %s)", exc)

    # ---- new owners --------------------------------------------------------------------------

    def mint(self, address: str, limit: int, window: float) -> tuple[float, str | None]:
        """Count a new owner from ``address``: (0, its member) if allowed, else (seconds until
        one would be, None)."""
        member = secrets.token_hex(8)
        try:
            wait_ms = int(self._mint(
                keys=[f"bpp:q:owners:{address}"], args=[limit, int(window * 1000), member]
            ))  # fmt: skip
        except UNREACHABLE as exc:
            log.warning("new owner not counted (Redis: %s)", exc)
            return 0.0, None
        return (wait_ms / 1000, None) if wait_ms else (0.0, member)

    def unmint(self, address: str, member: str) -> None:
        with contextlib.suppress(*UNREACHABLE):  # else it leaves the window anyway
            self.client.zrem(f"bpp:q:owners:{address}", member)

    def close(self) -> None:
        self._stop.set()
