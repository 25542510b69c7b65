"""Catalogs: everything a user can pick, with parameters, defaults and ranges."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app import presets
from app.errors import NotFound

router = APIRouter(prefix="/catalog", tags=["catalog"])


def _registries() -> dict[str, Any]:
    from engine.activations import ACTIVATIONS
    from engine.datasets import DATASETS
    from engine.initializers import INITIALIZERS
    from engine.losses import LOSSES
    from engine.optim import OPTIMIZERS, SCHEDULES

    return {
        "datasets": DATASETS,
        "activations": ACTIVATIONS,
        "losses": LOSSES,
        "optimizers": OPTIMIZERS,
        "schedules": SCHEDULES,
        "initializers": INITIALIZERS,
    }


@router.get("")
def all_catalogs() -> dict[str, Any]:
    """Every catalog at once (the page loads this once)."""
    out = {kind: reg.catalog() for kind, reg in _registries().items()}
    out["presets"] = presets.catalog()
    return out


@router.get("/datasets")
def datasets() -> list[dict[str, Any]]:
    return list(_registries()["datasets"].catalog())


@router.get("/activations")
def activations() -> list[dict[str, Any]]:
    return list(_registries()["activations"].catalog())


@router.get("/losses")
def losses() -> list[dict[str, Any]]:
    return list(_registries()["losses"].catalog())


@router.get("/optimizers")
def optimizers() -> list[dict[str, Any]]:
    return list(_registries()["optimizers"].catalog())


@router.get("/schedules")
def schedules() -> list[dict[str, Any]]:
    return list(_registries()["schedules"].catalog())


@router.get("/initializers")
def initializers() -> list[dict[str, Any]]:
    return list(_registries()["initializers"].catalog())


@router.get("/presets")
def preset_list() -> list[dict[str, Any]]:
    return presets.catalog()


@router.get("/presets/{name}")
def preset(name: str) -> dict[str, Any]:
    for entry in presets.catalog():
        if entry["name"] == name:
            return entry
    raise NotFound("preset")
