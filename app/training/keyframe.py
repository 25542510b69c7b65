"""One replay keyframe: how a trainer's checkpoint is stored, and how often one is taken.

A keyframe is ``Trainer.checkpoint()`` — a dict of plain numbers, lists and strings — pickled
(protocol 5). Pickle writes a float as its 8 bytes, so it is bit-exact like the JSON text of the
session's own checkpoint, but it costs a hundredth of the time: 0.7 ms instead of 52 ms for
digits-mlp's 13.8k parameters and Adam moments (JSON writes every float as ~19 digits), which
would have slowed a run by half at one keyframe every 200 steps. Reading one back allows no
class at all (:func:`decode`): only the builtins a checkpoint is made of.

How often (:func:`interval`): every ``replay_every`` (K) steps, or every ``K·2^j`` for a large
net, the smallest such that the keyframes of the newest ``DENSE·K`` steps fill at most half of
the session's keyframe budget (``replay_mb``), so that thinning leaves recent steps dense: the
default net (2 kB a keyframe) keeps K = 200; digits-mlp (0.6 MB) one every 64·K = 12,800
steps. Multiples of K either way, which the thinning rule
(app/sessions/keyframes.py) relies on.
"""

from __future__ import annotations

import io
import pickle
from typing import Any

DENSE = 50  # the newest half of a session's keyframe budget covers at least DENSE·K steps


def encode(t: Any) -> bytes:
    """Trainer ``t``'s checkpoint as a keyframe."""
    return pickle.dumps(t.checkpoint(), protocol=5)


class _Plain(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        raise pickle.UnpicklingError(f"a keyframe holds no objects ({module}.{name})")


def decode(blob: bytes) -> dict[str, Any]:
    """A keyframe back to the checkpoint dict it was made from."""
    state = _Plain(io.BytesIO(blob)).load()
    if not isinstance(state, dict):
        raise pickle.UnpicklingError("a keyframe is a checkpoint dict")
    return state


def interval(every: int, size: int, budget: float) -> int:
    """Steps between periodic keyframes of ``size`` bytes: ``every·2^j`` (see the module
    docstring)."""
    steps = every
    while DENSE * every / steps * size > budget / 2 and steps < 2**40:
        steps *= 2
    return steps
