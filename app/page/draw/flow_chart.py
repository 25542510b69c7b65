"""The gradient-flow chart: each layer's ‖dL/dW‖ over training on a log scale, and saturation.

Reads the flow the step records with metrics carry (engine/inspect/flow.py: ``grad_norm`` and
``saturation`` per layer, layer 1 first, the output last), as :class:`charts.Curves` keeps them
beside its steps (thinned with them). Draws one polyline per layer over a log₁₀ y axis — the
vanishing-gradient picture is the first layer's line orders of magnitude below the output's —
and one bar per layer for the latest saturation share. The latest values go on the markup as
``data-*`` attributes (JSON with every digit), so a test reads the numbers the page was given.

Written by ``templates/regions/grad_flow.html``; computed here.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from app.page.draw.charts import Box, Curves, Label
from app.page.draw.palette import fmt
from app.page.i18n import t

# layer 1 … layer 8, then the output layer (Okabe-Ito first: told apart by most readers)
COLOURS = ("#e69f00", "#d55e00", "#cc79a7", "#0072b2", "#56b4e9", "#009e73", "#999933",
           "#882255")  # fmt: skip
OUTPUT_COLOUR = "#222222"
FLOOR = 1e-300  # a norm of exactly 0 has no logarithm: drawn at the bottom instead


class Line(NamedTuple):
    """One layer: its name, colour, polyline points, latest value (text) and end label."""

    name: str
    short: str  # written at the line's end: L1 … out
    colour: str
    points: str
    latest: str
    label_xy: tuple[str, str] | None  # where the line's name is written, at its last point


class Bar(NamedTuple):
    name: str
    colour: str
    width: str  # of the bar, in the bar box's units (share × its width)
    share: str  # the share as a percentage, or "—"


@dataclass
class FlowChart:
    """Everything ``regions/grad_flow.html`` writes."""

    width: int = 380
    height: int = 170
    plot: Box = Box(46, 8, 300, 142)
    empty: bool = True
    lines: list[Line] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    grid: list[str] = field(default_factory=list)  # y of each power of ten drawn
    step: int | None = None
    grad_norm_json: str = "[]"  # the latest record's values, exact (data-* attributes)
    saturation_json: str = "[]"


def layer_names(n: int) -> list[str]:
    return [f"layer {i + 1}" for i in range(n - 1)] + ["output"]


def colour(i: int, n: int) -> str:
    return OUTPUT_COLOUR if i == n - 1 else COLOURS[i % len(COLOURS)]


def flow_chart(curves: Curves, size: tuple[int, int] = (380, 170)) -> FlowChart:
    """The chart of ``curves``' flow records (see the module docstring)."""
    w, h = size
    left, right, top, bottom = 46, 40, 8, 20  # room on the right for the lines' names
    rows = [(s, f) for s, f in zip(curves.steps, curves.flow, strict=False) if f]
    chart = FlowChart(w, h, Box(left, top, w - left - right, h - top - bottom))
    if not rows:
        return chart
    step, latest = rows[-1]
    n = len(latest["grad_norm"])
    rows = [(s, f) for s, f in rows if len(f["grad_norm"]) == n]  # one architecture
    chart.step = step
    chart.grad_norm_json = json.dumps(latest["grad_norm"])
    chart.saturation_json = json.dumps(latest["saturation"])
    names = layer_names(n)
    vals = [v for _, f in rows for v in f["grad_norm"] if v is not None and v > 0]
    if vals:
        tlo = math.floor(math.log10(min(vals)))
        thi = math.ceil(math.log10(max(vals)))
        if thi - tlo < 1:
            tlo, thi = tlo - 1, thi + 1
        widest = max(len(f"1e{k}") for k in (tlo, thi))
        left = max(34, 6 + math.ceil(6.2 * widest))
        pw, ph = w - left - right, h - top - bottom
        chart.plot = Box(left, top, pw, ph)
        s0, s1 = rows[0][0], max(rows[-1][0], rows[0][0] + 1)

        def px(s: int) -> str:
            return f"{left + pw * (s - s0) / (s1 - s0):.1f}"

        def py(v: float) -> str:
            t = math.log10(max(v, FLOOR))
            return f"{top + ph * (1 - (max(t, tlo) - tlo) / (thi - tlo)):.1f}"

        chart.empty = False
        for i in range(n):
            pts = [
                f"{px(s)},{py(f['grad_norm'][i])}"
                for s, f in rows
                if f["grad_norm"][i] is not None
            ]
            end = tuple(pts[-1].split(",")) if pts else None
            label_xy = (f"{float(end[0]) + 3:.1f}", end[1]) if end else None
            value = latest["grad_norm"][i]
            chart.lines.append(
                Line(
                    names[i],
                    t("out") if i == n - 1 else f"L{i + 1}",
                    colour(i, n),
                    " ".join(pts),
                    fmt(value, 3),
                    label_xy,
                )
            )
        _spread(chart.lines)
        # a line and a label per power of ten (every other one past 8): orders of magnitude
        # are the lesson
        every = 1 if thi - tlo <= 8 else 2
        chart.labels = [Label("axis x", left, h - 4, str(s0))]
        chart.labels.append(Label("axis x end", left + pw, h - 4, t("step %(n)s") % {"n": s1}))
        for k in range(thi, tlo - 1, -every):
            y = py(10.0**k)
            chart.grid.append(y)
            chart.labels.append(Label("axis", left - 4, f"{float(y) + 3:.1f}", f"1e{k}"))
    for i, share in enumerate(latest["saturation"]):
        if share is None:
            continue  # the output layer under a loss on logits: f′ is not on its path
        chart.bars.append(
            Bar(names[i], colour(i, n), f"{100 * share:.1f}", f"{100 * share:.0f} %")
        )
    return chart


def _spread(lines: list[Line], gap: float = 9.0) -> None:
    """Move the lines' end labels apart vertically (at least ``gap`` units), in their order:
    lines that end close together would otherwise write their names over each other."""
    placed = sorted(
        (float(ln.label_xy[1]), i) for i, ln in enumerate(lines) if ln.label_xy is not None
    )
    ys = [y for y, _ in placed]
    for k in range(1, len(ys)):
        ys[k] = max(ys[k], ys[k - 1] + gap)
    for (_, i), y in zip(placed, ys, strict=True):
        ln = lines[i]
        assert ln.label_xy is not None
        lines[i] = ln._replace(label_xy=(ln.label_xy[0], f"{y + 3:.1f}"))


def flow_data(curves: Curves) -> dict[str, Any]:
    """The region's context: the chart (``regions.grad_flow``)."""
    return {"chart": flow_chart(curves)}
