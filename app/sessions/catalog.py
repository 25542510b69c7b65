"""Catalogs: everything a user can pick (data sets, activations, losses, optimizers, schedules,
initializers, presets) with parameters, defaults and ranges; served by app/api/catalog.py and
drawn into the page's controls."""

from __future__ import annotations

from typing import Any

from app.sessions import presets
from engine.activations import ACTIVATIONS
from engine.datasets import DATASETS
from engine.initializers import INITIALIZERS
from engine.losses import LOSSES
from engine.optim import OPTIMIZERS, SCHEDULES

REGISTRIES: dict[str, Any] = {
    "datasets": DATASETS,
    "activations": ACTIVATIONS,
    "losses": LOSSES,
    "optimizers": OPTIMIZERS,
    "schedules": SCHEDULES,
    "initializers": INITIALIZERS,
}


def all_catalogs() -> dict[str, Any]:
    """Every catalog at once."""
    out = {kind: reg.catalog() for kind, reg in REGISTRIES.items()}
    out["presets"] = presets.catalog()
    return out


def catalog(kind: str) -> list[dict[str, Any]]:
    return list(REGISTRIES[kind].catalog())
