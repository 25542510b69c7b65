"""JSON errors: every 4xx names what was wrong; bad input never becomes a 500.

Bodies look like ``{"detail": "...", "code": "over_limit", "field": "optimizer.lr", "limit":
"max_units", "max": 256}`` (``field``/``limit``/``max`` when they apply). ``detail`` is stable
English for scripts; ``code`` (:func:`error_code`: ``invalid``, ``over_limit``, ``quota``,
``not_found``, ``conflict``, ``forbidden``, ``busy``, ``full``, ``too_large``, ``bad_request``)
is what the page translates, with ``field``, into its own language. A 429 (a quota,
:func:`quota_error`) also carries ``Retry-After``: whole seconds until trying again makes
sense. Engine ``ValueError``s carry the dotted field at the start of their message
(``"optimizer.lr: invalid lr -1.0: must be > 0"``) or in ``.field``.
Every JSON response goes through :class:`SafeJSONResponse`, which turns NaN/Infinity into null
instead of raising (Starlette's encoder refuses them, which would be a 500) — promise 8.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.numbers import finite

log = logging.getLogger(__name__)


class SafeJSONResponse(JSONResponse):
    """JSONResponse that never emits NaN/Infinity (they become null)."""

    def render(self, content: Any) -> bytes:
        try:
            text = json.dumps(content, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
        except ValueError:
            text = json.dumps(finite(content), separators=(",", ":"), ensure_ascii=False)
        return text.encode("utf-8")


class ApiError(Exception):
    """An error with a status code and a JSON body naming the field and limit."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        limit: str | None = None,
        maximum: float | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.retry_after = retry_after
        self.body: dict[str, Any] = {"detail": detail, "code": error_code(status, limit)}
        if field is not None:
            self.body["field"] = field
        if limit is not None:
            self.body["limit"] = limit
        if maximum is not None:
            self.body["max"] = maximum


CODES = {
    400: "bad_request",
    403: "forbidden",
    404: "not_found",
    409: "conflict",
    413: "too_large",
    422: "invalid",
    429: "quota",
    503: "busy",
    507: "full",
}


def error_code(status: int, limit: str | None = None) -> str:
    """The stable word for an error the page translates (the body's ``code``)."""
    if limit is not None and status != 429:
        return "over_limit"
    return CODES.get(status, "invalid" if 400 <= status < 500 else "error")


class NotFound(ApiError):
    def __init__(self, what: str = "session") -> None:
        super().__init__(404, f"{what} not found")


class Conflict(ApiError):
    def __init__(self, detail: str, field: str | None = None) -> None:
        super().__init__(409, detail, field=field)


def limit_error(
    field: str, limit: str, value: float, maximum: float, status: int = 422
) -> ApiError:
    return ApiError(
        status,
        f"{field}: {value} is over the limit {limit}={maximum}",
        field=field,
        limit=limit,
        maximum=maximum,
    )


def quota_error(
    field: str, limit: str, value: float, maximum: float, retry_after: float
) -> ApiError:
    """429 for a quota (promises 7 and 21), with ``Retry-After: retry_after`` (seconds)."""
    error = limit_error(field, limit, value, maximum, status=429)
    error.retry_after = retry_after
    return error


def engine_error(exc: Exception, prefix: str = "") -> ApiError:
    """422 for a ValueError/TypeError raised by the engine on user input, naming the field."""
    message = str(exc) or type(exc).__name__
    field = getattr(exc, "field", None)
    if field is None and ":" in message:
        head = message.split(":", 1)[0]
        if head and " " not in head.strip():
            field = head.strip()
    if prefix:
        field = f"{prefix}.{field}" if field else prefix
        message = f"{prefix}: {message}"
    return ApiError(422, message, field=field)


def _loc(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    headers = None
    if exc.retry_after is not None:  # delay-seconds: a whole number (RFC 9110 §10.2.3)
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return SafeJSONResponse(exc.body, status_code=exc.status, headers=headers)


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {"field": _loc(e.get("loc", ())), "message": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"field": "", "message": "invalid request"}
    body = {
        "detail": f"{first['field']}: {first['message']}",
        "code": "invalid",
        "field": first["field"],
        "errors": errors,
    }
    return SafeJSONResponse(body, status_code=422)


async def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return SafeJSONResponse(
        {"detail": exc.detail, "code": error_code(exc.status_code)},
        status_code=exc.status_code,
        headers=exc.headers,
    )


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return SafeJSONResponse({"detail": "internal error", "code": "error"}, status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
