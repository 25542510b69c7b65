"""The training backend seam: where trainers live while they train.

The session manager hands a running session's trainer to a :class:`Runner` picked by the
:class:`Backend`, talks to it only in the messages of app/training/messages.py, and hears back
through the two callbacks it gave the backend (a :class:`~app.training.messages.Slice` or
:class:`~app.training.messages.Lost` for each run; the runner's loss). Two implementations,
chosen by ``BPP_BACKEND`` (app/training/backends.py): ``local``, a pool of local worker
processes (app/training/pool.py, the default), and ``ray``, a Ray actor per running session
(app/training/ray_backend.py); the sessions, routes, page and engine do not know which runs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any, Protocol

from app.training import messages

# (the reply's value, or what ``decode`` made of it; the run's remaining budget)
Reply = tuple[Any, int | None]


class Runner(Protocol):
    """One place trainers train (a worker process today)."""

    runs: set[str]  # the sessions training here (for placing new runs)

    @property
    def alive(self) -> bool: ...

    def post(self, msg: messages.ToWorker) -> None:
        """Send a message; never blocks the caller."""

    def drawn(self, sids: list[str]) -> None:
        """The web process took a page frame of each of ``sids`` (messages.Drawn)."""

    def request(
        self,
        kind: type[messages.Request],
        sid: str,
        arg: Any = None,
        decode: Callable[[bytes], Any] | None = None,
    ) -> Future[Reply]:
        """Send a request; its reply (``decode``d, in order with the runner's other messages)
        completes the future, or ``(None, None)`` if the runner is lost first."""
        ...


class Backend(Protocol):
    """All the runners of this server."""

    # a run whose runner is lost starts again by itself, from its checkpoint, on whatever
    # runner ``pick`` gives (app/sessions/remote.py): a cluster loses nodes in the normal
    # course of things, while a local worker that dies is a fault to look into (it pauses)
    resumes_lost: bool

    @property
    def handles(self) -> Sequence[Runner]: ...

    @property
    def running(self) -> int:
        """Runs training now, over all runners."""
        ...

    def warm(self, n: int) -> None:
        """Start up to ``n`` runners before the first run needs one."""

    def pick(self, sid: str) -> Runner:
        """The runner a new run of session ``sid`` goes to (a backend with a runner per
        session names it after ``sid``; a shared pool may ignore it)."""
        ...

    def close(self) -> None: ...
