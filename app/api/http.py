"""The server's HTTP protocol: uvicorn's httptools protocol with a request-header timeout.

uvicorn (0.55) arms its keep-alive timer only after a response and cancels it on the first byte
that arrives, so a connection that never sends a request, or sends its headers a byte at a
time (slowloris), is held forever: 300 such sockets were all still open after 10 s. Here a
connection's request headers must have arrived in full within ``BPP_HEADER_TIMEOUT_SECONDS``
of the connection being made, and again of each response completing (unless the next request
is already waiting), or the connection is closed. A request whose headers came in time is
never timed by this: a long upload or a stream that stays open for hours is the app's business.

Run by ``python -m app.serve`` (``--http app.api.http:HeaderTimeoutProtocol``).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.core.settings import get_settings


class HeaderTimeoutProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes a connection whose request headers are late."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = get_settings().header_timeout_seconds
        self.header_timer: asyncio.TimerHandle | None = None

    def _wait_for_headers(self) -> None:
        self._headers_arrived()
        self.header_timer = self.loop.call_later(self.header_timeout, self._headers_late)

    def _headers_arrived(self) -> None:
        if self.header_timer is not None:
            self.header_timer.cancel()
            self.header_timer = None

    def _headers_late(self) -> None:
        self.header_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._wait_for_headers()

    def on_headers_complete(self) -> None:
        self._headers_arrived()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        # a pipelined request already has its headers: it starts now, untimed
        next_waiting = bool(self.pipeline)
        super().on_response_complete()
        if not next_waiting and not self.transport.is_closing():
            self._wait_for_headers()

    def connection_lost(self, exc: Exception | None) -> None:
        self._headers_arrived()
        super().connection_lost(exc)
