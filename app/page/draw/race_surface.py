"""The race's loss-surface map (``GET /api/races/{id}/surface.html``) as SVG text.

One ``svg#race-surface-map``: run 0's iso-loss lines on the plane through the common start
(app/api/race_surface.py's answer), drawn with app/page/draw/loss_surface.py's window, contours
and polylines; then per run a ``polyline.race-path`` in its Okabe–Ito colour (dashed when it
trains on another surface) and a ``circle.race-point`` at its current (α, β), which carry
``data-run``, ``data-alpha`` and ``data-beta`` (the answer's numbers, as Python writes them, so
a reader gets the same floats back). The ``svg`` carries its window (``data-a0`` … ``data-b1``,
``data-m``, ``data-size``) so static/race_surface.js redraws the paths from
``/surface/paths`` without the grid. ``templates/race_surface.html`` writes it.
"""

from __future__ import annotations

from typing import Any

from app.page.draw.charts import Label
from app.page.draw.loss_surface import PLOT, SIZE, M, axis_label, clip, contour_lines, scales, trail
from app.page.draw.palette import fmt


def context(body: dict[str, Any], colours: list[str], texts: list[str]) -> dict[str, Any]:
    """The template's data for a ``/races/{id}/surface`` answer ``body``; run i is drawn in
    ``colours[i % len]`` and named in ``texts[i % len]`` (its darker shade for text)."""
    alphas, betas = body["alphas"], body["betas"]
    px, py = scales(alphas, betas)
    runs = []
    for run in body["runs"]:
        i = run["index"]
        cur = run.get("current")
        point = None
        if cur is not None and None not in cur:
            point = {
                "cx": f"{clip(px(cur[0])):.1f}",
                "cy": f"{clip(py(cur[1])):.1f}",
                "alpha": repr(float(cur[0])),
                "beta": repr(float(cur[1])),
            }
        runs.append(
            {
                "index": i,
                "name": run["name"],
                "colour": colours[i % len(colours)],
                "text": texts[i % len(texts)],
                "trail": trail(run.get("path") or [], px, py),
                "point": point,
                "same_surface": run.get("same_surface", False),
                "differs": ", ".join(run.get("differs") or []),
                "projected": run.get("projected", False),
            }
        )
    info = body["directions"]
    explained = info.get("explained_variance")
    middle = SIZE / 2
    return {
        "size": SIZE,
        "plot": PLOT,
        "m": M,
        "window": {"a0": alphas[0], "a1": alphas[-1], "b0": betas[0], "b1": betas[-1]},
        "contours": contour_lines(alphas, betas, body["losses"], px, py),
        "runs": runs,
        "surface_of": body["surface_of"]["name"],
        "mode": info.get("directions"),
        "explained": [f"{100 * v:.0f}%" for v in explained] if explained else None,
        "low": fmt(body.get("min"), 3),
        "high": fmt(body.get("max"), 3),
        "axis": [
            Label("axis", middle, SIZE - 8, axis_label(info, 0)),
            Label("axis vertical", 12, middle, axis_label(info, 1), f"rotate(-90 12 {middle})"),
        ],
    }
