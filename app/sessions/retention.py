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
* freed pages go back to the file system (incremental vacuum);
* replay's keyframes are thinned to ``replay_mb`` per session, an eighth of it for idle
  sessions under that pressure (the rule: app/sessions/keyframes.py).

``sessions.full_from`` remembers where each session's window starts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from app.core.history import HistoryStore
from app.core.settings import Settings
from app.sessions.keyframes import thin_plan
from app.sessions.session import Session

log = logging.getLogger(__name__)

PRESSURE = 0.8  # of max_db_mb: idle sessions' windows go
RELIEF = 0.6  # ... until the file is under this
MIN_COMPACT = 1000  # steps: fewer newly out of the window are left for the next pass
IDLE_SHARE = 0.125  # of replay_mb: an idle session's keyframes under pressure


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
        self.every = settings.replay_every
        self.keyframe_bytes = settings.replay_mb * 2**20
        self.looked: dict[str, tuple[int, int]] = {}  # session → (generation, seq) last thinned

    def run(self, sessions: Iterable[Session]) -> int:
        """One pass; returns how many sessions were compacted."""
        sessions = list(sessions)
        ids = {s.id for s in sessions}
        self.looked = {k: v for k, v in self.looked.items() if k in ids}
        done = sum(self.compact(s, self.window) for s in sessions)
        done += sum(self.thin(s, self.keyframe_bytes) for s in sessions)
        if self.store.used_bytes() > PRESSURE * self.max_bytes:
            idle = [s for s in sessions if s.status != "running" and not s.hub.watched]
            for s in sorted(idle, key=lambda s: s.last_seen):
                if self.store.used_bytes() <= RELIEF * self.max_bytes:
                    break
                done += self.saved(s) and self.compact(s, 0)
                done += self.thin(s, IDLE_SHARE * self.keyframe_bytes, force=True)
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
            self.store.guarded(s, self.store.compact_history(s.id, upto, stride)),
            after=lambda: setattr(hub, "window_start", upto),
            session_id=s.id,
            frees=True,
        )
        if not write.wait(60):
            log.warning("compacting %s failed: %s", s.id, write.error)
            return False
        return True

    def thin(self, s: Session, budget: float, force: bool = False) -> bool:
        """Thin ``s``'s keyframes to ``budget`` bytes and drop its older generations' (looked
        at once the session has moved on by ``replay_every`` steps, or when ``force``d); True
        if some were deleted."""
        mark = (s.generation, s.seq)
        last = self.looked.get(s.id)
        if not force and last is not None and last[0] == mark[0] and mark[1] - last[1] < self.every:
            return False
        self.looked[s.id] = mark
        sizes = self.store.keyframe_sizes(s.id)
        statements = []
        if any(g < s.generation for g, *_ in sizes):
            statements.append(self.store.drop_keyframes(s.id, s.generation))
        current = [(step, kind, b) for g, step, kind, b in sizes if g == s.generation]
        plan = thin_plan(current, self.every, budget)
        if plan is not None:
            statements.append(self.store.thin_keyframes(s.id, s.generation, *plan))
        if not statements:
            return False
        write = self.store.submit(self.store.guarded(s, statements), session_id=s.id, frees=True)
        if not write.wait(60):
            log.warning("thinning the keyframes of %s failed: %s", s.id, write.error)
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
