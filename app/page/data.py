"""Page helpers for editing data: the current 2-D points as JSON (click-to-add / shift-click to
remove on the output panel) and the hyper-parameter change marks of the curves.

The page edits points by sending the whole set back as an ``inline`` data set through the
ordinary ``PATCH /api/sessions/{id}`` (which resets the network, as any data change does), so no
hidden path changes training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from fastapi import APIRouter

from app.api.deps import ManagerDep, SessionDep
from app.core.errors import ApiError

router = APIRouter(tags=["page"])


def _split_points(data: Any) -> list[tuple[Any, Any]]:
    """(raw points (N, 2), labels (N,) or (N, 1)) of each part; N may be 0 (a 1-row table has
    only its training row)."""
    return [
        (getattr(data, f"raw_{s}"), getattr(data, f"y_{s}"))
        for s in ("train", "val", "test")
        if getattr(data, f"raw_{s}") is not None
    ]


@router.get("/sessions/{session_id}/points")
def points(session: SessionDep, manager: ManagerDep) -> dict[str, Any]:
    """Every point of a 2-D data set (train, validation and test) with its raw label.

    ``y`` is the class index for classification and the target in its own units for
    regression; ``dataset`` is what to keep when sending the points back as ``inline`` data.
    """
    with session.lock:
        t = manager.load(session)
        data = t.data
        if data.domain is None:
            raise ApiError(422, "points: this data set has no 2-D points", field="dataset")
        pieces = _split_points(data)
        x = np.concatenate([np.asarray(p, dtype=np.float64) for p, _ in pieces])
        ys = np.concatenate([np.ravel(y) for _, y in pieces])  # (N,): one label a row
        if data.task == "regression":
            ys = ys.astype(np.float64) * data.target_std + data.target_mean
            y: list[Any] = [round(float(v), 6) for v in ys]
        else:
            y = [int(v) for v in ys]
        cfg = dict(t.config["dataset"])
    keep = {k: cfg[k] for k in ("features", "split", "seed") if k in cfg}
    return {
        "task": data.task,
        "n_classes": int(data.n_classes),
        "domain": list(data.domain),
        "x": [[round(float(a), 6), round(float(b), 6)] for a, b in x],
        "y": y,
        "dataset": keep,
    }
