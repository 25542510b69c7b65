"""The race page's loss-surface map: ``GET /api/races/{id}/surface.html`` (templates/
race_surface.html, app/page/draw/race_surface.py), the same numbers as the JSON route
``/api/races/{id}/surface`` (app/api/race_surface.py) drawn, in the runs' colours.

With ``directions=weights`` and no ``weight``, the map moves the first two weights of the first
layer (the page's select offers no weight picker).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.api import race_surface as api
from app.api.deps import ManagerDep, OwnerDep, SettingsDep
from app.api.races import RacesDep
from app.page import i18n, templating
from app.page.draw import race_surface as draw
from app.page.race_view import COLOURS, TEXT

router = APIRouter(tags=["pages"], include_in_schema=False)


@router.get("/api/races/{race_id}/surface.html", response_class=HTMLResponse)
def surface_html(
    request: Request,
    race_id: str,
    owner: OwnerDep,
    races: RacesDep,
    manager: ManagerDep,
    settings: SettingsDep,
    directions: Annotated[str, Query(pattern="^(weights|random|pca)$")] = "pca",
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    resolution: Annotated[int, Query(ge=3, le=401)] = 41,
) -> HTMLResponse:
    """The map: contours of run 0's loss, every run's path and point, the legend."""
    race = races.get(race_id, owner)
    weight: list[str] = []
    if directions == "weights":
        s0 = api.first(race, races)
        with s0.lock:
            shape = manager.load(s0).net.layers[0].params[0].shape  # W₀: (inputs, units)
        weight = ["0:W:0,0", "0:W:0,1" if shape[1] > 1 else "0:W:1,0"]
    body = api.race_surface(
        race, races, manager, settings, directions, seed, None, resolution, weight
    )
    with i18n.using(i18n.request_lang(request)):  # the axes' words
        context = draw.context(body, COLOURS, TEXT)
    return templating.page(request, "race_surface.html", context)
