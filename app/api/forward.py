"""Web replicas: a request for a session another replica holds is forwarded to that replica
(pure ASGI, installed only when replicas are on: app/main.py; the design is
app/sessions/replicas.py's).

Why forward rather than move the session to the replica the request landed on: behind a
round-robin proxy half of a session's requests land elsewhere, and moving a running session
stops its run, checkpoints it and starts a new actor (about a second) — a page's every click
would pay it. Forwarding costs one hop on the replicas' network, and the session keeps one
trainer, one actor, one page feed and one lock, so a request means what it means on one server.

What is forwarded: every request naming a session (``/api/sessions/{id}``, ``…/{id}/…``, the
page ``/?s={id}``) but its JSON stream (``…/events``), which any replica serves from Redis; and
every request naming a race (``/api/races/{id}``, ``…/{id}/…`` with its stream, the page
``/race/{id}``) to the replica holding its runs' sessions, which gathers them if they are free
(app/sessions/race_replicas.py: lock-step paces a race's runs in one process).
The request goes as it came (method, path, query, headers, body; the original ``Host``, so the
holder's same-origin check sees what the browser sent) with two headers: the replicas' shared
secret and the client's address (the holder counts quotas per client address). The answer
comes back as the holder sent it, streamed (the page stream too) until either side ends.

If the holder cannot be reached it is taken for gone: the request waits (at most a lease's
time and a second) for its lease to lapse, then this replica takes the session over and
serves it; else a 503 naming ``storage`` with ``Retry-After``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
import httpx
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.errors import ApiError

# a session id is 24 URL-safe characters (app/sessions/manager.py): not ``import``; a race's
# 16 (app/sessions/races.py)
SESSION_PATH = re.compile(r"^/api/sessions/([A-Za-z0-9_-]{16,64})(/.*)?$")
RACE_PATHS = (
    re.compile(r"^/api/races/([A-Za-z0-9_-]{16,64})(?:/.*)?$"),
    re.compile(r"^/race/([A-Za-z0-9_-]{16,64})$"),
)
SECRET = "x-bpp-forwarded"
CLIENT = "x-bpp-client"
# hop-by-hop headers; a request's length is the body's as sent on; an answer's date, server and
# security headers are set again by this replica's server and middleware (app/api/middleware.py)
HOP = (b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade")
REQUEST_DROPPED = frozenset((*HOP, b"content-length"))
ANSWER_DROPPED = frozenset((*HOP, b"date", b"server", b"x-content-type-options",
                            b"referrer-policy"))  # fmt: skip
CONNECT_SECONDS = 1.0
POLL_SECONDS = 0.1


def race_of(scope: Scope) -> str | None:
    """The race a request names (its API or its page), if any."""
    for pattern in RACE_PATHS:
        match = pattern.match(scope["path"])
        if match is not None:
            return match.group(1)
    return None


def session_of(scope: Scope) -> tuple[str | None, bool]:
    """The session a request names, and whether it is the JSON stream (served anywhere)."""
    match = SESSION_PATH.match(scope["path"])
    if match is not None:
        return match.group(1), match.group(2) == "/events"
    if scope["path"] == "/":
        s = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("s")
        if s:
            return s[0], False
    return None, False


def unavailable(detail: str) -> ApiError:
    return ApiError(503, f"storage: {detail}", field="storage", retry_after=1.0)


async def refuse(send: Send, exc: ApiError) -> None:
    """``exc`` as the app's error handler answers it (here, outside the app)."""
    headers = [(b"content-type", b"application/json")]
    if exc.retry_after is not None:
        headers.append((b"retry-after", str(max(1, math.ceil(exc.retry_after))).encode()))
    await send({"type": "http.response.start", "status": exc.status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(exc.body).encode()})


class Forward:
    """See the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sid, stream = session_of(scope)
        rid = race_of(scope) if sid is None else None
        if sid is None and rid is None:
            await self.app(scope, receive, send)
            return
        manager = scope["app"].state.manager
        headers = dict(scope["headers"])
        forwarded = headers.get(SECRET.encode(), b"").decode() == manager.leases.secret
        if forwarded:  # from another replica: the client is the one it names
            client = headers.get(CLIENT.encode(), b"unknown").decode()
            scope = dict(scope, client=(client, 0))
        races = scope["app"].state.races
        key = rid or sid or ""
        held = races.held(key) if rid else key in manager.sessions
        route = races.route if rid else manager.route
        if held:  # held here: the usual case pays no thread hop
            await self.app(scope, receive, send)
            return
        try:
            if stream:  # a session's JSON stream: followed here through Redis
                await anyio.to_thread.run_sync(manager.follow_ready, key)
                await self.app(scope, receive, send)
                return
            await self._elsewhere(manager, route, key, forwarded, scope, receive, send)
        except ApiError as exc:  # Redis or the store out of reach; a race's runs split
            await refuse(send, exc)

    async def _elsewhere(
        self, manager: Any, route: Callable[[str], str | None], key: str, forwarded: bool,
        scope: Scope, receive: Receive, send: Send,
    ) -> None:  # fmt: skip
        """A request for a session (or race) this replica does not hold (yet): ``route`` says
        where it is served (None: here, taken now)."""
        url = await anyio.to_thread.run_sync(route, key)
        if url is None:
            await self.app(scope, receive, send)
            return
        if forwarded:  # moved on since the other replica looked: it asks again
            raise unavailable("the session moved to another replica; retry")
        body = await self._body(receive)
        if url and await self._forward(url, scope, body, receive, send):
            return
        # the holder is gone: its lease lapses within a lease's time, then it is ours
        deadline = time.monotonic() + manager.settings.lease_seconds + 1
        while time.monotonic() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if await anyio.to_thread.run_sync(route, key) is None:
                await self.app(scope, self._replay(body, receive), send)
                return
        raise unavailable("the replica holding the session is not answering")

    @staticmethod
    async def _body(receive: Receive) -> bytes:
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        return b"".join(chunks)

    @staticmethod
    def _replay(body: bytes, receive: Receive) -> Receive:
        """The request's body again, for the app (then the connection's own messages)."""
        sent = False

        async def again() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return again

    async def _forward(
        self, url: str, scope: Scope, body: bytes, receive: Receive, send: Send
    ) -> bool:
        """Send the request to the holder at ``url`` and its answer back; False if the holder
        could not be reached (nothing was sent back then)."""
        if self.client is None:
            timeout = httpx.Timeout(None, connect=CONNECT_SECONDS)
            # no pool cap: each forwarded page stream holds a connection for its life, and the
            # server's own connection limit (app/serve.py) bounds them
            limits = httpx.Limits(max_connections=None, max_keepalive_connections=64)
            self.client = httpx.AsyncClient(timeout=timeout, limits=limits, follow_redirects=False)
        manager = scope["app"].state.manager
        client = scope.get("client")
        headers: list[tuple[bytes, bytes]] = [
            (k, v)
            for k, v in scope["headers"]
            if k not in REQUEST_DROPPED and not k.startswith(b"x-bpp-")
        ]
        headers += [
            (SECRET.encode(), manager.leases.secret.encode()),
            (CLIENT.encode(), (client[0] if client else "unknown").encode()),
        ]
        target = url + (scope.get("raw_path") or scope["path"].encode()).decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        request = self.client.build_request(scope["method"], target, headers=headers, content=body)
        try:
            response = await self.client.send(request, stream=True)
        except (httpx.ConnectError, httpx.ConnectTimeout):
            return False
        except httpx.HTTPError:  # it went down under the request: done or not, unknown
            await refuse(send, unavailable("the replica holding the session stopped"))
            return True
        try:
            await self._relay(response, receive, send)
        finally:
            await response.aclose()
        return True

    @staticmethod
    async def _relay(response: httpx.Response, receive: Receive, send: Send) -> None:
        """The holder's answer to the client, chunk by chunk, until it ends or the client
        leaves (a stream: the holder's end is closed then)."""
        raw: Any = response.headers.raw
        await send({
            "type": "http.response.start",
            "status": response.status_code,
            "headers": [(k.lower(), v) for k, v in raw if k.lower() not in ANSWER_DROPPED],
        })  # fmt: skip

        async def pump() -> None:
            async for chunk in response.aiter_raw():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})

        async def left() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        tasks = [asyncio.ensure_future(pump()), asyncio.ensure_future(left())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
        for task in tasks:  # the holder gone mid-answer: the answer ends here (clients retry)
            if task.done() and not task.cancelled():
                task.exception()
        with contextlib.suppress(OSError, RuntimeError):  # the client has gone
            await send({"type": "http.response.body", "body": b"", "more_body": False})
