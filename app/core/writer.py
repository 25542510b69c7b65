"""The database's one writer: a thread that commits queued writes in small batches, and what
happens when the database refuses them. Both stores use it (app/core/store.py for SQLite,
app/core/pgstore.py for PostgreSQL); what differs is their :class:`Sink` (how a transaction runs,
how a probe tests for room, which errors mean the storage is failing).

Writes are committed in the order they were submitted; each may carry an ``after`` callback that
runs once it is committed (the stream hub publishes steps only then: a step a client has seen
is stored). A kill -9 loses at most the batch being gathered (RELIABILITY.md promise 15).

A write that fails is a failure its caller sees (promise 19): ``after`` does not run,
``Write.error`` names the cause, and ``on_failed`` hands it to the session manager, which puts
the session back to what the database holds. Two kinds of failure:

* **storage** (the disk is full, read-only, or gone: SQLite's FULL, READONLY, IOERR, ...;
  PostgreSQL down or over its size cap): the writer enters a *failing episode*. The writes after
  the one that failed are not attempted (they fail at once with the same cause), so the
  database always holds a prefix of what was submitted; writes that only free space (deleting a
  session, compacting history) are still tried. Every ``PROBE_SECONDS`` the sink's probe (a
  transaction that needs ``PROBE_BYTES`` of room) is tried; when it commits, the episode is
  over (``on_recovered``). It is logged once at each end, not per write.
* **a bad write** (a value the database cannot bind, a constraint): that write alone fails; the
  others of its batch commit.
* **a fenced write** (web replicas, app/sessions/fencing.py): a write's first statement may be
  a *guard* (``many`` is :data:`GUARD`), an UPDATE that must match exactly one row: that its
  replica still holds the session in the store. When it matches none, :class:`Fenced` rolls
  the write's transaction back and that write alone fails (``Write.fenced``), as a bad write
  does: another replica claimed the session since, so nothing of this one may be stored.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

log = logging.getLogger(__name__)

# (sql, params, many): ``many`` True when params is a list of rows, GUARD for a guard
Statement = tuple[str, Sequence[Any] | Iterable[Sequence[Any]], bool | Literal["guard"]]
GUARD: Literal["guard"] = "guard"  # a statement whose row count must be 1 (else Fenced)
PROBE_SECONDS = 1.0
PROBE_BYTES = 256 * 1024  # room a probe needs: a little more than a batch of steps


class Fenced(Exception):
    """A guard matched no row: the session is another replica's in the store now."""

    def __init__(self, session_id: Any, fence: Any) -> None:
        super().__init__(
            f"fenced: session {session_id} is no longer held here in the store (its fence is"
            f" no longer {fence}: another replica claimed it)"
        )


class Done:
    """A one-shot signal: set once (by the writer thread), waited for by any number of threads.
    A lock held from the start and released when set: :class:`threading.Event` makes a
    condition and a lock, and a write is made for every batch of steps a run sends (a
    classroom's thousands a second, where the Event was 3 % of the web process's time)."""

    __slots__ = ("_lock", "_set")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lock.acquire()
        self._set = False

    def set(self) -> None:
        if not self._set:
            self._set = True
            self._lock.release()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float | None = None) -> bool:
        """True once set; False if ``timeout`` seconds passed first."""
        if self._set:
            return True
        if self._lock.acquire(timeout=-1 if timeout is None else timeout):
            self._lock.release()  # the next waiter passes too
            return True
        return self._set


@dataclass
class Write:
    """One unit of work: statements in one transaction, then ``after`` once committed.

    ``frees``: the write only deletes, so it is tried during a storage failure too."""

    statements: list[Statement]
    after: Callable[[], None] | None = None
    urgent: bool = False
    session_id: str | None = None
    frees: bool = False
    error: str | None = None  # set when the write failed: the cause, in words
    fenced: bool = False  # it failed because its guard matched no row (:class:`Fenced`)
    done: Done = field(default_factory=Done)

    def wait(self, timeout: float = 30.0) -> bool:
        """True once the write is committed; False when it failed or did not end in time."""
        return self.done.wait(timeout) and self.error is None


@dataclass
class Control:
    """Work for the writer's thread outside the queue's transactions (vacuum, reopen), run in
    order with the writes."""

    run: Callable[[], None]
    done: threading.Event = field(default_factory=threading.Event)


class Sink(Protocol):
    """What the writer writes to: one dialect's transactions (used by the writer thread only)."""

    def transact(self, batch: list[Write]) -> None:
        """Run every statement of ``batch`` in one transaction and commit it; on an error,
        roll back and raise."""
        ...

    def probe(self) -> None:
        """Commit a transaction that needs ``PROBE_BYTES`` of room and leaves nothing behind;
        raise while the storage still refuses."""
        ...

    def storage_cause(self, exc: BaseException) -> str | None:
        """The cause in words if ``exc`` is the storage failing (not the statement), else
        None."""
        ...


def run_statements(
    execute: Callable[[str, Sequence[Any]], object],
    executemany: Callable[[str, Iterable[Sequence[Any]]], object],
    batch: list[Write],
) -> None:
    """Every statement of ``batch`` in order, through a connection's or cursor's methods
    (``execute`` returns a cursor: a guard's row count is read from it)."""
    for write in batch:
        for sql, params, many in write.statements:
            if many == GUARD:
                if cast(Any, execute(sql, cast(Sequence[Any], params))).rowcount != 1:
                    # a guard's parameters end with (session id, fence)
                    raise Fenced(*cast(Sequence[Any], params)[-2:])
            elif many:
                executemany(sql, cast(Iterable[Sequence[Any]], params))
            else:
                execute(sql, cast(Sequence[Any], params))


class Writer:
    """The writer thread over ``sink`` (which it alone uses)."""

    def __init__(
        self,
        sink: Sink,
        commit_interval: float,
        on_failed: Callable[[Write], None] | None = None,
        on_recovered: Callable[[], None] | None = None,
    ) -> None:
        self.sink = sink
        self.commit_interval = commit_interval
        self.on_failed, self.on_recovered = on_failed, on_recovered
        self.failing: str | None = None  # the cause, during a storage failure episode
        self.failing_since = 0.0
        self._last_probe = 0.0
        self._queue: queue.Queue[Write | Control | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="bpp-writer", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> Write:
        self._queue.put(write)
        return write

    def control(self, run: Callable[[], None]) -> Control:
        item = Control(run)
        self._queue.put(item)
        return item

    def close(self, timeout: float = 30.0) -> None:
        """Commit everything queued, then stop."""
        self._queue.put(None)
        self._thread.join(timeout)

    # ---- the thread --------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                first = self._queue.get(timeout=PROBE_SECONDS if self.failing else None)
            except queue.Empty:
                self._probe()
                continue
            if first is None:
                return
            batch: list[Write] = []
            stop = self._gather(first, batch)
            if batch:
                self._commit(batch)
            if self.failing and time.monotonic() - self._last_probe >= PROBE_SECONDS:
                self._probe()
            if stop:
                return

    def _gather(self, first: Write | Control, batch: list[Write]) -> bool:
        """Writes arriving within ``commit_interval`` of the first join its batch (an urgent
        one ends the wait); a control item runs in order. True when told to stop."""
        item: Write | Control | None = first
        deadline = time.monotonic() + self.commit_interval
        while True:
            if item is None:
                return True
            if isinstance(item, Control):
                if batch:
                    self._commit(batch)
                    batch.clear()
                self._run_control(item)
            else:
                batch.append(item)
                if item.urgent:
                    deadline = 0.0
            try:
                item = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                return False

    def _run_control(self, item: Control) -> None:
        try:
            item.run()
        except Exception:
            log.exception("database maintenance failed")
        finally:
            item.done.set()

    def _commit(self, batch: list[Write]) -> None:
        if not self.failing:
            try:
                self.sink.transact(batch)
            except Exception:
                pass  # find the write at fault below, one by one
            else:
                for write in batch:
                    self._committed(write)
                return
        for write in batch:
            if self.failing and not write.frees:
                self._failed(write, self.failing)
                continue
            try:
                self.sink.transact([write])
            except Fenced as exc:  # its replica logs it, once (app/sessions/fencing.py)
                write.fenced = True
                self._failed(write, str(exc))
            except Exception as exc:
                cause = self.sink.storage_cause(exc)
                if cause is None:
                    log.error("write failed (%r): %.80s", exc, write.statements[0][0])
                elif not self.failing:
                    self._begin_episode(cause)
                self._failed(write, cause or f"the write was refused: {exc!r}")
            else:
                self._committed(write)

    def _committed(self, write: Write) -> None:
        if write.after is not None:
            try:
                write.after()
            except Exception:  # a publisher bug must not stop the writer
                log.exception("after-commit callback failed")
        write.done.set()

    def _failed(self, write: Write, cause: str) -> None:
        write.error = cause
        write.done.set()
        if self.on_failed is not None:
            try:
                self.on_failed(write)
            except Exception:
                log.exception("failed-write handler failed")

    # ---- failure episodes ----------------------------------------------------------------------

    def _begin_episode(self, cause: str) -> None:
        self.failing, self.failing_since = cause, time.monotonic()
        self._last_probe = time.monotonic()
        log.error("storage failing, writes refused until it recovers: %s", cause)

    def _probe(self) -> None:
        """Try the sink's probe; when it commits, the episode is over."""
        self._last_probe = time.monotonic()
        try:
            self.sink.probe()
        except Exception as exc:
            self.failing = self.sink.storage_cause(exc) or repr(exc)
            return
        seconds = time.monotonic() - self.failing_since
        log.warning("storage writable again after %.1f s", seconds)
        self.failing = None
        if self.on_recovered is not None:
            try:
                self.on_recovered()
            except Exception:
                log.exception("storage-recovered handler failed")
