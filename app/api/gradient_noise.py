"""Gradient noise of a session: the limits and the JSON answer, shared by REST and the page.

``GET /api/sessions/{id}/gradient-noise`` (app/api/readouts.py) answers with :func:`answer`;
the loss-surface panel (app/page/surface_live.py) draws the same engine result
(engine/inspect/gradient_noise.py) as arrows, within the same limits (:func:`check_limits`):

* ``batches`` ≤ ``settings.max_noise_batches`` (with ``cover`` the count is ⌈N/B⌉);
* work = (N + rows of the batches) × parameters ≤ ``settings.max_noise_work``: the rows one
  forward and backward pass each go through, times the weights each row meets.

Both are 422 naming the field ``batches`` and the limit.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import limit_error
from app.core.settings import Settings
from engine.inspect.gradient_noise import layered
from engine.numbers import finite
from engine.trainer import Trainer


def batch_count(t: Trainer, batches: int, cover: bool) -> int:
    """Mini-batches a request draws: ``batches``, or ⌈N/B⌉ when they cover the data."""
    return -(-t.n_train // t.batch_size) if cover else batches


def work(t: Trainer, batches: int, cover: bool) -> int:
    """(N + rows of the batches) × parameters (see the module docstring)."""
    rows = t.n_train if cover else batches * t.batch_size
    return (t.n_train + rows) * t.n_params


def check_limits(t: Trainer, settings: Settings, batches: int, cover: bool) -> None:
    """ApiError 422 naming ``batches`` and the limit it is over (see the module docstring)."""
    count = batch_count(t, batches, cover)
    if count > settings.max_noise_batches:
        raise limit_error("batches", "max_noise_batches", count, settings.max_noise_batches)
    cost = work(t, batches, cover)
    if cost > settings.max_noise_work:
        raise limit_error("batches", "max_noise_work", cost, settings.max_noise_work)


def answer(t: Trainer, result: dict[str, Any], vectors: bool) -> dict[str, Any]:
    """The JSON of an engine result: gradients per layer ({"W", "b"[, "gamma", "beta"]});
    each batch's gradient, its example indices and the batches' average only with
    ``vectors`` (they are as large as the net, times the batches). NaN/Infinity → null."""
    full = result["full"]
    rows = []
    for row in result["batches"]:
        out = {k: row[k] for k in ("size", "norm", "cosine", "norm_ratio", "loss")}
        if vectors:
            out["indices"] = row["indices"]
            out["gradient"] = layered(t.net, row["gradient"])
        rows.append(out)
    body: dict[str, Any] = {
        "iteration": result["iteration"],
        "n_train": result["n_train"],
        "batch_size": result["batch_size"],
        "seed": result["seed"],
        "cover": result["cover"],
        "full": {
            "norm": full["norm"],
            "loss": full["loss"],
            "gradient": layered(t.net, full["gradient"]),
        },
        "batches": rows,
        "summary": result["summary"],
    }
    if vectors:
        body["average"] = layered(t.net, result["average"])
    return dict(finite(body))
