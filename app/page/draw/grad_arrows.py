"""Gradient arrows on the loss-surface drawings (numbers from app/page/surface_arrows.py).

2-D: at the current point, one ``line.grad-arrow`` per gradient — the mini-batches' first
(``.batch``), the full batch's on top (``.full``) — each with a ``polygon.grad-head``. An arrow
is the step direction −g written in the slice's basis, c = (α, β) (``data-alpha``,
``data-beta``), times one factor m for all of them:

    tip = point + m·c,   m = FRACTION · plot width / max_k ‖c_k‖ (in pixels)

so the longest arrow spans ``FRACTION`` of the plot and the lengths compare. The caption says m;
the tips are where a plain SGD step with learning rate m would take the point, seen on this
plane (Δθ = −m·g, projected).

1-D: one short ``line.grad-tangent`` per mini-batch through the current point, with the slope
dL/dα = g_b·d₁ of that batch (``data-slope``), all ``HALF`` pixels either side: their spread of
angles is the noise, the curve's own tangent the full gradient.

Captions are English and Korean (the page is bilingual).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

from app.page.draw.palette import fmt
from app.page.i18n import t

FRACTION = 0.35
HEAD, HEAD_HALF_WIDTH = 8.0, 3.5  # arrowhead length and half width (px)
HALF = 34.0  # half length of a 1-D tangent segment (px)


class Arrow(NamedTuple):
    kind: str  # "full" or "batch"
    x1: str
    y1: str
    x2: str
    y2: str
    head: str  # the polygon's points ("" for an arrow too short for one)
    alpha: str  # the coefficients of −g (unscaled)
    beta: str
    cosine: str  # to the full gradient ("" for the full one)


class Tangent(NamedTuple):
    x1: str
    y1: str
    x2: str
    y2: str
    slope: str


def _head(x1: float, y1: float, x2: float, y2: float) -> str:
    dx, dy = x2 - x1, y2 - y1
    n = math.hypot(dx, dy)
    if n < HEAD:
        return ""
    ux, uy = dx / n, dy / n
    bx, by = x2 - HEAD * ux, y2 - HEAD * uy
    w = HEAD_HALF_WIDTH
    pts = ((x2, y2), (bx - w * uy, by + w * ux), (bx + w * uy, by - w * ux))
    return " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)


def arrows_2d(
    noise: dict[str, Any],
    px: Callable[[float], float],
    py: Callable[[float], float],
    point: tuple[float, float],
    width: float,
    drawn: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The arrows from ``point`` (α, β) with the plot's mapping ``px``, ``py`` (see the module
    docstring), the factor m, and the caption. ``drawn``: where the point is drawn, in pixels,
    when that is not where it maps (a point that wandered off the map is drawn at its edge):
    the arrows start at the point the learner sees."""
    ca, cb = point
    ox, oy = px(ca), py(cb)
    x0, y0 = drawn if drawn is not None else (ox, oy)
    kinds = [("batch", c, cos) for c, cos in zip(noise["batches"], noise["cosines"], strict=True)]
    kinds.append(("full", noise["full"], None))
    # pixels per unit of α and β (the window need not be square in units)
    sx, sy = px(ca + 1.0) - ox, py(cb + 1.0) - oy
    longest = max(
        (math.hypot(c[0] * sx, c[1] * sy) for _, c, _ in kinds if all(map(math.isfinite, c))),
        default=0.0,
    )
    m = FRACTION * width / longest if longest > 0 else 0.0
    arrows = []
    for kind, (a, b), cos in kinds:
        if not (math.isfinite(a) and math.isfinite(b)):
            continue
        x2, y2 = x0 + px(ca + m * a) - ox, y0 + py(cb + m * b) - oy
        arrows.append(
            Arrow(
                kind,
                f"{x0:.1f}",
                f"{y0:.1f}",
                f"{x2:.1f}",
                f"{y2:.1f}",
                _head(x0, y0, x2, y2),
                repr(float(a)),
                repr(float(b)),
                "" if cos is None or not math.isfinite(cos) else repr(float(cos)),
            )
        )
    return {"arrows": arrows, "scale": m, "caption": caption(noise, m)}


def tangents_1d(
    noise: dict[str, Any],
    px: Callable[[float], float],
    py: Callable[[float], float],
    point: tuple[float, float],
) -> dict[str, Any]:
    """One segment per mini-batch slope through ``point`` (α, loss), ``HALF`` px each side."""
    a, loss = point
    x0, y0 = px(a), py(loss)
    sx, sy = px(a + 1.0) - x0, py(loss + 1.0) - y0
    out = []
    for slope in noise["batches"]:
        if not math.isfinite(slope):
            continue
        dx, dy = sx, slope * sy  # a step of one unit of α along the tangent, in pixels
        n = math.hypot(dx, dy)
        ux, uy = dx / n * HALF, dy / n * HALF
        out.append(
            Tangent(
                f"{x0 - ux:.1f}",
                f"{y0 - uy:.1f}",
                f"{x0 + ux:.1f}",
                f"{y0 + uy:.1f}",
                repr(float(slope)),
            )
        )
    return {"tangents": out, "caption": caption(noise, None)}


def caption(noise: dict[str, Any], m: float | None) -> dict[str, str]:
    """What the arrows (m given) or the tangents show, and the angle and norm ratio, in the
    language of the render under way: ``text`` and ``badge`` (the short figures drawn beside
    the arrows)."""
    s = noise["summary"]
    k, size, n = noise["count"], noise["batch_size"], noise["n_train"]
    angle = s["mean_angle_degrees"]
    deg = "—" if angle is None or not math.isfinite(angle) else f"{angle:.0f}°"
    cos = f"cos {fmt(s['mean_cosine'], 3)} ± {fmt(s['std_cosine'], 2)}"
    ratio = f"{fmt(s['mean_norm_ratio'], 3)} ± {fmt(s['std_norm_ratio'], 2)}"
    share = noise.get("in_plane")
    plane = "—" if share is None or not math.isfinite(share) else f"{100 * share:.0f}%"
    if m is not None:
        text = t(
            "Arrows: −gradient, the direction a step goes, projected on this plane and scaled "
            "×%(m)s (a plain SGD step with learning rate %(m)s would end at the tips). Black: "
            "the full batch (%(n)s examples); blue: %(k)s mini-batches of %(size)s. The plane "
            "shows %(plane)s of the full gradient's length."
        )
    else:
        text = t(
            "Blue segments: the slope along this direction of %(k)s mini-batches of %(size)s; "
            "the orange tangent is the full batch's (%(n)s examples)."
        )
    text += " " + t(
        "Angle to the full gradient %(deg)s on average (%(cos)s); length ratio %(ratio)s. "
        "SGD is noisy: each mini-batch points a little elsewhere."
    )
    if noise["exact"]:
        text += " " + t(
            "Yet these batches cover the data once, and their size-weighted average is exactly "
            "the full gradient."
        )
    elif noise["cover"]:
        text += " " + t(
            "Batch norm or dropout makes each batch's gradient depend on the whole batch, so "
            "even their average differs a little from the full gradient."
        )
    else:
        text += " " + t(
            "Averaged over many batches they give the full gradient (an unbiased estimate)."
        )
    values = {
        "m": fmt(m, 3) if m is not None else "", "n": n, "k": k, "size": size,
        "plane": plane, "deg": deg, "cos": cos, "ratio": ratio,
    }  # fmt: skip
    text = text % values
    return {"text": text, "badge": f"∠ {deg} · ‖g_b‖/‖g‖ {fmt(s['mean_norm_ratio'], 3)}"}
