"""One process's link to Redis for the fan-out (``BPP_FANOUT=redis://…``): keys, scripts,
bounded timeouts and a circuit breaker.

Per session three keys (``bpp:<id>:`` + a suffix):

* ``steps``: a stream of the session's step records, entry id ``<seq>-0``, one field ``r`` (the
  record's JSON text as stored), trimmed to the newest ``ring_size`` seqs (``XTRIM MINID``):
  the resume window that ``Last-Event-ID`` reads from Redis;
* ``events``: a stream of everything else a reader must see in order, entry ids chosen by Redis,
  fields (bytes): ``k`` the kind (``p`` a publish, ``r`` a rewind, ``c`` closed, ``w`` the full
  resolution window moved), ``q`` the seq it follows, ``s`` a status (JSON), ``f``/``fs``/``fq``/
  ``fo`` a weight frame (JSON, step, seq, forced), ``rw``/``rs`` the owner's rewind count and
  last rewind seq, ``x`` "1" when the steps stream was started over, ``c`` the close reason,
  ``w`` the window start; kept to the newest :data:`EVENTS_KEPT` (frames are the large part,
  and only the newest matter);
* ``meta``: a hash of the newest of these for a reader that starts late: ``last`` (newest
  seq in ``steps``), ``ev`` (the ``events`` id it reflects), ``s``/``q``, ``rw``/``rs``, ``w``,
  ``c``.

A step record and the status after it are two streams, not one, because a stream's ids must
grow: the steps' ids are their seqs, which the events (several per seq, or none) cannot share.
Both are written by one Lua script, so a reader never sees a status before its steps.

Every command has a short timeout and no retries; a failure opens the breaker for
:data:`BACKOFF` seconds (commands are not tried meanwhile, so a stopped Redis costs the writer
thread and the event loop nothing) and starts a new *episode*: every session's next publish
then starts its ``steps`` stream over (a rewind or steps may have been missed meanwhile, and
readers must never see stale records). Failures are counted (``errors``) and logged once per
episode.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from app.streaming.redis_demand import DemandListener
from app.streaming.redis_send import Sender

log = logging.getLogger(__name__)

TIMEOUT = 0.25  # seconds: a command on loopback takes well under a millisecond
BACKOFF = 1.0  # seconds the breaker stays open after a failure
BLOCK_MS = 1000  # a reader's XREAD BLOCK: also how soon it notices it should stop
EVENTS_KEPT = 16
TTL = 86_400  # keys of a session nobody publishes to expire after a day
CLOSED_TTL = 60  # ... and a minute after the session was deleted
Fields = dict[bytes, bytes]

# KEYS: steps, events, meta. ARGV: ring size, reset (1/0), ttl, n event field pairs, the pairs,
# then (seq, record) pairs. A step id at or below the stream's top (possible only when a cut
# was missed) starts the stream over rather than leaving it half-written.
PUBLISH = """
local steps, events, meta = KEYS[1], KEYS[2], KEYS[3]
local ring, reset, ttl, nev = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
if reset == '1' then redis.call('DEL', steps) end
local last = nil
local i = 5 + 2 * nev
while i <= #ARGV do
  local id = ARGV[i] .. '-0'
  if redis.pcall('XADD', steps, id, 'r', ARGV[i + 1])['err'] then
    redis.call('DEL', steps)
    redis.call('XADD', steps, id, 'r', ARGV[i + 1])
  end
  last = tonumber(ARGV[i])
  i = i + 2
end
if last then
  redis.call('XTRIM', steps, 'MINID', math.max(0, last - ring + 1) .. '-0')
  redis.call('HSET', meta, 'last', last)
end
if nev > 0 then
  local fields, keep = {}, {}
  for j = 5, 4 + 2 * nev, 2 do
    fields[#fields + 1] = ARGV[j]
    fields[#fields + 1] = ARGV[j + 1]
    local k = ARGV[j]
    if k == 's' or k == 'q' or k == 'rw' or k == 'rs' or k == 'w' or k == 'c' then
      keep[#keep + 1] = k
      keep[#keep + 1] = ARGV[j + 1]
    end
  end
  local id = redis.call('XADD', events, 'MAXLEN', EVENTS_KEPT, '*', unpack(fields))
  redis.call('HSET', meta, 'ev', id, unpack(keep))
end
redis.call('EXPIRE', steps, ttl)
redis.call('EXPIRE', events, ttl)
redis.call('EXPIRE', meta, ttl)
return 1
""".replace("EVENTS_KEPT", str(EVENTS_KEPT))

# KEYS: steps. ARGV: seq. Deletes the entries after seq; the next id may then be seq + 1 again.
CUT = """
local steps, seq = KEYS[1], ARGV[1]
for _, e in ipairs(redis.call('XRANGE', steps, '(' .. seq .. '-0', '+')) do
  redis.call('XDEL', steps, e[1])
end
if redis.call('XLEN', steps) == 0 then redis.call('DEL', steps)
else redis.call('XSETID', steps, seq .. '-0') end
return 1
"""


def keys(session_id: str) -> tuple[str, str, str]:
    """The session's ``steps``, ``events`` and ``meta`` keys."""
    base = f"bpp:{session_id}:"
    return base + "steps", base + "events", base + "meta"


def step_id(seq: int) -> str:
    return f"{seq}-0"


def seq_of(entry_id: bytes | str) -> int:
    text = entry_id.decode() if isinstance(entry_id, bytes) else entry_id
    return int(text.split("-", 1)[0])


class RedisLink:
    """The process's Redis clients (short commands; blocking reads) and the breaker."""

    def __init__(self, url: str) -> None:
        no_retry = Retry(NoBackoff(), 0)
        self.url = url
        self.client = redis.Redis.from_url(
            url, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT, retry=no_retry
        )
        # XREAD BLOCK holds its connection up to BLOCK_MS: a pool of its own, one per reader
        self.blocking = redis.Redis.from_url(
            url, socket_timeout=BLOCK_MS / 1000 + 1, socket_connect_timeout=TIMEOUT, retry=no_retry
        )
        self._publish = self.client.register_script(PUBLISH)
        self._cut = self.client.register_script(CUT)
        self.lock = threading.Lock()
        self.errors = 0  # failed commands, all sessions together
        self.episode = 0  # bumped by each failure: streams written before it are suspect
        self._down_until = 0.0
        self._down = False
        self.closed = False
        self.call(self.load_scripts)
        self.sender = Sender(self)
        self.token = secrets.token_hex(8)  # this process, in other processes' eyes
        self.listener = DemandListener(self.blocking, self.usable, self.failed)

    # ---- the breaker ------------------------------------------------------------------------

    def usable(self) -> bool:
        """False while the breaker is open (Redis failed less than BACKOFF seconds ago)."""
        return time.monotonic() >= self._down_until

    def failed(self, exc: Exception) -> None:
        with self.lock:
            self.errors += 1
            self.episode += 1
            self._down_until = time.monotonic() + BACKOFF
            first, self._down = not self._down, True
        if first and not self.closed:  # closing cuts the readers' connections: not news
            log.warning("redis fan-out unavailable (%s); streams read the store", exc)

    def worked(self) -> None:
        if self._down:
            with self.lock:
                was, self._down = self._down, False
            if was:
                log.warning("redis fan-out back")

    def call(self, what: Any, *args: Any, **kw: Any) -> Any:
        """``what(*args, **kw)`` unless the breaker is open; None when not tried or failed."""
        if not self.usable():
            return None
        try:
            result = what(*args, **kw)
        except (redis.RedisError, OSError) as exc:
            self.failed(exc)
            return None
        self.worked()
        return result

    def load_scripts(self) -> None:
        for script in (self._publish, self._cut):
            self.client.script_load(script.script)

    # ---- writes (added to the sender's pipeline: app/streaming/redis_send.py) -----------------

    def publish_to(
        self,
        pipe: Any,
        session_id: str,
        steps: list[tuple[int, str]],
        event: list[tuple[str, str]],
        ring_size: int,
        reset: bool,
    ) -> int:
        """Steps and one event (field, value pairs; none: no event) in one script call; the
        number of commands added (1)."""
        args: list[Any] = [ring_size, "1" if reset else "0", TTL, len(event)]
        for pair in event:
            args.extend(pair)
        for seq, record in steps:
            args.extend((seq, record))
        # EVALSHA by hand: a Script object in a pipeline costs a SCRIPT EXISTS round trip on
        # every execute; the sender loads the scripts itself when Redis lost them
        pipe.evalsha(self._publish.sha, 3, *keys(session_id), *args)
        return 1

    def cut_to(self, pipe: Any, session_id: str, seq: int) -> int:
        """Delete the session's step entries after ``seq`` (1 command)."""
        pipe.evalsha(self._cut.sha, 1, keys(session_id)[0], seq)
        return 1

    def expire_to(self, pipe: Any, session_id: str, seconds: int) -> int:
        for key in keys(session_id):
            pipe.expire(key, seconds)
        return 3

    # ---- reads ------------------------------------------------------------------------------

    def records(self, session_id: str, after: int, limit: int) -> list[tuple[int, str]] | None:
        """Step records with seq > ``after`` held in Redis, oldest first; None when not tried
        or failed."""
        got = self.call(
            self.client.xrange, keys(session_id)[0], min="(" + step_id(after), count=limit
        )
        if got is None:
            return None
        return [(seq_of(eid), fields[b"r"].decode()) for eid, fields in got]

    def meta(self, session_id: str) -> dict[bytes, bytes] | None:
        return self.call(self.client.hgetall, keys(session_id)[2])

    def close(self) -> None:
        """Stop using Redis: readers end after their current XREAD, whose connection is left
        to finish (disconnecting it under a reading thread breaks that thread instead)."""
        self.closed = True
        self.listener.closed = True
        self.sender.close()
        self.client.close()
        self.blocking.connection_pool.disconnect(inuse_connections=False)
