"""Charts as SVG text: loss/accuracy curves, the data points, predicted-vs-true.

Curves are polylines over at most a few hundred points (:class:`Curves` halves its resolution
when it fills up), so a chart stays a few kilobytes however long the run. Non-finite losses
never reach the text: they are skipped.

This module computes the charts (positions, the polylines' point lists, labels as text); the
templates write them: ``macros/charts.html`` (a line chart, predicted-vs-true),
``macros/axes.html`` and ``regions/points.html``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from app.page import templating
from app.page.draw.palette import class_colour, diverging, fmt
from app.page.i18n import t
from engine.numbers import finite

SPLITS = ("train", "val", "test")
CAP = 400
CHART_BOUND = 1e300  # metrics give a non-finite loss as 1e308 (engine readouts): not drawn
AXIS_CHAR = 6.2  # widest advance of a digit, sign or "e" at the axis font (10 px), a bit over


@dataclass
class Curves:
    """Metric history of one generation, thinned evenly: (step, split → loss / accuracy)."""

    steps: list[int] = field(default_factory=list)
    loss: dict[str, list[float | None]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    acc: dict[str, list[float | None]] = field(default_factory=lambda: {s: [] for s in SPLITS})
    marks: list[tuple[int, str]] = field(default_factory=list)  # (step, what changed)
    # per step: the record's gradient flow (engine/inspect/flow.py; None on a closing point),
    # drawn by app/page/draw/flow_chart.py
    flow: list[dict[str, Any] | None] = field(default_factory=list)
    # the latest metrics row's per-split entries (accuracy, F1, MAE, RMSE, R², confusion…),
    # drawn by regions/scores.html: only the last one is kept
    latest: dict[str, Any] = field(default_factory=dict)
    stride: int = 1
    _seen: int = 0

    def add(self, record: dict[str, Any], keep: bool = False) -> None:
        """Take a step record that carries ``metrics`` (others are ignored); ``keep``: even
        where thinning would skip it (the point the curves end on)."""
        m = record.get("metrics")
        if not m:
            return
        self._seen += 1
        self.latest = m
        if self._seen % self.stride and not keep:
            return
        self.steps.append(int(record["step"]))
        self.flow.append(record.get("flow"))
        for s in SPLITS:
            entry = m.get(s) or {}
            self.loss[s].append(finite(entry.get("loss"), CHART_BOUND))
            self.acc[s].append(finite(entry.get("accuracy"), CHART_BOUND))
        if len(self.steps) > CAP:
            self.steps = self.steps[::2]
            self.flow = self.flow[::2]
            for s in SPLITS:
                self.loss[s] = self.loss[s][::2]
                self.acc[s] = self.acc[s][::2]
            self.stride *= 2

    def last(self, split: str, what: str = "loss") -> float | None:
        series = (self.loss if what == "loss" else self.acc)[split]
        return next((v for v in reversed(series) if v is not None), None)


class Box(NamedTuple):
    """A rectangle: the plot area, its frame."""

    x: float
    y: float
    width: float
    height: float


class Label(NamedTuple):
    """An axis label: ``<text class=cls x y>text</text>``."""

    cls: str
    x: float | str
    y: float | str
    text: str
    transform: str = ""


class Mark(NamedTuple):
    """A hyper-parameter change on the curves: a vertical line at ``step``, with its words."""

    step: int
    x: str
    label: str  # the whole change, as the line's title
    short: str  # the first words, written beside it ("" writes none)
    label_x: str
    label_y: int  # staggered, so neighbouring labels do not overlap


class Series(NamedTuple):
    name: str
    points: str  # "x,y x,y …"
    last: tuple[str, str] | None  # the latest point, drawn as a dot


@dataclass
class Chart:
    """Everything ``macros/charts.html``'s line chart writes."""

    chart_id: str
    width: int
    height: int
    plot: Box
    empty: bool  # nothing to draw yet: the box, "no data yet" and empty polylines
    series: list[Series]
    marks: list[Mark] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)


def line_chart(
    chart_id: str,
    steps: list[int],
    series: dict[str, list[float | None]],
    log: bool,
    marks: list[tuple[int, str]],
    fixed: tuple[float, float] | None = None,
    size: tuple[int, int] = (380, 170),
) -> str:
    """``<svg id=chart_id>`` with one ``polyline.curve-<name>`` per series (markup): the
    :class:`Chart` computed here, written by ``macros/charts.html``."""
    w, h = size
    left, right, top, bottom = 46, 8, 8, 20
    vals = [v for s in series.values() for v in s if v is not None and (not log or v > 0)]
    if not steps or not vals:
        plot = Box(left, top, w - left - right, h - top - bottom)
        chart = Chart(chart_id, w, h, plot, True, [Series(name, "", None) for name in series])
        return _draw(chart)
    lo, hi = fixed if fixed else (min(vals), max(vals))
    tlo, thi = (math.log10(max(lo, 1e-12)), math.log10(max(hi, 1e-12))) if log else (lo, hi)
    if thi - tlo < 1e-12:
        tlo, thi = tlo - 0.5, thi + 0.5
    hi_label, lo_label = (10**thi, 10**tlo) if log else (thi, tlo)
    labels = fmt(hi_label, 3), fmt(lo_label, 3)
    # the y labels end 4 units left of the plot: widen the margin for long ones (3.30e+176)
    left = max(left, 6 + math.ceil(AXIS_CHAR * max(len(t) for t in labels)))
    pw, ph = w - left - right, h - top - bottom
    s0, s1 = steps[0], max(steps[-1], steps[0] + 1)
    span, trange = s1 - s0, thi - tlo

    def px(step: int) -> float:
        return left + pw * (step - s0) / span

    chart = Chart(chart_id, w, h, Box(left, top, pw, ph), False, [])
    for n, (step, label) in enumerate(marks):
        if s0 <= step <= s1:
            x = px(step)
            y = top + 10 + 10 * (n % 3)  # stagger neighbouring labels
            chart.marks.append(Mark(step, f"{x:.1f}", label, label[:28], f"{x + 2:.1f}", y))
    # Every frame redraws up to 3 series × CAP points: the steps' x are formatted once for all
    # series, and y is written out inline (same arithmetic as a py() would do, no call).
    xs = [f"{px(step):.1f}," for step in steps]
    for name, ys in series.items():
        if log:
            pts = [
                f"{x}{top + ph * (1 - (math.log10(v) - tlo) / trange):.1f}"
                for x, v in zip(xs, ys, strict=False)
                if v is not None and v > 0
            ]
        else:
            pts = [
                f"{x}{top + ph * (1 - (v - tlo) / trange):.1f}"
                for x, v in zip(xs, ys, strict=False)
                if v is not None
            ]
        # the latest value as a dot: a series of one point (say, before a divergence) shows
        last = None
        if pts:
            cx, cy = pts[-1].split(",", 1)
            last = (cx, cy)
        chart.series.append(Series(name, " ".join(pts), last))
    chart.labels = [
        Label("axis", left - 4, top + 9, labels[0]),
        Label("axis", left - 4, top + ph, labels[1]),
        Label("axis x", left, h - 4, str(s0)),
        Label("axis x end", left + pw, h - 4, t("step %(n)s") % {"n": s1}),
    ]
    return _draw(chart)


def curves_svg(curves: Curves, log_scale: bool) -> tuple[str, str]:
    """The curves region's two charts: loss (log scale if asked) and accuracy ("" for
    regression, where an empty "no data yet" box would mislead)."""
    loss = line_chart("loss-chart", curves.steps, curves.loss, log_scale, curves.marks)
    if curves.steps and not any(v is not None for series in curves.acc.values() for v in series):
        return loss, ""
    acc = line_chart(
        "acc-chart", curves.steps, curves.acc, False, curves.marks, fixed=(0.0, 1.0),
        size=(380, 110),
    )  # fmt: skip
    return loss, acc


def _draw(chart: Chart) -> str:
    return templating.macro("macros/charts.html", "line_chart")(chart)


class Dot(NamedTuple):
    cls: str
    cx: str
    cy: str
    fill: str


def points_svg(
    raw: dict[str, NDArray[np.float64]],
    labels: dict[str, NDArray[Any]],
    domain: tuple[float, float, float, float],
    task: str,
    show_test: bool,
    size: int = 300,
) -> str:
    """``<svg id="points">`` over the decision image: train dots, test dots outlined."""
    x1min, x1max, x2min, x2max = domain
    scale_y: float = 1.0
    if task == "regression":
        every = np.concatenate([np.asarray(v, float).ravel() for v in labels.values()])
        scale_y = float(np.max(np.abs(every))) if every.size else 1.0
    dots: list[Dot] = []
    for split in ("train", "test") if show_test else ("train",):
        pts, ys = raw.get(split), labels.get(split)
        if pts is None or ys is None:
            continue
        cls = "pt" if split == "train" else "pt test"
        for (a, b), y in zip(pts, np.asarray(ys).reshape(len(pts), -1)[:, 0], strict=False):
            cx = (a - x1min) / (x1max - x1min) * size
            cy = (x2max - b) / (x2max - x2min) * size
            if task == "regression":
                colour = diverging(float(y) / (scale_y or 1.0))
            else:
                colour = class_colour(int(y))
            dots.append(Dot(cls, f"{cx:.1f}", f"{cy:.1f}", colour))
    context = {"size": size, "domain": f"{x1min},{x1max},{x2min},{x2max}", "dots": dots}
    return templating.region("points", context)


def pred_vs_true(pred: NDArray[np.float64], true: NDArray[np.float64], size: int = 300) -> str:
    """``<svg id="pred-vs-true">``: one dot per test example, and the diagonal (markup)."""
    p, y = np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()
    both = np.concatenate([p, y])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    m = 24

    def sc(v: float) -> float:
        return m + (size - 2 * m) * (v - lo) / (hi - lo)

    dots = [
        (f"{sc(b):.1f}", f"{size - sc(a):.1f}")
        for a, b in zip(p[:400], y[:400], strict=False)
        if math.isfinite(a) and math.isfinite(b)
    ]
    labels = [
        Label("axis", size / 2, size - 4, t("true")),
        Label("axis", 4, m - 8, t("predicted")),
    ]
    return templating.macro("macros/charts.html", "pred_vs_true")(size, m, dots, labels)
