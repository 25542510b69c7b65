"""Catalogs: everything a user can pick, with parameters, defaults and ranges."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from app.core.errors import NotFound
from app.sessions import catalog as catalogs
from app.sessions import presets

router = APIRouter(prefix="/catalog", tags=["catalog"])


@router.get("")
def every_catalog() -> dict[str, Any]:
    """Every catalog at once (the page loads this once)."""
    return catalogs.all_catalogs()


@router.get("/datasets")
def datasets() -> list[dict[str, Any]]:
    return catalogs.catalog("datasets")


@router.get("/activations")
def activations() -> list[dict[str, Any]]:
    return catalogs.catalog("activations")


@router.get("/losses")
def losses() -> list[dict[str, Any]]:
    return catalogs.catalog("losses")


@router.get("/optimizers")
def optimizers() -> list[dict[str, Any]]:
    return catalogs.catalog("optimizers")


@router.get("/schedules")
def schedules() -> list[dict[str, Any]]:
    return catalogs.catalog("schedules")


@router.get("/initializers")
def initializers() -> list[dict[str, Any]]:
    return catalogs.catalog("initializers")


@router.get("/presets")
def preset_list() -> list[dict[str, Any]]:
    return presets.catalog()


@router.get("/presets/{name}")
def preset(name: str) -> dict[str, Any]:
    for entry in presets.catalog():
        if entry["name"] == name:
            return entry
    raise NotFound("preset")
