"""The loss-surface panel's fragment and the dataset thumbnails.

The slice is computed by ``engine.inspect.landscape`` under the session's lock, in the thread pool
(the route is a plain ``def``), so the page stays live while it runs and shows its progress
indicator; training pauses only for the slice's duration.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from app.page.draw import images, loss_surface, palette
from app.page.i18n import t
from engine.datasets import make_dataset
from engine.inspect.landscape import landscape

ENGINE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError)


def parse_weight(text: str) -> dict[str, Any]:
    layer, param, index = text.strip().split(":")
    return {"layer": int(layer), "param": param, "index": [int(v) for v in index.split(",") if v]}


def second_weight(first: dict[str, Any], shape: tuple[int, ...]) -> dict[str, Any]:
    """The weight drawn on the second axis: the next one in the same matrix."""
    index = list(first["index"])
    flat = int(np.ravel_multi_index(tuple(index), shape)) if index else 0
    nxt = (flat + 1) % int(np.prod(shape))
    return {**first, "index": [int(i) for i in np.unravel_index(nxt, shape)]}


def spec_of(session: Any, manager: Any, want: dict[str, Any]) -> dict[str, Any]:
    """A landscape spec from the page's request ``{kind, directions, weight}`` (takes the lock)."""
    kind, directions = want.get("kind", "1d"), want.get("directions", "weights")
    spec: dict[str, Any] = {"kind": kind, "directions": directions}
    if directions == "weights":
        try:
            first = parse_weight(str(want.get("weight") or "0:W:0,0"))
        except ValueError:
            raise ValueError("weight: write it as layer:W:i,j, e.g. 0:W:0,1") from None
        spec["weights"] = [first]
        if kind == "2d":
            with session.lock:
                t = manager.load(session)
                layer = t.net.layers[first["layer"]]
                shape = getattr(layer, first["param"]).shape
            spec["weights"].append(second_weight(first, shape))
    if kind == "2d":
        spec["resolution"] = 41
    return spec


def surface_fragment(session: Any, manager: Any, kind: str, directions: str, weight: str) -> str:
    try:
        spec = spec_of(session, manager, {"kind": kind, "directions": directions, "weight": weight})
        with session.lock:
            result = landscape(manager.load(session), spec)
    except ENGINE_ERRORS as exc:
        return loss_surface.failed(exc)
    if kind == "1d":
        return loss_surface.region(loss_surface.surface_1d(result), note_1d(result))
    note = t("%(points)s points of the path; loss %(low)s … %(high)s") % {
        "points": len(result.get("path") or []),
        "low": palette.fmt(result.get("min")),
        "high": palette.fmt(result.get("max")),
    }
    return loss_surface.region(loss_surface.surface_2d(result), note)


def note_1d(result: dict[str, Any]) -> str:
    """The line under a 1-D slice, in the language of the render under way."""
    cur = result["current"]
    return t("loss now %(loss)s, slope dL/dw = %(slope)s at iteration %(iteration)s") % {
        "loss": palette.fmt(cur["loss"]),
        "slope": palette.fmt(cur.get("slope")),
        "iteration": result["iteration"],
    }


@lru_cache(maxsize=32)
def dataset_thumb(name: str) -> bytes:
    """A 36 × 36 picture of a 2-D data set's points (a grey square for other data)."""
    size = 36
    rgb = np.full((size, size, 3), 247, dtype=np.uint8)
    try:
        data = make_dataset({"name": name, "n_samples": 300})
    except (ValueError, TypeError, KeyError):
        return images.png(rgb)
    if data.raw_train is None or data.domain is None:
        return images.png(rgb)
    x1min, x1max, x2min, x2max = data.domain
    ys = np.asarray(data.y_train).reshape(len(data.raw_train), -1)[:, 0]
    scale = float(np.max(np.abs(ys))) or 1.0
    for (a, b), y in zip(data.raw_train, ys, strict=False):
        c = int((a - x1min) / (x1max - x1min) * (size - 1))
        r = int((x2max - b) / (x2max - x2min) * (size - 1))
        if data.task == "regression":
            colour = palette.diverging_rgb(np.array([y / scale]))[0]
        else:
            colour = np.array(palette.CLASS_COLOURS[int(y) % len(palette.CLASS_COLOURS)])
        rgb[max(r - 1, 0) : r + 1, max(c - 1, 0) : c + 1] = colour
    return images.png(rgb)
