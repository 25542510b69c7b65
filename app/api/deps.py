"""Request dependencies as ``Annotated`` aliases: settings, manager, owner, session, CSRF.

Ownership (promise 10): scripts send ``Authorization: Bearer <owner token>``; browsers carry the
same token in an HttpOnly, SameSite=Lax cookie. Only a SHA-256 of the token is stored or
compared. :func:`get_session` answers 404 for a missing session and for someone else's alike.

CSRF (promise 11): a state-changing request that is not bearer-authenticated must come from our
own origin: ``Sec-Fetch-Site`` cross-site/same-site, or an ``Origin`` that is not ours, is a 403.
Bearer requests are exempt — a browser never attaches that header on its own.

Every dependency here is ``async def``, though none awaits: FastAPI runs a plain ``def``
dependency in its thread pool, and a request then waited for a pool thread (and the GIL) once
per dependency — on a busy machine, several milliseconds for a request that needs microseconds.
"""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request

from app.core.errors import ApiError
from app.core.settings import Settings
from app.sessions.manager import Manager
from app.sessions.quotas import Quotas
from app.sessions.session import Session

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


async def app_settings(request: Request) -> Settings:
    """The settings the app was made with (app/main.py ``create_app``)."""
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(app_settings)]


async def get_manager(request: Request) -> Manager:
    manager: Manager = request.app.state.manager
    return manager


ManagerDep = Annotated[Manager, Depends(get_manager)]


async def get_quotas(request: Request, settings: SettingsDep) -> Quotas:
    """The app's quota counters (app/sessions/quotas.py), made on first use: on the event loop, so
    once, however many requests come at the same time. Web replicas count them in Redis
    together (the fan-out's link)."""
    state = request.app.state
    quotas: Quotas | None = getattr(state, "quotas", None)
    if quotas is None:
        link = state.manager.fanout_link if settings.replicas else None
        quotas = state.quotas = Quotas(settings, link)
    return quotas


QuotasDep = Annotated[Quotas, Depends(get_quotas)]


async def client_address(request: Request) -> str:
    """The client's address as the server sees it (behind a proxy, uvicorn's
    ``--forwarded-allow-ips`` decides whether it is the proxy's or the forwarded one)."""
    return request.client.host if request.client is not None else "unknown"


AddressDep = Annotated[str, Depends(client_address)]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


async def raw_token(request: Request, settings: SettingsDep) -> str | None:
    """The caller's owner token, from the bearer header or else the cookie."""
    return bearer(request) or request.cookies.get(settings.cookie_name) or None


TokenDep = Annotated[str | None, Depends(raw_token)]


async def get_owner(token: TokenDep) -> str | None:
    return hash_token(token) if token else None


OwnerDep = Annotated[str | None, Depends(get_owner)]


async def get_session(session_id: str, owner: OwnerDep, manager: ManagerDep) -> Session:
    return manager.get(session_id, owner)


SessionDep = Annotated[Session, Depends(get_session)]


async def csrf_check(request: Request, settings: SettingsDep) -> None:
    """Refuse cross-site state changes from browsers (app-wide dependency)."""
    if request.method not in UNSAFE or bearer(request):
        return
    site = request.headers.get("sec-fetch-site")
    if site in ("cross-site", "same-site"):
        raise ApiError(
            403, f"cross-origin request refused (Sec-Fetch-Site: {site})", field="Sec-Fetch-Site"
        )
    origin = request.headers.get("origin")
    if origin is None:
        return  # not a browser cross-origin request: browsers send Origin on those
    own = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if origin != own and origin not in settings.allowed_origins:
        raise ApiError(403, f"cross-origin request refused (Origin: {origin})", field="Origin")
