"""Sessions: create, list, read, change, drive (step/run/pause/reset), edit weights, delete
and import (the export, in its formats, is app/api/export.py). Plain ``def`` routes: they run
in the thread pool, where waiting for a session's lock or a database commit never blocks the
event loop."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import (
    AddressDep,
    ManagerDep,
    OwnerDep,
    QuotasDep,
    SessionDep,
    SettingsDep,
    TokenDep,
    hash_token,
)
from app.api.schemas import (
    ImportRequest,
    PatchRequest,
    PatchResult,
    ResetRequest,
    RunRequest,
    SessionCreate,
    SessionCreated,
    SessionPublic,
    StepRequest,
    StepResult,
    WeightEdit,
)
from app.core.errors import ApiError, limit_error
from app.core.settings import Settings
from app.sessions import presets
from app.sessions.manager import Manager
from app.sessions.quotas import Quotas
from app.sessions.session import Session
from engine.config import merge_config
from engine.inspect import readouts

router = APIRouter(prefix="/sessions", tags=["sessions"])


@contextmanager
def _owner_for_new(
    token: str | None, response: Response, settings: Settings, quotas: Quotas, address: str
) -> Iterator[str]:
    """The caller's token, or a new one, counted against the new-owner rate of the caller's
    address (promise 21) and set as the browser's HttpOnly cookie once the ``with`` body (the
    create) succeeded; a create that fails makes no owner, and is not counted.

    The answer carries the token (``owner_token``), so no cache may keep it."""
    response.headers["Cache-Control"] = "no-store"
    if token:
        yield token
        return
    minted = quotas.new_owner(address)
    token = secrets.token_urlsafe(32)  # 256 bits
    try:
        yield token
    except BaseException:
        quotas.owner_given_back(address, minted)
        raise
    response.set_cookie(
        settings.cookie_name,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=365 * 24 * 3600,
        path="/",
    )


def _created(manager: Manager, session: Session, token: str) -> dict[str, Any]:
    with session.lock:
        state = readouts.snapshot(manager.load(session), frozenset())
    return {"id": session.id, "owner_token": token, "session": session.public(), "state": state}


@router.post("", status_code=201, response_model=SessionCreated)
def create_session(
    body: SessionCreate,
    token: TokenDep,
    response: Response,
    manager: ManagerDep,
    settings: SettingsDep,
    quotas: QuotasDep,
    address: AddressDep,
) -> dict[str, Any]:
    """Create a session from a config (or a preset plus overrides); paused at step 0."""
    config = body.config.engine_dict()
    if body.preset is not None:
        base = presets.preset_config(body.preset)
        if base is None:
            raise ApiError(
                422,
                f"preset: unknown preset {body.preset!r}; choose one of {list(presets.PRESETS)}",
                field="preset",
            )
        config = merge_config(base, config)
    with _owner_for_new(token, response, settings, quotas, address) as token:
        session = manager.create(hash_token(token), config, body.name)
    return _created(manager, session, token)


@router.post("/import", status_code=201, response_model=SessionCreated)
def import_session(
    body: ImportRequest,
    token: TokenDep,
    response: Response,
    manager: ManagerDep,
    settings: SettingsDep,
    quotas: QuotasDep,
    address: AddressDep,
) -> dict[str, Any]:
    """Create a session from an export document; it continues exactly where it was saved."""
    with _owner_for_new(token, response, settings, quotas, address) as token:
        session = manager.import_(hash_token(token), body.model_dump(), body.name)
    return _created(manager, session, token)


@router.get("", response_model=list[SessionPublic])
def list_sessions(owner: OwnerDep, manager: ManagerDep) -> list[dict[str, Any]]:
    """The caller's sessions, oldest first."""
    return [s.public() for s in manager.owned(owner)]


@router.get("/{session_id}", response_model=SessionPublic)
def read_session(session: SessionDep) -> dict[str, Any]:
    return session.public()


@router.patch("/{session_id}", response_model=PatchResult)
def update_session(body: PatchRequest, session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """Change hyper-parameters live, or the model/data (which resets: ``reset: true``)."""
    _, was_reset, changed = manager.patch(session, body.config.engine_dict(), body.name)
    return {"session": session.public(), "reset": was_reset, "changed": changed}


@router.delete("/{session_id}", status_code=204)
def delete_session(session: SessionDep, manager: ManagerDep) -> Response:
    manager.delete(session)
    return Response(status_code=204)


@router.post("/{session_id}/step", response_model=StepResult)
def step_session(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    body: StepRequest | None = None,
) -> dict[str, Any]:
    """Advance whole iterations, to the end of the epoch, or one phase (layer by layer);
    no body: one iteration."""
    body = body or StepRequest()
    if body.count is not None and body.count > settings.max_steps_per_request:
        raise limit_error(
            "count", "max_steps_per_request", body.count, settings.max_steps_per_request
        )
    if body.unit == "epoch":
        with session.lock:
            remaining = manager.load(session).iterations_per_epoch
        if remaining > settings.max_steps_per_request:
            raise limit_error(
                "unit", "max_steps_per_request", remaining, settings.max_steps_per_request
            )
    return manager.step(session, body.count, body.unit, body.phase, frozenset(body.include))


@router.post("/{session_id}/run", response_model=SessionPublic)
def run_session(
    session: SessionDep, manager: ManagerDep, settings: SettingsDep, body: RunRequest | None = None
) -> dict[str, Any]:
    """Train in the background for ``steps`` iterations or ``epochs`` epochs (a budget) at
    most ``speed`` steps/s."""
    body = body or RunRequest()
    steps, field = body.steps, "steps"
    if body.epochs is not None:
        with session.lock:
            steps, field = body.epochs * manager.load(session).iterations_per_epoch, "epochs"
    if steps is not None and steps > settings.max_run_steps:
        raise limit_error(field, "max_run_steps", steps, settings.max_run_steps)
    return manager.run(session, steps, body.speed).public()


@router.post("/{session_id}/pause", response_model=SessionPublic)
def pause_session(session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    return manager.pause(session).public()


@router.post("/{session_id}/reset", response_model=SessionPublic)
def reset_session(
    session: SessionDep, manager: ManagerDep, body: ResetRequest | None = None
) -> dict[str, Any]:
    """Fresh weights; a new generation of step numbers. ``config``: settings changed first,
    within the same request, so no other request (a play) can come between the change and the
    reset (the divergence alert's "reset with a smaller learning rate")."""
    changes = body.config.engine_dict() if body is not None else {}
    return manager.reset(session, changes=changes).public()


@router.put("/{session_id}/weights")
def edit_weights(body: WeightEdit, session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """Set one weight (``index``) or a whole array (W, b, gamma, beta, or PReLU's alpha); shapes
    are validated."""
    return manager.set_weight(session, body.layer, body.param, body.value, body.index)
