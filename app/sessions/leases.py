"""Which web replica drives each session: an owner lease per session in Redis (the fan-out's
server, ``BPP_FANOUT``), for stateless web replicas (app/sessions/replicas.py).

Keys (next to the fan-out's ``bpp:<id>:steps``/``events``/``meta``, app/streaming/redis_link.py):

* ``bpp:<id>:lease``: the holding replica's token, expiring ``lease_seconds`` after its last
  renewal (``PX``). ``SET NX`` takes a free one; the holder renews every lease it holds in one
  script call (:data:`RENEW`), which also puts back a lease Redis lost (a restarted Redis
  without persistence) and reports the ones another replica now holds;
* ``bpp:<id>:fence``: the session's fencing-token counter (app/sessions/fencing.py). A replica
  that takes a free lease to hold the session (adopting or creating it) takes the next token
  (:data:`FENCE`: an INCR, but never below the store's fence, in case Redis lost the count) and
  claims the session in the store with it (``sessions.fence``), so a replica that stalled past
  its lease cannot write the session once another has claimed it. A lease RENEW puts back keeps
  its fence: no other replica claimed the session in between, or its writes fail already
  (a day's TTL, from the last token: the floor makes a lost count harmless);
* ``bpp:<id>:run``: ``<end seq> <speed>`` of a running session: what a replica that takes the
  session over after its holder died continues (a day's TTL);
* ``bpp:replica:<token>``: the URL a replica is reached at (``replica_url``), renewed with its
  leases: where the others forward the requests of the sessions it holds. It outlives a lease
  (``URL_LEASES`` of them): a replica whose renewal came late keeps its leases but, with its URL
  lapsed, looked gone to the others, who answered its sessions' requests with 503s; a replica
  that is gone refuses the connection anyway, and its leases lapse as before;
* ``bpp:<id>:ui``: the page's state of the session (view settings, a followed lesson, the last
  gradient check: app/page/ui_store.py), JSON, so a page any replica serves shows what was set
  through another (a day's TTL, from the last set);
* ``bpp:replica-secret``: made once by the first replica: a forwarded request carries it, so a
  replica trusts the client address it names (no client can read Redis).

A replica's token is its fan-out link's (``RedisLink.token``): one per process. Redis out of
reach is a 503 naming ``storage`` (:class:`SharedStateDown`): a replica cannot know who holds a
session then. This module imports redis-py, so the session manager imports it only when
replicas are on (app/sessions/replicas.py), as the fan-out's own modules are.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Iterable, Iterator
from typing import Any

import redis

from app.core.errors import ApiError
from app.streaming.redis_fanout import RedisFanOut
from app.streaming.redis_link import RedisLink

RUN_TTL = 86_400
URL_LEASES = 3  # bpp:replica:<token> lives this many leases from its last renewal

# KEYS: the leases; ARGV: token, ttl ms. 1 for each lease still (or again) ours, 0 for one
# another replica holds now.
RENEW = """
local out = {}
for i, key in ipairs(KEYS) do
  local holder = redis.call('GET', key)
  if holder == ARGV[1] then
    redis.call('PEXPIRE', key, ARGV[2])
    out[i] = 1
  elseif not holder then
    redis.call('SET', key, ARGV[1], 'PX', ARGV[2])
    out[i] = 1
  else
    out[i] = 0
  end
end
return out
"""

# KEYS: the fence counter; ARGV: the floor (the store's fence), the TTL in seconds. The next
# fencing token: one more than both the count and the floor.
FENCE = """
local n = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), tonumber(ARGV[1])) + 1
redis.call('SET', KEYS[1], n, 'EX', ARGV[2])
return n
"""

# KEYS: the lease; ARGV: token. Deletes it only if it is ours.
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class SharedStateDown(ApiError):
    """Redis, where the replicas keep who holds what, cannot be reached (503)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(
            503, f"storage: the replicas' shared state (Redis) cannot be reached ({exc})",
            field="storage", retry_after=1.0,
        )  # fmt: skip


@contextlib.contextmanager
def reachable() -> Iterator[None]:
    """Redis's errors (and a lost connection's) as :class:`SharedStateDown`."""
    try:
        yield
    except (redis.RedisError, OSError) as exc:
        raise SharedStateDown(exc) from None


def follower_hub(
    link: RedisLink, session_id: str, ring_size: int, last_seq: int, loop: asyncio.AbstractEventLoop
) -> RedisFanOut:
    """A fan-out of a session another replica drives (or none does): its streams here follow
    it through Redis (app/streaming/redis_fanout.py)."""
    return RedisFanOut(link, session_id, ring_size, last_seq, loop, owner=False)


def lease_key(session_id: str) -> str:
    return f"bpp:{session_id}:lease"


def fence_key(session_id: str) -> str:
    return f"bpp:{session_id}:fence"


def run_key(session_id: str) -> str:
    return f"bpp:{session_id}:run"


def page_key(session_id: str) -> str:
    return f"bpp:{session_id}:ui"


def replica_key(token: str) -> str:
    return f"bpp:replica:{token}"


class Leases:
    """This replica's side of the leases (see the module docstring); each method raises
    :class:`SharedStateDown` when Redis cannot be reached."""

    def __init__(self, link: RedisLink, url: str, seconds: float) -> None:
        self.client: Any = link.client
        self.token = link.token
        self.url = url
        self.ms = int(seconds * 1000)
        self._renew = self.client.register_script(RENEW)
        self._release = self.client.register_script(RELEASE)
        self._fence = self.client.register_script(FENCE)
        with reachable():
            self.client.set("bpp:replica-secret", secrets.token_hex(16), nx=True)
            secret: Any = self.client.get("bpp:replica-secret")
            self.secret = str(secret.decode())
        self.beat()

    def beat(self) -> None:
        """Say (again) where this replica is reached."""
        with reachable():
            self.client.set(replica_key(self.token), self.url, px=self.ms * URL_LEASES)

    def take(self, session_id: str) -> str | None:
        """Hold ``session_id`` if it is free: None when this replica holds it (now or
        already), else the holder's token."""
        key = lease_key(session_id)
        with reachable():
            pipe = self.client.pipeline(transaction=False)
            pipe.set(key, self.token, nx=True, px=self.ms)
            pipe.get(key)
            _, holder = pipe.execute()
        if holder is None or holder.decode() == self.token:
            return None
        return str(holder.decode())

    def fence(self, session_id: str, floor: int = 0) -> int:
        """A new fencing token for ``session_id``, above every one given before and above
        ``floor`` (see ``bpp:<id>:fence`` in the module docstring)."""
        with reachable():
            return int(self._fence(keys=[fence_key(session_id)], args=[floor, RUN_TTL]))

    def url_of(self, token: str) -> str | None:
        """The URL of the replica ``token`` (None: it has not said so for ``URL_LEASES`` leases)."""
        with reachable():
            url = self.client.get(replica_key(token))
        return None if url is None else str(url.decode())

    def renew(self, session_ids: list[str]) -> set[str]:
        """Renew the leases of ``session_ids`` (and this replica's URL); those another
        replica holds now."""
        self.beat()
        if not session_ids:
            return set()
        keys = [lease_key(s) for s in session_ids]
        with reachable():
            kept = self._renew(keys=keys, args=[self.token, self.ms])
        return {sid for sid, ok in zip(session_ids, kept, strict=True) if not ok}

    def release(self, session_id: str) -> None:
        with reachable():
            self._release(keys=[lease_key(session_id)], args=[self.token])

    def free(self, session_ids: Iterable[str]) -> list[str]:
        """Those of ``session_ids`` that no replica holds."""
        ids = list(session_ids)
        return [sid for sid, h in zip(ids, self.holders(ids), strict=True) if h is None]

    def holders(self, session_ids: Iterable[str]) -> list[str | None]:
        """The token of the replica holding each of ``session_ids`` (None: free)."""
        ids = list(session_ids)
        with reachable():
            pipe = self.client.pipeline(transaction=False)
            for sid in ids:
                pipe.get(lease_key(sid))
            held = pipe.execute()
        return [None if h is None else str(h.decode()) for h in held]

    def set_run(self, session_id: str, end: int, speed: float | None) -> None:
        """A run of ``session_id`` goes on up to seq ``end`` at ``speed`` steps a second."""
        value = f"{end} {'' if speed is None else repr(speed)}".strip()
        with reachable():
            self.client.set(run_key(session_id), value, ex=RUN_TTL)

    def run_of(self, session_id: str) -> tuple[int, float | None] | None:
        """``(end seq, speed)`` of the session's run, as its last holder started it."""
        with reachable():
            raw = self.client.get(run_key(session_id))
        if raw is None:
            return None
        end, _, speed = raw.decode().partition(" ")
        return int(end), float(speed) if speed else None

    def put_page(self, session_id: str, text: str) -> None:
        """The session's page settings (JSON text), for whichever replica shows it next."""
        with reachable():
            self.client.set(page_key(session_id), text, ex=RUN_TTL)

    def page_of(self, session_id: str) -> str | None:
        with reachable():
            raw = self.client.get(page_key(session_id))
        return None if raw is None else str(raw.decode())
