"""A session's export: ``GET /api/sessions/{id}/export?format=json|numpy|pytorch|onnx``.

``json`` (the default) is the document ``POST /api/sessions/import`` restores exactly; the others
are the same network in the forms the field uses (engine/export): a NumPy file and a PyTorch
file that continue the session's training number for number (``&lang=en|ko`` picks their
comments' language), and the ONNX inference graph. Files come as attachments named after the
session. A plain ``def`` route: taking the trainer's copy waits for the session's lock, and
writing a file takes a moment, so it runs in the thread pool.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Response

from app.api.deps import ManagerDep, SessionDep
from app.core.errors import ApiError, engine_error
from engine.export import FORMATS, export
from engine.export.words import LANGS
from engine.trainer import Trainer

router = APIRouter(prefix="/sessions", tags=["sessions"])

KNOWN = ("json", *FORMATS)


@router.get("/{session_id}/export", response_model=None)
def export_session(
    session: SessionDep, manager: ManagerDep, format: str = "json", lang: str = "en"
) -> dict[str, Any] | Response:
    """The session as a JSON document (default) or as NumPy code, PyTorch code or ONNX."""
    if format not in KNOWN:
        raise ApiError(
            422, f"format: unknown export format {format!r}; choose one of {list(KNOWN)}",
            field="format",
        )  # fmt: skip
    if lang not in LANGS:
        raise ApiError(
            422, f"lang: unknown language {lang!r}; choose one of {list(LANGS)}", field="lang"
        )
    document = manager.export(session)
    if format == "json":
        return document
    trainer = Trainer.restore(document["checkpoint"])  # a copy: the session runs on
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", session.name or "session").strip("_") or "session"
    try:
        name, media_type, body = export(trainer, format, lang, stem=stem[:60])
    except ValueError as exc:  # ExportError: the config field this format cannot write
        raise engine_error(exc) from None
    return Response(
        body,
        media_type=media_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
