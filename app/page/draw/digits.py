"""The output panel for image data (8×8 digits): sample images with predictions, and the
confusion matrix of the test set, as SVG over one sprite PNG."""

from __future__ import annotations

from typing import Any

import numpy as np

COLS = 8
CELL = 34


def digits_html(pic: Any, sid: str, v: int, has_sprite: bool) -> str:
    shown, pred, true, confusion = pic.pred
    out = ['<div id="digits-grid">']
    if has_sprite and shown is not None:
        n = len(shown)
        rows = -(-n // COLS)
        tile = int(pic.extras["image_shape"][0])
        w, h = COLS * CELL, rows * (CELL + 12)
        out.append(f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}">')
        for k in range(n):
            x, y = (k % COLS) * CELL, (k // COLS) * (CELL + 12)
            ok = int(pred[k]) == int(true[k])
            out.append(
                f'<svg x="{x + 2}" y="{y}" width="{CELL - 4}" height="{CELL - 4}" '
                f'viewBox="{k * tile} 0 {tile} {tile}" preserveAspectRatio="none">'
                f'<image href="/api/sessions/{sid}/digits.png?v={v}" width="{tile * n}" '
                f'height="{tile}" preserveAspectRatio="none"/></svg>'
                f'<text class="{"ok" if ok else "wrong"}" x="{x + CELL / 2}" y="{y + CELL + 8}">'
                f"{int(pred[k])}</text>"
            )
        out.append("</svg>")
    out.append("</div>")
    out.append(confusion_svg(np.asarray(confusion)))
    return "".join(out)


def confusion_svg(m: np.ndarray) -> str:
    k = m.shape[0]
    cell = 22
    size = 24 + k * cell
    peak = max(int(m.max()), 1)
    acc = float(np.trace(m)) / max(int(m.sum()), 1)
    out = [
        f'<svg id="confusion" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size + 16}" '
        f'data-accuracy="{acc:.4f}">'
    ]
    for i in range(k):
        out.append(f'<text class="axis" x="10" y="{24 + i * cell + 15}">{i}</text>')
        out.append(f'<text class="axis" x="{24 + i * cell + 8}" y="14">{i}</text>')
        for j in range(k):
            shade = m[i, j] / peak
            fill = "#0072b2" if i == j else "#e69f00"
            out.append(
                f'<rect x="{24 + j * cell}" y="{20 + i * cell}" width="{cell - 1}" '
                f'height="{cell - 1}" fill="{fill}" fill-opacity="{0.08 + 0.92 * shade:.2f}">'
                f"<title>true {i}, predicted {j}: {int(m[i, j])}</title></rect>"
            )
    out.append(
        f'<text class="caption" x="4" y="{size + 12}">rows: true, columns: predicted · '
        f"test accuracy {acc:.1%}</text>"
    )
    out.append("</svg>")
    return "".join(out)
