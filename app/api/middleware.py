"""Pure-ASGI middleware: request body size limit (413, promise 13) and the security headers.

Pure ASGI rather than ``BaseHTTPMiddleware`` so streaming responses (SSE) pass through untouched.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` (declared or actually sent) with a JSON 413."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._refuse(send, declared)
                    return
        seen = 0
        started = refused = False

        async def counted_receive() -> Message:
            nonlocal seen, refused
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # answer now; the app sees a disconnect and its own reply is dropped
                    if not started and not refused:
                        refused = True
                        await self._refuse(send, seen)
                    return {"type": "http.disconnect"}
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, tracked_send)

    async def _refuse(self, send: Send, size: int) -> None:
        body = json.dumps(
            {
                "detail": f"request body of {size} bytes is over the limit "
                f"max_upload_bytes={self.max_bytes}",
                "code": "too_large",
                "field": "body",
                "limit": "max_upload_bytes",
                "max": self.max_bytes,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


# Scripts, styles, pictures and requests from our own origin only, never inline or eval'd
# (promise 12); no plugins, no <base>, no framing.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
# responses a browser shows as a document, which the CSP then governs
DOCUMENT_TYPES = (b"text/html", b"image/svg+xml")


class SecurityHeaders:
    """``X-Content-Type-Options: nosniff`` and ``Referrer-Policy`` on every response, and
    :data:`CSP` on every document (HTML or SVG) that does not bring its own: the page, the API
    docs, error pages, static files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                ctype = next((v for n, v in headers if n.lower() == b"content-type"), b"")
                if ctype.startswith(DOCUMENT_TYPES) and b"content-security-policy" not in names:
                    headers.append((b"content-security-policy", CSP.encode()))
                headers.append((b"x-content-type-options", b"nosniff"))
                headers.append((b"referrer-policy", b"same-origin"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, add_headers)
