"""Colours of the page: a colour-blind-safe diverging palette for signs, and class colours.

Signs use orange (negative) ↔ white ↔ blue (positive), the pair of Okabe & Ito's palette that
stays distinct under the common colour-vision deficiencies (and the colours TensorFlow Playground
uses for its two classes). Classes beyond two take further Okabe-Ito colours.

``diverging(v)`` maps v ∈ [-1, 1] to a hex colour; :func:`diverging_rgb` does the same for NumPy
arrays (the heatmap PNGs) so the SVG strokes and the images agree exactly.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

NEG = (230, 159, 0)  # Okabe-Ito orange
MID = (247, 247, 247)
POS = (0, 114, 178)  # Okabe-Ito blue
_TO_POS = (POS[0] - MID[0], POS[1] - MID[1], POS[2] - MID[2])
_TO_NEG = (NEG[0] - MID[0], NEG[1] - MID[1], NEG[2] - MID[2])
CLASS_COLOURS = [
    (230, 159, 0),
    (0, 114, 178),
    (0, 158, 115),
    (204, 121, 167),
    (86, 180, 233),
    (213, 94, 0),
    (240, 228, 66),
    (0, 0, 0),
    (153, 153, 153),
    (120, 80, 40),
]


def hex_colour(rgb: tuple[int, int, int]) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def diverging(v: float) -> str:
    """Hex colour of ``v`` clipped to [-1, 1]: orange below zero, blue above (the mid-grey for
    a non-finite ``v``). Written out channel by channel: the network drawing calls it for
    every edge and node of every frame."""
    if not -1.0 <= v <= 1.0:  # also NaN
        v = 0.0 if not math.isfinite(v) else (1.0 if v > 0 else -1.0)
    (mr, mg, mb), (dr, dg, db) = MID, _TO_POS if v >= 0 else _TO_NEG
    t = abs(v)
    # the hex text of the 24-bit colour from a cache: formatting three channels each time
    # was most of the call
    return hex_code(round(mr + dr * t) << 16 | round(mg + dg * t) << 8 | round(mb + db * t))


@lru_cache(maxsize=4096)
def hex_code(code: int) -> str:
    """``#rrggbb`` of a 24-bit colour ``0xrrggbb`` (cached: a drawing's colours repeat)."""
    return f"#{code:06x}"


def diverging_rgb(values: NDArray[np.float64]) -> NDArray[np.uint8]:
    """(..., 3) uint8 colours of ``values`` clipped to [-1, 1] (non-finite → the midpoint)."""
    v = np.clip(np.nan_to_num(values, nan=0.0, posinf=1.0, neginf=-1.0), -1.0, 1.0)
    t = np.abs(v)[..., None]
    mid = np.array(MID, dtype=np.float64)
    end = np.where((v >= 0)[..., None], np.array(POS, float), np.array(NEG, float))
    out: NDArray[np.uint8] = np.rint(mid + (end - mid) * t).astype(np.uint8)
    return out


def class_colour(k: int) -> str:
    return hex_colour(CLASS_COLOURS[k % len(CLASS_COLOURS)])


def class_rgb(probs: NDArray[np.float64], discrete: bool) -> NDArray[np.uint8]:
    """Colours of class probabilities (R, R, K): the winning class, faded by its margin."""
    table = np.array([CLASS_COLOURS[k % len(CLASS_COLOURS)] for k in range(probs.shape[-1])])
    best = np.argmax(probs, axis=-1)
    colour = table[best].astype(np.float64)
    if discrete:
        strength = np.full(best.shape, 0.75)
    else:
        top = np.max(probs, axis=-1)
        strength = np.clip((top - 1.0 / probs.shape[-1]) * probs.shape[-1] / 1.5, 0.0, 0.85)
    mid = np.array(MID, dtype=np.float64)
    out: NDArray[np.uint8] = np.rint(mid + (colour - mid) * strength[..., None]).astype(np.uint8)
    return out


def fmt(v: float | None, digits: int = 4) -> str:
    """A number for the page: never 'nan'/'inf' (those read as '—' or '∞' in words)."""
    if v is None:
        return "—"
    if math.isnan(v):
        return "—"
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    if v != 0 and (abs(v) < 1e-3 or abs(v) >= 1e5):
        return f"{v:.{max(digits - 1, 1)}e}"
    return f"{v:.{digits}g}" if abs(v) >= 1 else f"{v:.{digits}f}".rstrip("0").rstrip(".") or "0"


@lru_cache(maxsize=256)
def _specs(n: int, spec: str) -> str:
    return " ".join([spec] * n)


def formatted(values: list[float], spec: str) -> list[str]:
    """``[spec % v for v in values]`` in one formatting call (half the time of one per value;
    ``"%.6g" % v`` is ``f"{v:.6g}"``): a frame formats a few hundred numbers."""
    return (_specs(len(values), spec) % tuple(values)).split(" ") if values else []
