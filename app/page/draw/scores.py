"""The scores table under the output: the study notes' metrics of the latest metrics row.

The numbers are the engine's (:mod:`engine.inspect.scores`, carried by the metrics rows the
curves read): per split, accuracy and macro F1 (classification) or MAE, RMSE and R²
(regression); for the held-out split the rows carry them for, each class's precision, recall,
F1 and support, and for a few classes (at most :data:`MAX_MATRIX`, the 2-D data sets) the
confusion matrix too (digits draws its own beside the images). Written by
``templates/regions/scores.html``; every number once as the page shows it and once in full
(``data-value``), so a test can compare the page with ``/state?include=metrics``.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from app.page.draw.palette import fmt
from app.page.i18n import N_, t

# each split's name, in the page's language when drawn (the render's, app/page/i18n.py)
SPLITS = (("train", N_("train")), ("val", N_("validation")), ("test", N_("test")))
MAX_MATRIX = 5


class Cell(NamedTuple):
    text: str  # as the page shows it
    value: str  # every digit ("" for none)


class Row(NamedTuple):
    head: str  # the split's or the class's name
    cells: list[Cell]


def _cell(v: Any, digits: int = 3) -> Cell:
    if isinstance(v, bool) or not isinstance(v, int | float):
        return Cell("—", "")
    return Cell(fmt(float(v), digits) if isinstance(v, float) else str(v), repr(v))


def scores_data(latest: dict[str, Any]) -> dict[str, Any] | None:
    """The table's context from a metrics row's ``{split: entry}`` (None before the first)."""
    present = [(key, t(name)) for key, name in SPLITS if isinstance(latest.get(key), dict)]
    if not present:
        return None
    regression = "r2" in latest[present[0][0]]
    columns = ("mae", "rmse", "r2") if regression else ("accuracy", "f1_macro")
    splits = [Row(name, [_cell(latest[key].get(c)) for c in columns]) for key, name in present]
    out: dict[str, Any] = {"regression": regression, "splits": splits}
    detailed = next(((k, name) for k, name in present if "precision" in latest[k]), None)
    if detailed is None:
        return out
    entry = latest[detailed[0]]
    per_class = zip(entry["precision"], entry["recall"], entry["f1"], entry["support"], strict=True)
    out["split"] = detailed[1]
    out["classes"] = [
        Row(str(k), [_cell(p), _cell(r), _cell(f), _cell(s)])
        for k, (p, r, f, s) in enumerate(per_class)
    ]
    matrix = entry.get("confusion")
    if matrix is not None and len(matrix) <= MAX_MATRIX:
        out["confusion"] = [Row(str(i), list(map(_cell, row))) for i, row in enumerate(matrix)]
    return out
