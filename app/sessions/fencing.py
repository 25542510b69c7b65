"""Fencing tokens: one writer for a session's history even when a lease is not enough.

A lease (app/sessions/leases.py) says which web replica drives a session, but only as long as
the replica can tell time: one stalled longer than its lease (a long GC or VM pause, SIGSTOP)
wakes up still holding the session in memory and would commit its queued batches while the
replica that adopted it meanwhile writes its own (two writers: conflicting seqs and statuses).
Redis cannot stop that; the store can, so the store decides:

* **Claim.** A replica that takes a free lease to hold a session takes a new fencing token from
  Redis (``bpp:<id>:fence``, always above the last) and, before it reads the session's row,
  checkpoint or steps, claims the session in the store with it: ``sessions.fence`` set to the
  token where it is lower (a write, waited for). A created session is claimed once its row is
  stored. The token is the session's ``fence`` here from then on.
* **Guard.** Every write of a session with a fence is led by a guard (app/core/writes.py
  ``guarded``): the session's row must still carry this replica's fence. The guard takes the
  row's lock, so a claim waits for a write already past its guard, and every write after the
  claim finds a newer fence: its guard matches no row, the writer rolls the write back and
  fails it alone (app/core/writer.py ``Fenced``).
* **Fenced.** A replica whose write was fenced stops driving the session at once, as when it
  learns at renewal that another replica holds its lease (``_forfeit``): run recalled, session
  dropped here, nothing more written; it logs that once. Requests for the session then find its
  lease held elsewhere and are forwarded there.

One process (no replicas) never fences: its sessions' fence stays 0 and their writes carry no
guard.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from app.core.errors import ApiError
from app.core.history import HistoryStore
from app.core.writer import Write
from app.sessions.session import Session

log = logging.getLogger(__name__)


class Fencing:
    """Mixed into the manager (see the module docstring)."""

    store: HistoryStore
    sessions: dict[str, Session]
    lock: threading.Lock
    leases: Any
    _fences_lost: set[str]  # the causes logged (made with the repair thread's state)

    def _forfeit(self, session_id: str) -> None:
        raise NotImplementedError

    def _stored(self, write: Write) -> None:
        raise NotImplementedError

    def _claim(self, session_id: str) -> int | None:
        """Hold the session in the store with a new fence (under its lease, before its row is
        read): the fence, or None when the session is not stored. The second try is for a
        Redis that lost the count (its tokens then start below the store's fence)."""
        fence = self.leases.fence(session_id)
        for _ in range(2):
            write = self.store.submit([self.store.claim(session_id, fence)], urgent=True)
            if write.wait():
                return fence
            if not write.fenced:
                self._stored(write)  # the store refused it: a 507 naming the cause
            row = self.store.session_row(session_id)
            if row is None:
                return None
            fence = self.leases.fence(session_id, int(row["fence"]))
        raise ApiError(
            503, f"storage: session {session_id} is being claimed by another replica",
            field="storage", retry_after=1.0,
        )  # fmt: skip

    def _take_new(self, session_id: str) -> int:
        """A new session's lease (a new id: free) and fencing token, taken before its row is
        written (Redis out of reach: a 503 with nothing stored); 0 without replicas."""
        if self.leases is None:
            return 0
        self.leases.take(session_id)
        return int(self.leases.fence(session_id))

    def _claim_new(self, s: Session, fence: int) -> None:
        """A new session, its row stored, claimed with ``fence``: its writes are guarded from
        now on."""
        if fence:
            self._stored(self.store.submit([self.store.claim(s.id, fence)], urgent=True))
            s.fence = fence

    def _fence_lost(self, session_id: str, cause: str) -> None:
        """A write of the session was fenced: another replica claimed it in the store. Stop
        driving it here (the repair thread: never the writer's, which the recall may wait for).
        Logged once per fence (``cause`` names it), however many queued writes it fails."""
        if cause not in self._fences_lost:
            self._fences_lost.add(cause)
            log.warning("%s; stopped here, writing nothing more", cause)
        self._forfeit(session_id)
