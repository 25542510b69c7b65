"""Loss-surface drawings from a landscape slice (``engine.inspect.landscape``) as SVG text.

* 1-D: ``svg#surface-1d`` with the loss curve ``path.curve`` along α, the tangent at the current
  point ``line.tangent`` (slope dL/dα from backprop), and ``circle.current-point``.
* 2-D: ``svg#surface-2d`` with iso-loss lines ``path.contour`` computed by contourpy (levels
  spaced evenly in log-loss, where a bowl's rings are evenly spaced), the optimizer's path
  projected on the plane ``polyline.trajectory`` and ``circle.current-point`` at (0, 0).
* Either, when ``result["arrows"]`` holds the gradients at the current point
  (app/page/surface_arrows.py): the full-batch and mini-batch gradients as arrows (2-D) or
  tangent segments (1-D), drawn by :mod:`app.page.draw.grad_arrows`.

This module computes the curves, contours and points; ``templates/regions/surface_1d.html``
and ``surface_2d.html`` write them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import contourpy
import numpy as np

from app.core.errors import engine_error
from app.page import i18n, script_words, templating
from app.page.draw import grad_arrows
from app.page.draw.charts import Box, Label
from app.page.draw.palette import fmt
from app.page.i18n import N_, t

SIZE = 300
M = 28
LEVELS = 14
PLOT = Box(M, M, SIZE - 2 * M, SIZE - 2 * M)
# a sequential, colour-blind-safe ramp (low loss dark blue → high loss yellow, viridis ends)
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def _ramp(t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    c = [round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f) for k in range(3)]
    return "#{:02x}{:02x}{:02x}".format(*c)


def axis_label(result: dict[str, Any], axis: int) -> str:
    if result.get("directions") == "weights":
        w = result.get("weights", [{}, {}])[axis]
        index = ",".join(str(i) for i in w.get("index", []))
        return f"Δ w[{w.get('layer')}].{w.get('param')}[{index}]"
    names = {"random": N_("random direction %(n)s"), "pca": N_("PCA direction %(n)s")}
    return t(names.get(result.get("directions", ""), N_("direction %(n)s"))) % {"n": axis + 1}


def surface_1d(result: dict[str, Any]) -> str:
    """``svg#surface-1d`` of a 1-D slice (markup; ``templates/regions/surface_1d.html``)."""
    alphas = [float(a) for a in result["alphas"]]
    losses = [v if v is not None and math.isfinite(v) else None for v in result["losses"]]
    cur = result["current"]
    finite = [v for v in losses if v is not None] + [cur["loss"]]
    lo, hi = min(finite), max(finite)
    scale = max(1.0, abs(lo), abs(hi))
    if not hi - lo > 1e-12 * scale:  # flat (relatively: at 1e100, lo ± 0.5 is lo again)
        lo, hi = lo - 0.5 * scale, hi + 0.5 * scale
    a0, a1 = alphas[0], alphas[-1]

    def px(a: float) -> float:
        return M + (SIZE - 2 * M) * (a - a0) / (a1 - a0)

    def py(v: float) -> float:
        return SIZE - M - (SIZE - 2 * M) * (v - lo) / (hi - lo)

    d, pen = [], "M"
    for a, v in zip(alphas, losses, strict=False):
        if v is None:
            pen = "M"
            continue
        d.append(f"{pen}{px(a):.1f},{py(v):.1f}")
        pen = "L"
    slope = cur.get("slope")
    tangent = None
    if slope is not None and math.isfinite(slope):
        half = (a1 - a0) / 6
        xa, xb = -half, half
        ya, yb = cur["loss"] + slope * xa, cur["loss"] + slope * xb
        tangent = (f"{px(xa):.1f}", f"{py(ya):.1f}", f"{px(xb):.1f}", f"{py(yb):.1f}")
    context = {
        "grads": _grads(result, lambda n: grad_arrows.tangents_1d(n, px, py, (0.0, cur["loss"]))),
        "size": SIZE,
        "plot": PLOT,
        "slope": fmt(slope, 6),
        "loss": f"{cur['loss']:.6g}",
        "curve": " ".join(d),
        "tangent": tangent,
        "point": (f"{px(0.0):.1f}", f"{py(cur['loss']):.1f}"),
        "axis": [
            Label("axis", SIZE / 2, SIZE - 8, axis_label(result, 0)),
            Label("axis y", 4, M - 8, t("loss %(value)s") % {"value": fmt(hi, 3)}),
            Label("axis y", 4, SIZE - M + 14, fmt(lo, 3)),
            Label("note", SIZE - M, M + 14, f"slope dL/dw = {fmt(slope, 4)}"),
        ],
    }
    return templating.region("surface_1d", context)


class Contour(NamedTuple):
    level: str
    d: str  # the path: "M x,y L x,y …"
    colour: str


def scales(alphas: Any, betas: Any) -> tuple[Callable[[float], float], Callable[[float], float]]:
    """Pixel x of α and y of β on the plot (β up), for a window from its grid's ends."""
    a0, a1, b0, b1 = float(alphas[0]), float(alphas[-1]), float(betas[0]), float(betas[-1])

    def px(a: float) -> float:
        return M + (SIZE - 2 * M) * (a - a0) / (a1 - a0)

    def py(b: float) -> float:
        return SIZE - M - (SIZE - 2 * M) * (b - b0) / (b1 - b0)

    return px, py


def contour_lines(
    alphas: Any, betas: Any, losses: Any, px: Callable[[float], float], py: Callable[[float], float]
) -> list[Contour]:
    """Iso-loss lines of the grid ``losses`` (rows β, columns α; None where not finite), at
    :func:`_levels`, coloured low → high along :data:`RAMP`."""
    grid = np.array([[np.nan if v is None else v for v in row] for row in losses], dtype=np.float64)
    contours: list[Contour] = []
    finite = grid[np.isfinite(grid)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        levels = _levels(lo, hi)
        gen = contourpy.contour_generator(
            x=np.asarray(alphas, dtype=np.float64),
            y=np.asarray(betas, dtype=np.float64),
            z=np.ma.masked_invalid(grid),
        )
        for i, level in enumerate(levels):
            colour = _ramp(i / max(len(levels) - 1, 1))
            for line in gen.lines(level):
                pts = np.asarray(line)
                if len(pts) < 2:
                    continue
                d = "M" + " L".join(f"{px(a):.1f},{py(b):.1f}" for a, b in pts)
                contours.append(Contour(f"{level:.4g}", d, colour))
    return contours


def trail(path: list[Any], px: Callable[[float], float], py: Callable[[float], float]) -> str:
    """A polyline's ``points`` for the (α, β) rows of ``path`` (rows with None left out), kept
    inside the plot, repeated pixels dropped; "" when fewer than two are left."""
    path = [p for p in path if p and None not in p]
    if len(path) < 2:
        return ""
    marks = [f"{clip(px(a)):.1f},{clip(py(b)):.1f}" for a, b in path]
    return " ".join(p for k, p in enumerate(marks) if k == 0 or p != marks[k - 1])


def surface_2d(result: dict[str, Any]) -> str:
    """``svg#surface-2d`` of a 2-D slice (markup; ``templates/regions/surface_2d.html``)."""
    px, py = scales(result["alphas"], result["betas"])
    contours = contour_lines(result["alphas"], result["betas"], result["losses"], px, py)
    cur = result.get("current") or {}
    ca, cb = float(cur.get("alpha", 0.0)), float(cur.get("beta", 0.0))
    path = [p for p in result.get("path") or [] if p and None not in p]
    if not path or (abs(path[-1][0] - ca) + abs(path[-1][1] - cb)) > 1e-12:
        path.append([ca, cb])  # the trail ends where the point is
    middle = SIZE / 2
    width = SIZE - 2 * M
    context = {
        "grads": _grads(
            result,
            lambda n: grad_arrows.arrows_2d(
                n, px, py, (ca, cb), width, (clip(px(ca)), clip(py(cb)))
            ),
        ),
        "size": SIZE,
        "plot": PLOT,
        "contours": contours,
        "trail": trail(path, px, py),
        "point": (f"{clip(px(ca)):.1f}", f"{clip(py(cb)):.1f}"),
        "axis": [
            Label("axis", middle, SIZE - 8, axis_label(result, 0)),
            Label("axis vertical", 12, middle, axis_label(result, 1), f"rotate(-90 12 {middle})"),
        ],
    }
    return templating.region("surface_2d", context)


def _grads(result: dict[str, Any], draw: Any) -> dict[str, Any] | None:
    """The gradients' drawing (``draw(numbers)``), their error in words, or None."""
    noise = result.get("arrows")
    if not noise:
        return None
    if "error" in noise:
        return {"error": noise["error"]}
    return dict(draw(noise))


def region(drawing: str, note: str) -> str:
    """The surface region: a drawing of :func:`surface_1d` or :func:`surface_2d` and its note
    (markup, ``templates/regions/surface.html``)."""
    return templating.region("surface", {"drawing": drawing, "note": note})


def failed(error: Exception | str) -> str:
    """The surface region when the slice could not be computed: the engine's words."""
    if isinstance(error, Exception):  # the engine's English, said in the page's language
        error = script_words.error_text(engine_error(error).body, i18n.CURRENT.get())
    return templating.region("surface", {"error": error})


def clip(v: float) -> float:
    """Keep a point of the path inside the plot (it may wander off a map centred earlier)."""
    return min(max(v, M), SIZE - M) if math.isfinite(v) else SIZE / 2


def _levels(lo: float, hi: float) -> list[float]:
    """Contour levels between lo and hi: even in log(loss − lo + ε) so the basin shows."""
    if hi - lo < 1e-12:
        return [lo]
    eps = (hi - lo) * 1e-3
    ts = np.linspace(math.log(eps), math.log(hi - lo + eps), LEVELS + 2)[1:-1]
    return [lo - eps + math.exp(t) for t in ts]
