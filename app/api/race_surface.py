"""A race's loss surface with every run's path (engine/inspect/race_surface.py).

- ``GET /races/{id}/surface?directions=random|pca|weights&resolution=&range=&seed=&weight=``
  → ``{"surface_of", "directions", "alphas", "betas", "losses", "min", "max", "range",
  "resolution", "centre_loss", "runs": [{"index", "name", "path": [[α, β], …], "steps",
  "current": [α, β], "same_surface", "differs", "projected"}]}``: run 0's loss on the plane
  through the runs' common start, and every run projected on it. The plane is kept (in this
  process, the last :data:`KEEP` races) so that
- ``GET /races/{id}/surface/paths`` → ``{"runs": [...]}`` (as above) follows the runs while
  they train without recomputing the grid: the page polls it (static/race_surface.js).

The grid holds run 0's session lock while it is computed (the engine is not thread-safe), as
``/sessions/{id}/landscape`` does; its work (grid points × training rows × parameters) is
limited by ``max_landscape_work`` and its side by ``max_grid``.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query

from app.api.deps import ManagerDep, SettingsDep
from app.api.races import RaceDep, RacesDep
from app.api.readouts import ENGINE_ERRORS, _parse_weight
from app.core.errors import Conflict, engine_error, limit_error
from app.core.settings import Settings
from app.sessions.manager import Manager
from app.sessions.races import Race, Races
from engine.inspect import race_surface as rs

router = APIRouter(tags=["races"])
KEEP = 64  # planes kept: two vectors over θ each, ≤ 1 MB a race at the trajectory's size limit
_planes: OrderedDict[str, rs.Plane] = OrderedDict()


def _runs(race: Race, races: Races, manager: Manager, p: rs.Plane | None) -> list[dict[str, Any]]:
    """Each run on plane ``p`` (None: only the trainers' configs are read)."""
    sessions = races.sessions(race)
    base = sessions[0].config if sessions[0] is not None else race.config
    out = []
    for i, (run, s) in enumerate(zip(race.runs, sessions, strict=True)):
        row: dict[str, Any] = {"index": i, "name": run.name}
        if s is None:
            out.append({**row, "path": [], "steps": [], "current": None, "projected": False,
                        "same_surface": False, "differs": ["deleted"]})  # fmt: skip
            continue
        diff = rs.differs(base, s.config)
        row.update(same_surface=not diff, differs=diff)
        if p is not None:
            with s.lock:
                row.update(rs.run_path(p, manager.load(s)))
        out.append(row)
    return out


def first(race: Race, races: Races) -> Any:
    s = races.sessions(race)[0]
    if s is None:
        raise Conflict("run 0's session was deleted: the race has no surface", field="runs")
    return s


@router.get("/races/{race_id}/surface")
def race_surface(
    race: RaceDep,
    races: RacesDep,
    manager: ManagerDep,
    settings: SettingsDep,
    directions: Annotated[str, Query(pattern="^(weights|random|pca)$")] = "pca",
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    range_: Annotated[float | None, Query(alias="range", gt=0, le=1e4)] = None,
    resolution: Annotated[int, Query(ge=3, le=401)] = 41,
    weight: Annotated[
        list[str],
        Query(max_length=2, description="With directions=weights: two of layer:param:index"),
    ] = [],  # noqa: B006
) -> dict[str, Any]:
    """Run 0's loss on the plane through the common start θ₀ (chosen weights, seeded
    filter-normalised random, or PCA of all runs' trajectories), every run's path on it."""
    if resolution > settings.max_grid:
        raise limit_error("resolution", "max_grid", resolution, settings.max_grid)
    weights = [_parse_weight(w, i) for i, w in enumerate(weight)] if weight else None
    s0 = first(race, races)
    paths = []
    if directions == "pca":
        for s in races.live(race):
            with s.lock:
                t = manager.load(s)
                paths.append(t.trajectory.to_now(t.net.theta, t.iteration)[0])
    with s0.lock:
        t0 = manager.load(s0)
        _check_work(t0, resolution, settings)
        try:
            origin = rs.start_of(t0)
            paths = [q for q in paths if q.shape[1] == origin.shape[0]]
            plane = rs.plane(t0, origin, directions, seed=seed, weights=weights, paths=paths)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None
    runs = _runs(race, races, manager, plane)
    span = range_ or rs.default_span(directions, [r["path"] for r in runs])
    with s0.lock:
        t0 = manager.load(s0)
        grid = rs.grid(t0, plane, span, resolution)
    _keep(race.id, plane)
    middle = resolution // 2
    centre = grid["losses"][middle][middle] if resolution % 2 else None
    return {
        "surface_of": {"index": 0, "name": race.runs[0].name},
        "directions": plane.info,
        **grid,
        "centre_loss": centre,
        "runs": runs,
    }


@router.get("/races/{race_id}/surface/paths")
def race_surface_paths(race: RaceDep, races: RacesDep, manager: ManagerDep) -> dict[str, Any]:
    """Every run on the plane the last ``/surface`` of this race chose (409 before one)."""
    plane = _planes.get(race.id)
    if plane is None:
        raise Conflict("no surface yet: GET /races/{id}/surface first", field="directions")
    s0 = first(race, races)
    with s0.lock:
        try:
            origin = rs.start_of(manager.load(s0))
        except ValueError as exc:
            raise engine_error(exc) from None
    if not np.array_equal(origin, plane.origin):
        raise Conflict("the race was reset: compute the surface again", field="directions")
    return {"runs": _runs(race, races, manager, plane)}


def _check_work(t: Any, resolution: int, settings: Settings) -> None:
    work = resolution * resolution * t.n_train * t.n_params
    if work > settings.max_landscape_work:
        raise limit_error("resolution", "max_landscape_work", work, settings.max_landscape_work)


def _keep(race_id: str, plane: rs.Plane) -> None:
    _planes[race_id] = plane
    _planes.move_to_end(race_id)
    while len(_planes) > KEEP:
        _planes.popitem(last=False)
