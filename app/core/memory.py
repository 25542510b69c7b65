"""What a session holds in the web process, and giving freed memory back to the system.

Per session the web process keeps, besides its small state: the trainer while it is here, the
copies and trajectory points of a run in a worker (``copy``, ``points``), the dataset the copies
share (``data``), the hub's ring of recent step records, and the page's pictures. All of them
can be rebuilt (from the checkpoint, the database, the next frame), and the manager's ``unload``
drops them when a session has been idle a while (app/sessions/manager.py). A trainer holds no
reference cycle (engine/trainer.py), so dropping it frees it at once.

Freeing is not enough for the process to shrink. NumPy and CPython take memory from glibc's
malloc, which serves blocks under its mmap threshold (128 KB at first, raised up to 32 MB as
large blocks are freed) from heaps it keeps after ``free()``: a 13.8k-parameter θ (110 KB), a
trainer's batches, pickled copies. :func:`trim` asks glibc to hand the free pages of every heap
back (``malloc_trim(0)``, which since glibc 2.8 also releases free pages inside a heap, not only
at its top; a few milliseconds). Measured with 20 digits-mlp sessions, the process gives back
65-72 % of what they added (tests/system/server/test_memory.py, bench/bench_memory.py); the rest
is heap pages still shared with live objects, reused by the next sessions. Elsewhere than glibc
(musl, macOS) :func:`trim` does nothing.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Any


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        return ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError, TypeError):  # not glibc, or no C library to open
        return None


MALLOC_TRIM = _malloc_trim()


def held(session: Any) -> bool:
    """Does the session hold anything in this process that an unload would drop?"""
    return (
        session.trainer is not None
        or session.copy is not None
        or session.data is not None
        or session.returned is not None
        or bool(session.points)
        or session.hub.holds_recent()
        or (session.page is not None and session.page.holds_drawn())
    )


def trim() -> bool:
    """Return the free pages of malloc's heaps to the system; True if some were."""
    return MALLOC_TRIM is not None and bool(MALLOC_TRIM(0))
