"""Keyframes: the checkpoints a replay restarts from, when they are taken and which are kept.

A session's generation keeps a keyframe (``Trainer.checkpoint()`` as JSON text, table
``keyframes``) of two kinds:

* ``step``: every ``replay_every`` (K) steps, at ``iteration % K == 0`` — the worker ends its
  training chunks there (app/training/worker.py) and local steps are split there
  (:func:`step_keyed`); a large net's every ``K·2^j`` steps (app/training/keyframe.py: the
  encoding, and how far apart);
* ``event``: after every change that is not a step — a live PATCH of a LIVE_KEY (in the web
  process, or in the worker on ``Configure``), a weight edit — and at the first step of every
  generation (a new session, a reset, an import, a fork);
* ``restore``: a divergence revival (the run goes on with a trainer restored from it).

So between two keyframes the config and the weights' only cause of change are the steps, and
re-training from the newer one reproduces every step after it bit for bit (the engine's
determinism: app/sessions/recovery.py relies on it too). app/sessions/replay.py reads them.

Which are kept (:func:`thin_plan`, run by app/sessions/retention.py on each pass), so that a
session's keyframes stay within ``replay_mb``:

* changes' keyframes (``event``, ``restore``) and each generation's first are always kept
  (dropping one would make a replay from before it run with the old settings);
* the newest periodic keyframes are all kept while they fill half the budget;
* before them, only those at multiples of ``K·S`` with ``S`` the smallest power of two that
  brings the generation's total under the budget (a scrub there costs up to ``K·S`` steps);
* when the database nears ``max_db_mb``, idle sessions (nobody runs or watches them) get an
  eighth of the budget, like their history loses its full-resolution window;
* older generations' keyframes go: replay, like ``/history``, reads the current generation.

Deleting a session deletes its keyframes (app/core/writes.py ``delete_session``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.core.settings import Settings
from app.training import keyframe

Keyframe = tuple[int, str, bytes]  # (step, "step" | "event", app/training/keyframe.py bytes)


def every_for(t: Any, settings: Settings) -> int:
    """Steps between ``t``'s periodic keyframes (:func:`app.training.keyframe.interval`)."""
    size = len(keyframe.encode(t))
    return keyframe.interval(settings.replay_every, size, settings.replay_mb * 2**20)


def step_keyed(
    t: Any, n: int, every: int, run: Callable[[Any, int], list[dict[str, Any]]]
) -> tuple[list[dict[str, Any]], list[Keyframe]]:
    """``run(t, k)`` for ``n`` steps in all, split at multiples of ``every``, with a periodic
    keyframe at each one reached; returns the records and the keyframes. ``t.history`` ends as
    all the records (as one ``t.step(n)`` leaves it)."""
    records: list[dict[str, Any]] = []
    keys: list[Keyframe] = []
    while len(records) < n and t.status == "ok":
        k = min(n - len(records), every - t.iteration % every)
        got = run(t, k)
        records += got
        if not got:
            break
        if t.iteration % every == 0 and t.status == "ok":
            keys.append((t.iteration, "step", keyframe.encode(t)))
    t.history = records
    return records, keys


def thin_plan(
    sizes: list[tuple[int, str, int]], every: int, budget: float
) -> tuple[int, int] | None:
    """How to thin one generation's keyframes ``(step, kind, bytes)`` (oldest first) to
    ``budget`` bytes: ``(before, stride)`` — keep the periodic keyframes before step ``before``
    only at multiples of ``stride`` (a power-of-two multiple of ``every``) — or None when they
    fit (see the module docstring for the rule)."""
    total = sum(b for _, _, b in sizes)
    if total <= budget or not sizes:
        return None
    first = sizes[0][0]
    periodic = [(s, b) for s, kind, b in sizes if kind == "step" and s != first and s > 0]
    fixed = total - sum(b for _, b in periodic)
    recent = 0
    before = periodic[-1][0] + 1 if periodic else 0
    for s, b in reversed(periodic):  # the newest half of the budget stays dense
        if fixed + recent + b > budget / 2:
            break
        recent += b
        before = s
    old = [(s, b) for s, b in periodic if s < before]
    if not old:
        return None
    stride = 2 * every
    while True:
        kept = sum(b for s, b in old if s % stride == 0)
        if fixed + recent + kept <= budget or kept == 0:
            return before, stride
        stride *= 2
