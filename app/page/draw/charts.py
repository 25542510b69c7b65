"""Charts as SVG text: loss/accuracy curves, the data points, predicted-vs-true.

Curves are polylines over at most a few hundred points (:class:`Curves` halves its resolution
when it fills up), so a chart stays a few kilobytes however long the run. Non-finite losses
never reach the text: they are skipped.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from html import escape
from typing import Any

import numpy as np
from numpy.typing import NDArray

from app.page.draw.palette import class_colour, diverging, fmt
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
    stride: int = 1
    _seen: int = 0

    def add(self, record: dict[str, Any], keep: bool = False) -> None:
        """Take a step record that carries ``metrics`` (others are ignored); ``keep``: even
        where thinning would skip it (the point the curves end on)."""
        m = record.get("metrics")
        if not m:
            return
        self._seen += 1
        if self._seen % self.stride and not keep:
            return
        self.steps.append(int(record["step"]))
        for s in SPLITS:
            entry = m.get(s) or {}
            self.loss[s].append(finite(entry.get("loss"), CHART_BOUND))
            self.acc[s].append(finite(entry.get("accuracy"), CHART_BOUND))
        if len(self.steps) > CAP:
            self.steps = self.steps[::2]
            for s in SPLITS:
                self.loss[s] = self.loss[s][::2]
                self.acc[s] = self.acc[s][::2]
            self.stride *= 2

    def last(self, split: str, what: str = "loss") -> float | None:
        series = (self.loss if what == "loss" else self.acc)[split]
        return next((v for v in reversed(series) if v is not None), None)


def line_chart(
    chart_id: str,
    steps: list[int],
    series: dict[str, list[float | None]],
    log: bool,
    marks: list[tuple[int, str]],
    fixed: tuple[float, float] | None = None,
    size: tuple[int, int] = (380, 170),
) -> str:
    """``<svg id=chart_id>`` with one ``polyline.curve-<name>`` per series."""
    w, h = size
    left, right, top, bottom = 46, 8, 8, 20
    vals = [v for s in series.values() for v in s if v is not None and (not log or v > 0)]
    out = [f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}">']
    if not steps or not vals:
        pw, ph = w - left - right, h - top - bottom
        out.append(f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}"/>')
        out.append(f'<text class="empty" x="{left + 8}" y="{top + 20}">no data yet</text>')
        for name in series:
            out.append(f'<polyline class="curve-{name}" points=""/>')
        out.append("</svg>")
        return "".join(out)
    lo, hi = fixed if fixed else (min(vals), max(vals))
    tr = (lambda v: math.log10(v)) if log else (lambda v: v)
    tlo, thi = tr(max(lo, 1e-12) if log else lo), tr(max(hi, 1e-12) if log else hi)
    if thi - tlo < 1e-12:
        tlo, thi = tlo - 0.5, thi + 0.5
    hi_label, lo_label = (10**thi, 10**tlo) if log else (thi, tlo)
    labels = fmt(hi_label, 3), fmt(lo_label, 3)
    # the y labels end 4 units left of the plot: widen the margin for long ones (3.30e+176)
    left = max(left, 6 + math.ceil(AXIS_CHAR * max(len(t) for t in labels)))
    pw, ph = w - left - right, h - top - bottom
    out.append(f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}"/>')
    s0, s1 = steps[0], max(steps[-1], steps[0] + 1)

    def px(step: int) -> float:
        return left + pw * (step - s0) / (s1 - s0)

    def py(v: float) -> float:
        return top + ph * (1 - (tr(v) - tlo) / (thi - tlo))

    for n, (step, label) in enumerate(marks):
        if s0 <= step <= s1:
            x = px(step)
            out.append(
                f'<line class="hp-mark" data-step="{step}" x1="{x:.1f}" y1="{top}" x2="{x:.1f}" '
                f'y2="{top + ph}"><title>{escape(label)}</title></line>'
            )
            if label:
                y = top + 10 + 10 * (n % 3)  # stagger neighbouring labels
                out.append(
                    f'<text class="hp-label" x="{x + 2:.1f}" y="{y}">{escape(label[:28])}</text>'
                )
    for name, ys in series.items():
        pts = [
            f"{px(s):.1f},{py(v):.1f}"
            for s, v in zip(steps, ys, strict=False)
            if v is not None and (not log or v > 0)
        ]
        out.append(f'<polyline class="curve-{name}" points="{" ".join(pts)}"/>')
        if pts:  # the latest value as a dot: a series of one point (say, before a divergence) shows
            cx, cy = pts[-1].split(",")
            out.append(f'<circle class="last-point dot-{name}" cx="{cx}" cy="{cy}" r="2.2"/>')
    out.append(f'<text class="axis" x="{left - 4}" y="{top + 9}">{labels[0]}</text>')
    out.append(f'<text class="axis" x="{left - 4}" y="{top + ph}">{labels[1]}</text>')
    out.append(f'<text class="axis x" x="{left}" y="{h - 4}">{s0}</text>')
    out.append(f'<text class="axis x end" x="{left + pw}" y="{h - 4}">step {s1}</text>')
    out.append("</svg>")
    return "".join(out)


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
    out = [
        f'<svg id="points" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}" '
        f'data-domain="{x1min},{x1max},{x2min},{x2max}">'
    ]
    scale_y: float = 1.0
    if task == "regression":
        every = np.concatenate([np.asarray(v, float).ravel() for v in labels.values()])
        scale_y = float(np.max(np.abs(every))) if every.size else 1.0
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
            out.append(f'<circle class="{cls}" cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{colour}"/>')
    out.append("</svg>")
    return "".join(out)


def pred_vs_true(pred: NDArray[np.float64], true: NDArray[np.float64], size: int = 300) -> str:
    """``<svg id="pred-vs-true">``: one dot per test example, and the diagonal."""
    p, t = np.asarray(pred, float).ravel(), np.asarray(true, float).ravel()
    both = np.concatenate([p, t])
    both = both[np.isfinite(both)]
    lo, hi = (float(both.min()), float(both.max())) if both.size else (0.0, 1.0)
    if hi - lo < 1e-12:
        lo, hi = lo - 1, hi + 1
    m = 24

    def sc(v: float) -> float:
        return m + (size - 2 * m) * (v - lo) / (hi - lo)

    out = [
        f'<svg id="pred-vs-true" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">'
    ]
    out.append(f'<line class="diag" x1="{m}" y1="{size - m}" x2="{size - m}" y2="{m}"/>')
    for a, b in zip(p[:400], t[:400], strict=False):
        if math.isfinite(a) and math.isfinite(b):
            out.append(f'<circle class="pt" cx="{sc(b):.1f}" cy="{size - sc(a):.1f}" r="2.5"/>')
    out.append(f'<text class="axis" x="{size / 2}" y="{size - 4}">true</text>')
    out.append(f'<text class="axis" x="4" y="{m - 8}">predicted</text>')
    out.append("</svg>")
    return "".join(out)
