"""Heatmaps as small PNG files (Pillow): the decision surface and one sprite of all neurons.

A PNG of R × R pixels is a few kilobytes where the same picture as SVG rects would be tens of
thousands of elements. The browser scales the images up with smoothing, as TensorFlow Playground
does with its 100 × 100 output canvas and 10 × 10 neuron canvases.

Sprite layout: one row of square tiles, ``r`` pixels each, in the order the network drawing
numbers its nodes (features first, then every layer's units). The SVG crops tile ``k`` with a
nested ``<svg viewBox="k·r 0 r r">``.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from app.page.draw.palette import class_rgb, diverging_rgb

Array = NDArray[np.float64]


def png(rgb: NDArray[np.uint8]) -> bytes:
    """Encode an (H, W, 3) uint8 array (quickly: heatmaps go out several times a second)."""
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, format="PNG", optimize=False, compress_level=1)
    return buf.getvalue()


def scaled(values: Array) -> Array:
    """``values`` divided by their largest magnitude (a flat map stays 0)."""
    peak = float(np.max(np.abs(values))) if values.size else 0.0
    return values / peak if peak > 1e-12 else np.zeros_like(values)


# the decision surface is washed this far toward white: the data points drawn on it in full
# colour stay visible where the network is sure (at full strength they vanish into it)
WASH = 0.4


def washed(rgb: NDArray[np.uint8], amount: float = WASH) -> NDArray[np.uint8]:
    """``rgb + amount · (255 − rgb)``, rounded."""
    c = rgb.astype(np.float64)
    return np.rint(c + amount * (255.0 - c)).astype(np.uint8)


def decision_png(surface: dict[str, Any], discrete: bool, target_scale: float = 1.0) -> bytes:
    """The network's output over the plane: P(class 1) for binary data (orange 0 … blue 1),
    the winning class for multi-class data, the value for regression; washed toward white."""
    out = np.asarray(surface["output"], dtype=np.float64)
    task = surface["task"]
    if task == "multiclass":
        return png(washed(class_rgb(out, discrete)))
    if task == "binary":
        v = 2.0 * out - 1.0
        if discrete:
            v = np.where(v >= 0, 0.75, -0.75)
        return png(washed(diverging_rgb(v)))
    v = out / max(target_scale, 1e-12)
    if discrete:
        v = np.sign(v) * 0.75
    return png(washed(diverging_rgb(v)))


def tiles(surface: dict[str, Any], feature_index: list[int]) -> list[Array]:
    """Per node (drawn features, then units of every layer), its (r, r) map scaled to [-1, 1]."""
    out: list[Array] = []
    features = np.asarray(surface["features"], dtype=np.float64)
    for i in feature_index:
        out.append(scaled(features[i]))
    for layer in surface["neurons"]:
        for unit in np.asarray(layer, dtype=np.float64):
            out.append(scaled(unit))
    return out


def sprite_png(maps: list[Array]) -> bytes:
    """One row of tiles (see the module docstring)."""
    if not maps:
        return png(np.full((1, 1, 3), 247, dtype=np.uint8))
    row = np.concatenate(maps, axis=1)
    return png(diverging_rgb(row))
