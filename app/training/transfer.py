"""Moving a trainer between the web process and a worker process, sending only what is new.

A trainer pickles whole (engine/trainer.py re-seats its views on arrival), but two of its parts
are large and rarely change: the dataset, and the trajectory's recorded points (θ at every
``stride``-th step, up to 4 MiB: engine/trajectory.py), which the page's live loss surface reads.
The receiver keeps both. The first transfer of a run carries everything; later ones refer to
the dataset and to already-sent points by a persistent id (pickle's hook for objects kept
outside the stream) — a point θ recorded at step ``s`` never changes, so ``s`` names it.

    blob = dumps(trainer, known=set_of_steps_the_receiver_holds)   # sender
    trainer = loads(blob, data, points)                            # receiver: points[s] = θ_s
"""

from __future__ import annotations

import io
import pickle
from typing import Any

import numpy as np
from numpy.typing import NDArray

Points = dict[int, NDArray[np.float64]]


def dumps(trainer: Any, known: set[int] | None = None) -> bytes:
    """Pickle ``trainer``; with ``known`` given, leave out its dataset and the trajectory points
    of the steps in ``known`` (the receiver has them)."""
    buf = io.BytesIO()
    pickler = pickle.Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL)
    if known is not None:
        data = trainer.data
        traj = trainer.trajectory
        # ids of live arrays cannot collide with another live object's id
        sent = {id(p): s for s, p in zip(traj.steps, traj.points, strict=True) if s in known}

        def persistent_id(obj: Any) -> Any:
            if obj is data:
                return "data"
            return sent.get(id(obj))

        pickler.persistent_id = persistent_id  # type: ignore[method-assign]
    pickler.dump(trainer)
    return buf.getvalue()


def loads(blob: bytes, data: Any = None, points: Points | None = None) -> Any:
    """Unpickle a trainer from :func:`dumps`, giving back the parts that were left out
    (KeyError when a referred point is not in ``points``)."""
    unpickler = pickle.Unpickler(io.BytesIO(blob))
    held = points or {}

    def persistent_load(pid: Any) -> Any:
        return data if pid == "data" else held[pid]

    unpickler.persistent_load = persistent_load  # type: ignore[method-assign]
    return unpickler.load()


def points_of(trainer: Any) -> Points:
    """The trajectory points a receiver keeps for the next :func:`loads`."""
    traj = trainer.trajectory
    return dict(zip(traj.steps, traj.points, strict=True))
