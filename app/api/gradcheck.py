"""The gradient check of a session, run once per weights and shared by the JSON and the page.

``GET /api/sessions/{id}/gradcheck`` (app/api/readouts.py) and the page's panel
``GET /api/sessions/{id}/gradcheck.html`` (app/page/gradcheck_panel.py) both call
:func:`checked`. The check itself (engine/inspect/gradcheck.py) is deterministic for given
weights, eps, sample size and seed — except its two timings — so the result is kept per session
under those inputs: the panel and the API show the same numbers, timings included, and a
second look costs nothing. A net up to ``settings.max_gradcheck_params`` parameters is checked
whole; a larger one on a seeded sample of ``sample`` entries (at most that limit too).
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from typing import Any

from app.core.errors import engine_error, limit_error
from app.core.settings import Settings
from app.sessions.session import Session
from engine.inspect.gradcheck import gradcheck as run_gradcheck
from engine.numbers import finite

DEFAULT_SAMPLE = 200  # entries checked of a net above the limit, unless asked otherwise
KEPT = 32  # results kept, across sessions (each is a few hundred kilobytes at most)
ENGINE_ERRORS = (ValueError, TypeError, KeyError, IndexError)

_lock = threading.Lock()
_kept: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()


def checked(
    session: Session, manager: Any, settings: Settings, eps: float, sample: int, seed: int
) -> dict[str, Any]:
    """The check of the session's current weights (see the module docstring); 422 naming
    ``sample`` when it is over ``max_gradcheck_params``."""
    limit = settings.max_gradcheck_params
    if sample > limit:
        raise limit_error("sample", "max_gradcheck_params", sample, limit)
    with session.lock:
        t = manager.load(session)
        full = t.n_params <= limit
        entries = t.n_params if full else sample
        weights = hashlib.blake2b(t.net.theta.tobytes(), digest_size=16).hexdigest()
        key = (session.id, session.generation, t.iteration, weights, eps, entries, seed)
        with _lock:
            found = _kept.get(key)
            if found is not None:
                _kept.move_to_end(key)
                return found
        try:
            result = run_gradcheck(t, eps, max_entries=entries, seed=seed)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None
    result = dict(finite(result))
    result["limit"] = limit
    result["step"] = key[2]
    with _lock:
        _kept[key] = result
        while len(_kept) > KEPT:
            _kept.popitem(last=False)
    return result
