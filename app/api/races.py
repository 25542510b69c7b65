"""Races: ``/api/races``, several runs of one config, each a normal session
(app/sessions/races.py).

- ``POST /races {"config", "runs": [{"name", "changes"}], "preset"?, "name"?}`` → 201
  ``{"id", "owner_token", "race"}``; a preset gives the base config and the runs (the body's
  ``config`` merges over the preset's, its ``runs`` replace the preset's when given).
- ``GET /races`` (the caller's), ``GET /races/{id}``: ``{"id", "name", "config", "runs": [{"index",
  "name", "changes", "difference", "session", "same_start", "same_batches", "same_first_epoch",
  "status", "state": SessionPublic}], "step_spread"}``.
- ``POST /races/{id}/run|pause|step|reset``, ``DELETE /races/{id}`` (its sessions too).
- ``GET /races/{id}/events``: one SSE stream of every run (app/api/race_events.py).
- ``GET /catalog/race-presets``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from app.api.deps import AddressDep, OwnerDep, QuotasDep, SettingsDep, TokenDep, hash_token
from app.api.schemas import Model, RunRequest, SessionConfig
from app.api.sessions import _owner_for_new
from app.core.errors import ApiError, limit_error
from app.sessions import race_presets
from app.sessions.races import Race, Races
from engine.config import merge_config

router = APIRouter(tags=["races"])


class RaceRunIn(Model):
    name: str = Field(min_length=1, max_length=40)
    changes: SessionConfig = Field(default_factory=SessionConfig)


class RaceCreate(Model):
    config: SessionConfig = Field(default_factory=SessionConfig)
    runs: list[RaceRunIn] = Field(default_factory=list, max_length=64)
    preset: str | None = Field(default=None, max_length=60, description="A race preset's name.")
    name: str | None = Field(default=None, max_length=60)


class RaceStep(Model):
    count: int = Field(default=1, ge=1, le=10_000_000)


async def get_races(request: Request) -> Races:
    """The app's races (made in app/main.py's lifespan, over the session manager)."""
    races: Races = request.app.state.races
    return races


RacesDep = Annotated[Races, Depends(get_races)]


async def get_race(race_id: str, owner: OwnerDep, races: RacesDep) -> Race:
    return races.get(race_id, owner)


RaceDep = Annotated[Race, Depends(get_race)]


@router.get("/catalog/race-presets")
def race_preset_list() -> list[dict[str, Any]]:
    """Named races: the curriculum's comparisons, each a base config and its runs."""
    return race_presets.catalog()


@router.post("/races", status_code=201)
def create_race(
    body: RaceCreate,
    token: TokenDep,
    response: Response,
    races: RacesDep,
    settings: SettingsDep,
    quotas: QuotasDep,
    address: AddressDep,
) -> dict[str, Any]:
    """A race: one paused session per run, all from the same start (see GET for the shares)."""
    base = body.config.engine_dict()
    runs = [(r.name, r.changes.engine_dict()) for r in body.runs]
    name = body.name
    if body.preset is not None:
        preset = race_presets.race_preset(body.preset)
        if preset is None:
            raise ApiError(
                422,
                f"preset: unknown race preset {body.preset!r}; choose one of "
                f"{list(race_presets.RACE_PRESETS)}",
                field="preset",
            )
        base = merge_config(preset["config"], base)
        runs = runs or [(r["name"], r["changes"]) for r in preset["runs"]]
        name = name or body.preset
    if len(runs) > settings.max_race_runs:
        raise limit_error("runs", "max_race_runs", len(runs), settings.max_race_runs)
    if len(runs) < 2:
        raise ApiError(422, f"runs: a race needs 2 runs at least, not {len(runs)}", field="runs")
    with _owner_for_new(token, response, settings, quotas, address) as token:
        race = races.create(hash_token(token), base, runs, name or "race")
    return {"id": race.id, "owner_token": token, "race": races.public(race)}


@router.get("/races")
def list_races(owner: OwnerDep, races: RacesDep) -> list[dict[str, Any]]:
    return races.listed(owner)


@router.get("/races/{race_id}")
def read_race(race: RaceDep, races: RacesDep) -> dict[str, Any]:
    return races.public(race)


@router.post("/races/{race_id}/run")
def run_race(
    race: RaceDep, races: RacesDep, settings: SettingsDep, body: RunRequest | None = None
) -> dict[str, Any]:
    """Run every run (not diverged) for ``steps`` iterations in lock-step (at most one step
    apart); ``speed`` caps each run's steps per second."""
    body = body or RunRequest()
    if body.steps is not None and body.steps > settings.max_run_steps:
        raise limit_error("steps", "max_run_steps", body.steps, settings.max_run_steps)
    races.run(race, body.steps, body.speed)
    return races.public(race)


@router.post("/races/{race_id}/pause")
def pause_race(race: RaceDep, races: RacesDep) -> dict[str, Any]:
    races.pause(race)
    return races.public(race)


@router.post("/races/{race_id}/step")
def step_race(
    race: RaceDep, races: RacesDep, settings: SettingsDep, body: RaceStep | None = None
) -> dict[str, Any]:
    """``count`` iterations of every run (not diverged), one run after the other."""
    body = body or RaceStep()
    if body.count > settings.max_steps_per_request:
        raise limit_error(
            "count", "max_steps_per_request", body.count, settings.max_steps_per_request
        )
    races.step(race, body.count)
    return races.public(race)


@router.post("/races/{race_id}/reset")
def reset_race(race: RaceDep, races: RacesDep) -> dict[str, Any]:
    """Every run back to the race's common start (a new generation of each session)."""
    races.reset(race)
    return races.public(race)


@router.delete("/races/{race_id}", status_code=204)
def delete_race(race: RaceDep, races: RacesDep) -> Response:
    races.delete(race)
    return Response(status_code=204)
