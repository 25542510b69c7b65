"""How much history the database keeps: recent steps in full, older ones downsampled.

A session at full speed writes thousands of step rows a second (35–52 MB per 100k steps), so
keeping every one for ever fills any disk. The rule (promise 22):

* each session's most recent ``history_window_steps`` steps are kept at full resolution (a
  resume by ``Last-Event-ID`` works inside them; further back the stream says ``compacted`` and
  starts at the window: app/streaming/hub.py), and so is everything after its latest checkpoint,
  which a restore replays (app/sessions/recovery.py);
* before the window, every row with full-set metrics (the curves) is kept, and of the others
  the steps that are multiples of a power of two ``stride`` chosen so that about
  ``history_sparse_points`` remain — enough to draw the whole run's loss;
* when the file nears its cap (``max_db_mb``; ``PRESSURE`` of it), sessions nobody runs or
  watches lose their window too, least recently used first, until it is under ``RELIEF``;
* freed pages go back to the file system (incremental vacuum).

``sessions.full_from`` remembers where each session's window starts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from app.core.history import HistoryStore
from app.core.settings import Settings
from app.sessions.session import Session

log = logging.getLogger(__name__)

PRESSURE = 0.8  # of max_db_mb: idle sessions' windows go
RELIEF = 0.6  # ... until the file is under this
MIN_COMPACT = 1000  # steps: fewer newly out of the window are left for the next pass


def sparse_stride(span: int, points: int) -> int:
    """The smallest power of two ``S`` with ``span / S <= points``."""
    stride = 1
    while span > stride * points:
        stride *= 2
    return stride


class Retention:
    """Compacts the history of a manager's sessions (its culler thread calls :meth:`run`)."""

    def __init__(self, store: HistoryStore, settings: Settings) -> None:
        self.store = store
        self.window = settings.history_window_steps
        self.points = settings.history_sparse_points
        self.max_bytes = settings.max_db_mb * 2**20

    def run(self, sessions: Iterable[Session]) -> int:
        """One pass; returns how many sessions were compacted."""
        sessions = list(sessions)
        done = sum(self.compact(s, self.window) for s in sessions)
        if self.store.used_bytes() > PRESSURE * self.max_bytes:
            idle = [s for s in sessions if s.status != "running" and not s.hub.watched]
            for s in sorted(idle, key=lambda s: s.last_seen):
                if self.store.used_bytes() <= RELIEF * self.max_bytes:
                    break
                done += self.saved(s) and self.compact(s, 0)
        if done:
            self.store.vacuum()
        return done

    def compact(self, s: Session, window: int) -> bool:
        """Downsample ``s``'s history before its last ``window`` steps (and before its
        checkpoint); True if rows were deleted."""
        hub = s.hub
        upto = min(hub.last_seq - window, self._checkpoint_seq(s))
        if upto - hub.window_start < (MIN_COMPACT if window else 1):
            return False
        stride = sparse_stride(upto, self.points)
        # the old part holds only the rows kept by earlier passes: scanning it again as the
        # stride doubles is cheap next to the newly compacted part
        write = self.store.submit(
            self.store.compact_history(s.id, upto, stride),
            after=lambda: setattr(hub, "window_start", upto),
            session_id=s.id,
            frees=True,
        )
        if not write.wait(60):
            log.warning("compacting %s failed: %s", s.id, write.error)
            return False
        return True

    @staticmethod
    def saved(s: Session) -> bool:
        """Checkpoint an idle session's unsaved steps, so that all of its history can go (a
        restore replays what follows the checkpoint); False if it could not be saved."""
        with s.lock:
            if s.trainer is None or not s.dirty or s.remote is not None:
                return True
            return s.emit([], checkpoint=True).wait()

    def _checkpoint_seq(self, s: Session) -> int:
        """Seq of the session's stored checkpoint (rows after it are replayed on a restore)."""
        row = self.store.checkpoint_at(s.id)
        if row is None or row[0] != s.generation:
            return 0
        return s.seq_base + row[1]
