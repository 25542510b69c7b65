"""The checkpoint format: what a saved run holds, and the checks a stored one must pass.

A checkpoint (``Trainer.checkpoint()``) is a JSON-safe dict holding everything that decides
the rest of a run:

    version         this format's number (:data:`VERSION`)
    config          the normalized config, which rebuilds the model, data and optimizer
    params          every parameter, in ``Network.params`` order, as nested lists
    running         [mean, var] of each batch-norm layer's running statistics
    optimizer       ``Optimizer.state_dict()``: hyper-parameters, step count t, state
    rng             the NumPy bit generator's state (at the start of an unfinished iteration)
    perm, pointer   the epoch's shuffle order of the N training rows and the next batch's start
    iteration, epoch, samples_seen, status, divergence, loss    the counters and the status
    trajectory      optional: the recorded path of θ

Floats are written as Python floats, whose ``repr`` round-trips float64 exactly, so
``Trainer.restore(t.checkpoint())`` continues bit-identically. A stored checkpoint comes from
the database or from a user's import, so ``Trainer.restore`` checks each field with the
functions here, which raise a ValueError that starts with the field's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

VERSION = 1
STATUSES = ("ok", "diverged")


def check_version(state: Mapping[str, Any]) -> None:
    if state.get("version") != VERSION:
        raise ValueError(f"version: unsupported checkpoint version {state.get('version')!r}")


def count(state: Mapping[str, Any], key: str, high: int = 2**53) -> int:
    """A counter: an integer in [0, high] (JSON-safe, and what SQLite stores)."""
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{key}: expected an integer from 0 to {high}, got {value!r:.40}")
    return value


def permutation(state: Mapping[str, Any], n: int) -> NDArray[np.int64]:
    """The epoch's shuffle order ``perm``: every row index 0..n-1 once."""
    perm = np.asarray(state["perm"])
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError(f"perm: expected an ordering of the {n} training rows")
    return perm.astype(np.int64)


def status(state: Mapping[str, Any]) -> tuple[str, str | None]:
    """``status`` ("ok" unless given) and ``divergence`` (the reason text, or None)."""
    value = state.get("status", "ok")
    if value not in STATUSES:
        raise ValueError(f"status: expected 'ok' or 'diverged', got {value!r:.40}")
    divergence = state.get("divergence")
    if divergence is not None and not isinstance(divergence, str):
        raise ValueError("divergence: expected a text or null")
    return value, divergence
