"""The phase panel, the chain-rule inspector and the traced example's marker, as fragments.

A page frame carries the engine's numbers of one iteration in ``frame.extras["explain"]``
(:func:`app.page.frames.explain_extras`: :func:`engine.inspect.chain.chain` and
:func:`engine.inspect.phase_numbers.phase_numbers` for the weight the page selected). Here they
become the contexts of ``templates/regions/phase_panel.html`` and ``chain_rule.html``: every
number once as the page writes it (``palette.fmt``) and once in full (``data-value``), under a
stable ``data-n`` key that names it as the REST answer does (``loss.example``,
``update.w_new``…), so a script or a test can read the page and compare. Formulas are MathML.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from app.page.draw.palette import fmt
from app.page.frames import EXPLAIN_SECONDS, EXPLAIN_SHARE
from app.page.render_thread import RENDERER
from app.page.templating import region

# the loss formulas, the engine's (engine/losses.py: torch's, mean reduction), as MathML rows
LOSS_MATH = {
    "mse": "<mfrac><mn>1</mn><mi>K</mi></mfrac><munder><mo>∑</mo><mi>k</mi></munder>"
    "<msup><mrow><mo>(</mo><msub><mi>ŷ</mi><mi>k</mi></msub><mo>−</mo><msub><mi>y</mi><mi>k</mi>"
    "</msub><mo>)</mo></mrow><mn>2</mn></msup>",
    "rmse": "<msqrt><mfrac><mn>1</mn><mi>K</mi></mfrac><munder><mo>∑</mo><mi>k</mi></munder>"
    "<msup><mrow><mo>(</mo><msub><mi>ŷ</mi><mi>k</mi></msub><mo>−</mo><msub><mi>y</mi><mi>k</mi>"
    "</msub><mo>)</mo></mrow><mn>2</mn></msup></msqrt>",
    "mae": "<mfrac><mn>1</mn><mi>K</mi></mfrac><munder><mo>∑</mo><mi>k</mi></munder><mo>|</mo>"
    "<msub><mi>ŷ</mi><mi>k</mi></msub><mo>−</mo><msub><mi>y</mi><mi>k</mi></msub><mo>|</mo>",
    "huber": "<mfrac><mn>1</mn><mi>K</mi></mfrac><munder><mo>∑</mo><mi>k</mi></munder>"
    "<msub><mi>ℓ</mi><mi>δ</mi></msub><mo>(</mo><msub><mi>ŷ</mi><mi>k</mi></msub><mo>−</mo>"
    "<msub><mi>y</mi><mi>k</mi></msub><mo>)</mo>",
    "bce": "<mo>−</mo><mo>[</mo><mi>y</mi><mi>log</mi><mi>ŷ</mi><mo>+</mo><mo>(</mo><mn>1</mn>"
    "<mo>−</mo><mi>y</mi><mo>)</mo><mi>log</mi><mo>(</mo><mn>1</mn><mo>−</mo><mi>ŷ</mi><mo>)</mo>"
    "<mo>]</mo>",
    "ce": "<mo>−</mo><mi>log</mi><msub><mi>ŷ</mi><mi>y</mi></msub>",
}


def numbers() -> tuple[dict[str, Any], Callable[..., Markup]]:
    """(the numbers written so far, ``n(key, value)``: one as ``<mn>``, noted under its key)."""
    seen: dict[str, Any] = {}

    def n(key: str, value: Any, digits: int = 4) -> Markup:
        v = value if isinstance(value, float | int) and not isinstance(value, bool) else None
        seen[key] = v
        raw = "" if v is None else repr(float(v))
        text = fmt(None if v is None else float(v), digits)
        return Markup('<mn data-n="{}" data-value="{}">{}</mn>').format(escape(key), raw, text)

    return seen, n


def agree(a: Any, b: Any, rel: float = 1e-9) -> bool:
    """Do two numbers agree to rounding (the page's check mark)?"""
    if not isinstance(a, float | int) or not isinstance(b, float | int):
        return False
    return math.isclose(a, b, rel_tol=rel, abs_tol=1e-15)


def layer_name(layer: int, n_layers: int) -> str:
    return "output" if layer == n_layers - 1 else f"layer {layer + 1}"


def input_name(layer: int, n_layers: int) -> str:
    return "input" if layer == 0 else layer_name(layer - 1, n_layers)


def stage_of(snap: dict[str, Any]) -> tuple[str, int | None]:
    """The stage the phase panel opens: what just ran, or ``summary`` (all four, compactly)
    before any phase ran and while whole iterations run."""
    last = snap.get("last_phase")
    if not last or last.get("phase") is None:
        return "summary", None
    return str(last["phase"]), last.get("layer")


def phase_panel(ex: dict[str, Any], snap: dict[str, Any]) -> Markup:
    """The phase panel's fragment for a frame's explain numbers ``ex``."""
    pn = ex["phase_numbers"]
    stage, layer = stage_of(snap)
    _, n = numbers()
    out = layer_name(pn["n_layers"] - 1, pn["n_layers"])
    ctx = {
        "p": pn,
        "n": n,
        "stage": stage,
        "at": layer,
        "loss_math": Markup(LOSS_MATH.get(pn["loss"]["name"], "<mi>loss</mi>")),
        "layer_name": lambda k: layer_name(k, pn["n_layers"]),
        "out_name": out,
        "probe": ex.get("probe", {}),
        "upd": pn["update"],
        "agree": agree,
    }
    return region("phase_panel", {"ph": ctx})


def chain_rule(ex: dict[str, Any]) -> Markup:
    """The chain-rule inspector's fragment for a frame's explain numbers ``ex``."""
    c = ex["chain"]
    _, n = numbers()
    nl = c["n_layers"]
    ctx = {
        "c": c,
        "e": c["example"],
        "b": c["batch"],
        "n": n,
        "to": layer_name(c["layer"], nl),
        "frm": input_name(c["layer"], nl),
        "next_name": layer_name(c["layer"] + 1, nl) if c["layer"] + 1 < nl else "",
        "agree": agree,
        "edge": json.dumps([c["layer"], c["i"], c["j"]]),
    }
    return region("chain_rule", {"cr": ctx})


def probe_mark(
    index: int,
    points: tuple[Any, ...] | None,
    task: str,
    y_original: float | None = None,
    size: int = 300,
) -> Markup:
    """``<svg id="probe-mark">`` over the points: a ring at the traced training example and
    its label, a regression target in the data's own units (``y_original``) when the engine
    trains on it standardised (an empty SVG without 2-D points)."""
    ctx: dict[str, Any] = {"size": size, "index": index}
    if points is not None:
        raw, labels, domain = points
        train = raw.get("train")
        if train is not None and 0 <= index < len(train):
            x1min, x1max, x2min, x2max = domain
            a, b = (float(v) for v in train[index])
            ctx["cx"] = f"{(a - x1min) / (x1max - x1min) * size:.1f}"
            ctx["cy"] = f"{(x2max - b) / (x2max - x2min) * size:.1f}"
            y = labels["train"][index]
            value = float(y if not hasattr(y, "__len__") else y[0])
            if y_original is not None:
                value = y_original
            # a class is said in the page's language (templates/regions/probe_mark.html)
            regression = task == "regression"
            ctx["label"] = {"y": f"y = {fmt(value, 3)}"} if regression else {"k": int(value)}
            ctx["left"] = float(ctx["cx"]) > size * 0.7  # the label inside the picture
    return region("probe_mark", ctx)


def render(
    frame: Any,
    feed: Any,
    due: Callable[[str, Any], bool],
    memo: dict[str, Any],
    running: bool = False,
) -> dict[str, str]:
    """The fragments of the three explain regions that changed since the feed's last. While a
    run streams, the phase panel and the chain rule are redrawn at most every EXPLAIN_SECONDS
    (and at most EXPLAIN_SHARE of the render thread's time for all sessions together):
    nobody reads numbers changing 30 times a second, and they are the frame's dearest regions
    to render (about 0.6 ms of the render thread's time, beside 0.2 ms for the network); the
    frame that ends a run always draws them."""
    ex = frame.extras.get("explain")
    if not ex:
        return {}
    out: dict[str, str] = {}
    snap = frame.snap
    now = time.monotonic()
    # less often when the sessions drawn would spend over EXPLAIN_SHARE of the render thread
    # on them (app/page/render_thread.py)
    every = RENDERER.interval("explain", EXPLAIN_SECONDS, EXPLAIN_SHARE)
    if running and now - memo.get("explain_at", -1e9) < every:
        return out
    key = json.dumps([ex, snap.get("last_phase"), snap.get("phase")], sort_keys=True)
    if due("phase-panel", key):
        out["phase-panel"] = phase_panel(ex, snap)
        memo["explain_at"] = now
    if due("chain-rule", json.dumps(ex["chain"], sort_keys=True)):
        out["chain-rule"] = chain_rule(ex)
    if out:
        RENDERER.cost("explain", time.monotonic() - now)
    probe = ex.get("probe", {})
    index = int(probe.get("index", 0))
    if due("probe-mark", (index, feed.memo.get("data_key"))):
        out["probe-mark"] = probe_mark(index, feed.points, frame.task, probe.get("y_original"))
    return out
