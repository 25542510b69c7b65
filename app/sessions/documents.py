"""A session as a JSON document: export (its name, status and a checkpoint of its trainer) and
import (a new session of the caller from such a document, through the quotas of ``create``).

A mixin of :class:`app.sessions.manager.Manager`, which provides ``create``, ``load`` and the
settings. The checkpoint is the engine's (``Trainer.checkpoint()``): importing it is restoring
it (app/core/limits.py ``restore_trainer`` checks it against the server's limits first), so an
imported session continues bit-identically from where the exported one was.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import ApiError
from app.core.limits import restore_trainer
from app.core.settings import Settings
from app.sessions.session import Session

EXPORT_FORMAT = "backprop-playground/session-1"


class Documents:
    """Export and import (see the module docstring)."""

    settings: Settings

    def create(
        self, owner: str, config: dict[str, Any], name: str | None, trainer: Any = None
    ) -> Session:
        raise NotImplementedError

    def load(self, session: Session) -> Any:
        raise NotImplementedError

    def import_(self, owner: str, document: dict[str, Any], name: str | None) -> Session:
        if document.get("format") != EXPORT_FORMAT or not isinstance(
            document.get("checkpoint"), dict
        ):
            raise ApiError(
                422, f"format: expected {EXPORT_FORMAT!r} with a checkpoint object", field="format"
            )
        trainer = restore_trainer(document["checkpoint"], self.settings)
        return self.create(owner, trainer.config, name or document.get("name"), trainer)

    def export(self, session: Session) -> dict[str, Any]:
        with session.lock:
            t = self.load(session)
            return {
                "format": EXPORT_FORMAT,
                "name": session.name,
                "status": session.status,
                "checkpoint": t.checkpoint(),
            }
