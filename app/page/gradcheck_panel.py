"""The page's gradient-check panel: ``GET /api/sessions/{id}/gradcheck.html``.

The "check gradients" button loads this fragment with htmx. It shows the very result
``GET /api/sessions/{id}/gradcheck`` returns (app/api/gradcheck.py keeps one per weights), so
every number on it is the API's: the overall verdict and the bands it uses, the cost (2N loss
evaluations against one backward pass, both timed, and their ratio), a summary per layer and
parameter, and the rows — every entry of a small net in parameter order, or the worst
:data:`WORST` of a larger one. Each row carries its exact numbers as ``data-*`` attributes.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, NamedTuple

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from app.api.deps import ManagerDep, SessionDep, SettingsDep
from app.api.gradcheck import DEFAULT_SAMPLE, checked
from app.page import i18n, ui_store
from app.page.draw.palette import fmt
from app.page.feed import feed_of
from app.page.templating import render_block

router = APIRouter(tags=["page"])

ALL_ROWS = 120  # nets with at most this many entries checked list them all
WORST = 40  # otherwise: the rows furthest from agreeing
SEVERITY = {"wrong": 4, "doubtful": 3, "good": 2, "within rounding": 1, "excellent": 0}


class Row(NamedTuple):
    name: str  # W₁[0,1] style: layer from 1, the output layer "out"
    backprop: str
    numerical: str
    relative_error: str
    verdict: str
    exact: str  # JSON of the API's entry (layer, param, index, numbers with every digit)


def entry_name(entry: dict[str, Any], n_layers: int) -> str:
    layer = "out" if entry["layer"] == n_layers - 1 else str(entry["layer"] + 1)
    index = ",".join(str(i) for i in entry["index"])
    return f"{entry['param']}{layer}[{index}]"


def panel_context(result: dict[str, Any]) -> dict[str, Any]:
    """What ``regions/gradcheck.html`` writes, from a :func:`checked` result."""
    entries = result["entries"]
    n_layers = 1 + max((e["layer"] for e in result["layers"]), default=0)
    if len(entries) <= ALL_ROWS:
        shown, order = entries, "all"
    else:
        ranked = sorted(
            entries, key=lambda e: (SEVERITY[e["verdict"]], e["relative_error"]), reverse=True
        )
        shown, order = ranked[:WORST], "worst"
    rows = [
        Row(
            entry_name(e, n_layers),
            fmt(e["backprop"], 6),
            fmt(e["numerical"], 6),
            fmt(e["relative_error"], 2),
            e["verdict"],
            json.dumps(e),
        )
        for e in shown
    ]
    layers = [
        {
            "name": "output" if g["layer"] == n_layers - 1 else f"layer {g['layer'] + 1}",
            "param": g["param"],
            "checked": g["checked"],
            "norm": fmt(g["backprop_norm"], 3),
            "rel": fmt(g["relative_error"], 2),
            "max_rel": fmt(g["max_relative_error"], 2),
            "verdict": g["verdict"],
        }
        for g in result["layers"]
    ]
    ratio = result.get("time_ratio")
    return {
        "r": result,
        "rows": rows,
        "order": order,
        "layers": layers,
        "overall": fmt(result["relative_error"], 2),
        "floor": fmt(result["noise_floor"], 2),
        "eps": fmt(result["eps"], 2),
        "backprop_ms": fmt(1000 * result["backprop_seconds"], 3),
        "numerical_ms": fmt(1000 * result["numerical_seconds"], 4),
        "ratio": fmt(ratio, 3) if ratio is not None else "—",
        "counts": [(v, n) for v, n in result["counts"].items() if n],
    }


@router.get("/sessions/{session_id}/gradcheck.html", response_class=HTMLResponse)
def gradcheck_html(
    request: Request,
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    sample: Annotated[int, Query(ge=1)] = DEFAULT_SAMPLE,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
) -> HTMLResponse:
    """The gradient-check panel (the JSON of ``/gradcheck`` with the same query, drawn), in
    the page's language (``?lang=``, else the ``lang`` cookie, else ``Accept-Language``)."""
    result = checked(session, manager, settings, 1e-5, sample, seed)
    # a lesson's facts read the page's last check (app/lessons/facts.py), of these weights
    ui = feed_of(session).ui
    ui.gradients_checked = (session.generation, int(result["step"]), result)
    ui_store.save(manager, session, ui)  # web replicas: a lesson's fact wherever it is shown
    session.hub.wake()
    with i18n.using(i18n.request_lang(request)):
        return HTMLResponse(render_block("gradcheck", {"gc": panel_context(result)}))
