"""Loss-surface drawings from a landscape slice (``engine.inspect.landscape``) as SVG text.

* 1-D: ``svg#surface-1d`` with the loss curve ``path.curve`` along α, the tangent at the current
  point ``line.tangent`` (slope dL/dα from backprop), and ``circle.current-point``.
* 2-D: ``svg#surface-2d`` with iso-loss lines ``path.contour`` computed by contourpy (levels
  spaced evenly in log-loss, where a bowl's rings are evenly spaced), the optimizer's path
  projected on the plane ``polyline.trajectory`` and ``circle.current-point`` at (0, 0).
"""

from __future__ import annotations

import math
from typing import Any

import contourpy
import numpy as np

from app.page.draw.palette import fmt

SIZE = 300
M = 28
LEVELS = 14
# a sequential, colour-blind-safe ramp (low loss dark blue → high loss yellow, viridis ends)
RAMP = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))


def _ramp(t: float) -> str:
    t = min(max(t, 0.0), 1.0) * (len(RAMP) - 1)
    i = min(int(t), len(RAMP) - 2)
    f = t - i
    c = [round(RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f) for k in range(3)]
    return "#{:02x}{:02x}{:02x}".format(*c)


def _axis_label(result: dict[str, Any], axis: int) -> str:
    if result.get("directions") == "weights":
        w = result.get("weights", [{}, {}])[axis]
        index = ",".join(str(i) for i in w.get("index", []))
        return f"Δ w[{w.get('layer')}].{w.get('param')}[{index}]"
    names = {"random": "random direction", "pca": "PCA direction"}
    return f"{names.get(result.get('directions', ''), 'direction')} {axis + 1}"


def surface_1d(result: dict[str, Any]) -> str:
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

    out = [
        f'<svg id="surface-1d" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" '
        f'data-slope="{fmt(cur.get("slope"), 6)}" data-loss="{cur["loss"]:.6g}">'
    ]
    out.append(
        f'<rect class="plot" x="{M}" y="{M}" width="{SIZE - 2 * M}" height="{SIZE - 2 * M}"/>'
    )
    d, pen = [], "M"
    for a, v in zip(alphas, losses, strict=False):
        if v is None:
            pen = "M"
            continue
        d.append(f"{pen}{px(a):.1f},{py(v):.1f}")
        pen = "L"
    out.append(f'<path class="curve" d="{" ".join(d)}"/>')
    out.append(_frame())
    slope = cur.get("slope")
    if slope is not None and math.isfinite(slope):
        half = (a1 - a0) / 6
        xa, xb = -half, half
        ya, yb = cur["loss"] + slope * xa, cur["loss"] + slope * xb
        out.append(
            f'<line class="tangent" x1="{px(xa):.1f}" y1="{py(ya):.1f}" '
            f'x2="{px(xb):.1f}" y2="{py(yb):.1f}"/>'
        )
    out.append(
        f'<circle class="current-point" cx="{px(0.0):.1f}" cy="{py(cur["loss"]):.1f}" r="5"/>'
    )
    out.append(f'<text class="axis" x="{SIZE / 2}" y="{SIZE - 8}">{_axis_label(result, 0)}</text>')
    out.append(f'<text class="axis y" x="4" y="{M - 8}">loss {fmt(hi, 3)}</text>')
    out.append(f'<text class="axis y" x="4" y="{SIZE - M + 14}">{fmt(lo, 3)}</text>')
    out.append(
        f'<text class="note" x="{SIZE - M}" y="{M + 14}">slope dL/dw = {fmt(slope, 4)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def surface_2d(result: dict[str, Any]) -> str:
    alphas = np.asarray(result["alphas"], dtype=np.float64)
    betas = np.asarray(result["betas"], dtype=np.float64)
    grid = np.array(
        [[np.nan if v is None else v for v in row] for row in result["losses"]], dtype=np.float64
    )
    a0, a1, b0, b1 = alphas[0], alphas[-1], betas[0], betas[-1]

    def px(a: float) -> float:
        return M + (SIZE - 2 * M) * (a - a0) / (a1 - a0)

    def py(b: float) -> float:
        return SIZE - M - (SIZE - 2 * M) * (b - b0) / (b1 - b0)

    out = [
        f'<svg id="surface-2d" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}">',
        f'<rect class="plot" x="{M}" y="{M}" width="{SIZE - 2 * M}" height="{SIZE - 2 * M}"/>',
    ]
    finite = grid[np.isfinite(grid)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        levels = _levels(lo, hi)
        gen = contourpy.contour_generator(x=alphas, y=betas, z=np.ma.masked_invalid(grid))
        for i, level in enumerate(levels):
            colour = _ramp(i / max(len(levels) - 1, 1))
            for line in gen.lines(level):
                pts = np.asarray(line)
                if len(pts) < 2:
                    continue
                d = "M" + " L".join(f"{px(a):.1f},{py(b):.1f}" for a, b in pts)
                out.append(
                    f'<path class="contour" data-level="{level:.4g}" d="{d}" stroke="{colour}"/>'
                )
    out.append(_frame())  # over the contours' ends, so all four sides show
    cur = result.get("current") or {}
    ca, cb = float(cur.get("alpha", 0.0)), float(cur.get("beta", 0.0))
    path = [p for p in result.get("path") or [] if p and None not in p]
    if not path or (abs(path[-1][0] - ca) + abs(path[-1][1] - cb)) > 1e-12:
        path.append([ca, cb])  # the trail ends where the point is
    if len(path) >= 2:
        marks = [f"{_clip(px(a)):.1f},{_clip(py(b)):.1f}" for a, b in path]
        trail = " ".join(p for k, p in enumerate(marks) if k == 0 or p != marks[k - 1])
        out.append(f'<polyline class="trajectory" points="{trail}"/>')
    out.append(
        f'<circle class="current-point" cx="{_clip(px(ca)):.1f}" cy="{_clip(py(cb)):.1f}" r="5"/>'
    )
    out.append(f'<text class="axis" x="{SIZE / 2}" y="{SIZE - 8}">{_axis_label(result, 0)}</text>')
    out.append(
        f'<text class="axis vertical" x="12" y="{SIZE / 2}" '
        f'transform="rotate(-90 12 {SIZE / 2})">{_axis_label(result, 1)}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _frame() -> str:
    """The plot's border, drawn over what runs up to it."""
    return f'<rect class="frame" x="{M}" y="{M}" width="{SIZE - 2 * M}" height="{SIZE - 2 * M}"/>'


def _clip(v: float) -> float:
    """Keep a point of the path inside the plot (it may wander off a map centred earlier)."""
    return min(max(v, M), SIZE - M) if math.isfinite(v) else SIZE / 2


def _levels(lo: float, hi: float) -> list[float]:
    """Contour levels between lo and hi: even in log(loss − lo + ε) so the basin shows."""
    if hi - lo < 1e-12:
        return [lo]
    eps = (hi - lo) * 1e-3
    ts = np.linspace(math.log(eps), math.log(hi - lo + eps), LEVELS + 2)[1:-1]
    return [lo - eps + math.exp(t) for t in ts]
