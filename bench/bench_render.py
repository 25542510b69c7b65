"""Bench: what rendering one page frame costs on the server, per region. Not a test.

The page stream redraws the network and the loss curves in every frame it sends (up to 30 a
second per session), so their rendering time is frame budget. This times the public render
functions a frame goes through, on a snapshot of two presets:

- ``circle-playground``: 2-D data, 2 inputs, 4-2 tanh layers, sprite tiles (the default page);
- ``digits-mlp``: 64 inputs, 32-64-128-10 layers (wide columns: the 8 largest |value| units,
  "+N" marks).

Regions timed: the network drawing in the default ``weights`` view and in the probe's
``activations`` view (node numbers written under the nodes): ``draw``, the SVG the web
process renders from a frame's numbers, and ``prepare``, those numbers taken out of the
snapshot where the trainer is (a worker); and the curves region (both charts over a
full-resolution history with two marks, and the region around them).
Each figure is the median over many calls (Python's perf_counter, the garbage collector left
on as in the server), with the 10th–90th percentile range beside it.

    .venv/bin/python bench/bench_render.py [--seconds 0.5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a script: the checkout this file is in, not another

from app.page import regions, words  # noqa: E402
from app.page.draw import charts, network  # noqa: E402
from app.page.draw.palette import fmt  # noqa: E402
from app.sessions import presets  # noqa: E402
from engine.inspect import readouts  # noqa: E402
from engine.trainer import Trainer  # noqa: E402

PRESETS = ("circle-playground", "digits-mlp")
SPRITE = "/api/sessions/bench/sprite.png?v=1"
TILE = 16  # frames.NEURON_RES: the sprite tiles of 2-D data


def trained(name: str) -> tuple[Trainer, charts.Curves]:
    """A trainer of the preset after some training, and its curves at full resolution."""
    config = presets.preset_config(name)
    assert config is not None, name
    t = Trainer(config)
    curves = charts.Curves()
    for k in range(charts.CAP):
        t.step(2)
        metrics = readouts.metrics(t)
        curves.add({"step": t.iteration, "metrics": metrics}, keep=k == charts.CAP - 1)
    curves.marks = [(curves.steps[100], "lr 0.03→0.1"), (curves.steps[300], "batch_size 10→1")]
    return t, curves


def timed(fn: Callable[[], Any], seconds: float) -> tuple[float, float, float]:
    """(median, 10th, 90th percentile) of one call's time in ms, over about ``seconds``."""
    for _ in range(20):  # warm up: template compilation, caches
        fn()
    samples: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(samples) < 50:
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    deciles = statistics.quantiles(samples, n=10)
    return statistics.median(samples), deciles[0], deciles[-1]


def curves_region(curves: charts.Curves, ui: words.UiState) -> str:
    """The curves fragment as the page's regions build it."""
    loss_svg, acc_svg = charts.curves_svg(curves, ui.log_scale)
    cv = {
        "train": fmt(curves.last("train")),
        "val": fmt(curves.last("val")),
        "test": fmt(curves.last("test")),
        "acc": fmt(curves.last("test", "acc"), 3),
        "loss_svg": loss_svg,
        "acc_svg": acc_svg,
    }
    return regions.render_block("curves", {"regions": {"curves": cv}})


def cases(name: str) -> list[tuple[str, Callable[[], Any]]]:
    t, curves = trained(name)
    snap = readouts.snapshot(t, frozenset({"gradients", "updates", "probe"}))
    features = list(t.data.feature_names)
    sprite = SPRITE if t.data.domain is not None else None
    probe = snap.get("probe")
    ui = words.UiState()

    def draw(shown: str) -> Callable[[], str]:
        drawing = network.prepare(snap, features, shown, probe, None)
        return lambda: network.draw(drawing, sprite, TILE)

    def prepare(shown: str) -> Callable[[], Any]:
        return lambda: network.prepare(snap, features, shown, probe, None)

    return [
        ("network draw (weights)", draw("weights")),
        ("network draw (activations)", draw("activations")),
        ("network prepare (weights)", prepare("weights")),
        ("curves", lambda: curves_region(curves, ui)),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=0.5, help="timing per figure")
    args = parser.parse_args()
    print(f"{'preset':<18} {'region':<26} {'median ms':>10} {'p10–p90 ms':>14} {'bytes':>7}")
    for name in PRESETS:
        for region, fn in cases(name):
            med, p10, p90 = timed(fn, args.seconds)
            spread = f"{p10:.3f}–{p90:.3f}"
            out = fn()
            size = len(out) if isinstance(out, str) else "-"  # the markup's size
            print(f"{name:<18} {region:<26} {med:>10.3f} {spread:>14} {size:>7}")


if __name__ == "__main__":
    main()
