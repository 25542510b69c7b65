"""Trainers in Ray actors (``BPP_BACKEND=ray``): the training backend seam on a Ray cluster.

Each running session's trainer lives in a Ray actor named after the session, in the namespace
``settings.ray_namespace`` (another web replica finds it with ``ray.get_actor(sid,
namespace=...)``), placed by Ray wherever ``settings.ray_actor_cpus`` CPUs are free.

Inside the actor (:class:`TrainerActor`) runs the same worker as in a local worker process
(app/training/worker.py ``main``), on a thread, with an in-process pipe for its connection: so
a slice is trained, paced and encoded by the same code (the same step rows, weight frames,
checkpoints, replay keyframes and page frames). The actor's two methods are the pipe's other
end: ``post(msgs)`` writes a list of messages (app/training/messages.py) into it, ``next(wait)``
long-polls what the worker sent, in order.

In the web process a :class:`RayRunner` is the session's runner (app/training/backend.py): its
sender thread calls ``post`` and waits for each call before the next (so messages arrive in the
order they were posted), and its receiver thread calls ``next`` in a loop and hands slices to the
manager's callbacks like a worker process's receiver (app/training/channel.py, shared with the
pool). A reply comes after the slices sent before it, as from a pipe.

When the actor dies (its node lost, its process killed), ``next`` raises
:class:`ray.exceptions.RayActorError`; one that does not answer in ``LOST_AFTER`` seconds
(``START_AFTER`` before its first answer: placing it and starting its worker) is taken for
dead too. Either way the runner is lost, pending requests get ``(None, None)``
and the manager pauses its session at its last checkpoint, exactly as for a dead worker process
(app/sessions/recovery.py). Then, as this backend ``resumes_lost``, the manager runs it again
(app/sessions/remote.py): a new actor, which Ray places on a live node, trains the trainer
rebuilt from the checkpoint and the stored history after it; clients see the pause (its reason)
and the run going on, every step once.

An actor outlives its run by ``settings.ray_idle_seconds`` (a run resumed meanwhile starts at
once: making an actor takes about a second), then ends, freeing its CPUs. Actors belong to the
web process that made them (not detached): they end with it.

This module imports ``ray`` (a second or more to import) and is imported only when the backend
is selected (app/training/backends.py).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import ray
from ray.exceptions import ActorAlreadyExistsError, GetTimeoutError, RayActorError

from app.core.settings import Settings
from app.training import messages, runs, worker
from app.training.channel import Channel, FromRunner
from app.training.pool import worker_options

log = logging.getLogger(__name__)

NEXT_WAIT = 0.5  # seconds one next() call waits for the worker's messages
GATHER = 0.02  # ... and, having some, until this long after the last call (≤ 50 calls/s)
LOST_AFTER = 30.0  # seconds without an answer from the actor: it is lost
# ... until it first answers: placing it and starting its Python worker (which imports the
# engine) took up to 27 s on a busy 2-core machine, and a bound below that lost every new actor
START_AFTER = 90.0
NAME_WAIT = 10.0  # seconds to wait for a dead actor's name to be free again


class TrainerActor:
    """A worker (app/training/worker.py) on a thread of a Ray actor; see the module docstring.

    Made with ``max_concurrency=2``: one ``next`` waits while a ``post`` goes in."""

    def __init__(self, options: runs.Options) -> None:
        self.conn, child = multiprocessing.Pipe(duplex=True)
        self._child = child  # the worker's end: kept open as long as the actor lives
        self.worker = threading.Thread(
            target=worker.main, args=(child, options), name="bpp-trainer", daemon=True
        )
        self.worker.start()
        self.returned = 0.0  # when next() last returned (monotonic)

    def post(self, msgs: list[messages.ToWorker]) -> None:
        """Hand the worker a list of messages, in order."""
        self.conn.send(msgs)

    def next(self, wait: float) -> list[Any]:
        """The worker's next messages in order ([] if none within ``wait`` seconds); having
        some, gathers more until ``GATHER`` after the previous call returned, so a busy run
        costs at most 1/GATHER calls a second."""
        out: list[Any] = []
        if self.conn.poll(wait):
            until = self.returned + GATHER
            while True:
                out += self.conn.recv()
                left = until - time.monotonic()
                if left <= 0 or not self.conn.poll(left):
                    break
        elif not self.worker.is_alive():
            # a worker that failed outside a run: the runner must not wait on it forever
            raise RuntimeError("the trainer's worker thread ended")
        self.returned = time.monotonic()
        return out

    def node(self) -> str:
        """The Ray node id this actor runs on (hex)."""
        return str(ray.get_runtime_context().get_node_id())


class RayRunner(Channel):
    """One session's actor, seen from the web process."""

    GONE = (RayActorError, GetTimeoutError)

    def __init__(
        self,
        sid: str,
        actor: Any,
        on_message: Callable[[Any, FromRunner], None],
        on_lost: Callable[[Any], None],
    ) -> None:
        super().__init__(on_message, on_lost)
        self.sid = sid
        self.actor = actor
        self.touched = time.monotonic()  # last seen training or picked (for the idle reaper)
        self.answered = False  # the actor has answered a call: it was placed and started
        self._start(f"bpp-ray-{sid[:8]}")

    def _call(self, ref: Any) -> Any:
        """The call's result, if it comes in time (see ``LOST_AFTER``, ``START_AFTER``)."""
        out = ray.get(ref, timeout=LOST_AFTER if self.answered else START_AFTER)
        self.answered = True
        return out

    def _send(self, msgs: list[messages.ToWorker]) -> None:
        # waiting for each call keeps the order: actor calls may run out of order otherwise
        self._call(self.actor.post.remote(msgs))

    def _receive(self) -> list[Any]:
        msgs: list[Any] = self._call(self.actor.next.remote(NEXT_WAIT))
        return msgs

    def _abort(self) -> None:
        with contextlib.suppress(Exception):  # already dead is fine
            ray.kill(self.actor, no_restart=True)

    def _gone(self) -> None:
        # an actor that stopped answering (or was never placed: a full cluster) must not
        # train on unheard once its runs are reported lost
        self._abort()

    def close(self) -> None:
        """End the actor (its receiver then reports it lost, with no runs left)."""
        self._end_sending()
        self._abort()


class RayBackend:
    """Every session actor this web process made (app/training/backend.py ``Backend``)."""

    resumes_lost = True  # a lost node's runs start again elsewhere, from their checkpoints

    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[Any, FromRunner], None],
        on_lost: Callable[[Any], None],
    ) -> None:
        self.settings = settings
        self.namespace = settings.ray_namespace
        self._on_message, self._on_lost = on_message, on_lost
        self._runners: dict[str, RayRunner] = {}
        self._lock = threading.Lock()
        self._closed = threading.Event()
        if not ray.is_initialized():  # one connection a process: in-process apps share it
            # ray.init sets a SIGTERM handler that exits at once; the server's own (uvicorn's:
            # drain the sessions first, promise 20) is put back
            previous = signal.getsignal(signal.SIGTERM)
            ray.init(
                address=settings.ray_address,
                namespace=self.namespace,
                _node_ip_address=str(settings.ray_node_ip_address),
                log_to_driver=False,
                logging_level=logging.WARNING,
            )
            if threading.current_thread() is threading.main_thread():
                signal.signal(signal.SIGTERM, previous)
        self._actor_class = ray.remote(TrainerActor)
        self._actor_options = {
            "num_cpus": settings.ray_actor_cpus,
            "max_concurrency": 2,
            "max_restarts": 0,  # a lost actor is re-made by the next run, from the checkpoint
        }
        # three page frames on their way: an actor's messages come back in gathers of up to
        # GATHER, which lengthens the round trip that PAGE_CREDIT covers
        self._options = replace(worker_options(settings), page_credit=3)
        self._reaper = threading.Thread(target=self._reap_loop, name="bpp-ray-reap", daemon=True)
        self._reaper.start()

    @property
    def handles(self) -> Sequence[RayRunner]:
        return list(self._runners.values())

    @property
    def running(self) -> int:
        return sum(len(r.runs) for r in self.handles)

    def warm(self, n: int) -> None:
        """Nothing to start ahead: an actor is made for a session's run (ray.init connected)."""

    def pick(self, sid: str) -> RayRunner:
        """The session's actor: the one it has if still alive, else a new one."""
        with self._lock:
            if self._closed.is_set():
                raise RuntimeError("the Ray backend is closed")
            runner = self._runners.get(sid)
            if runner is None or not runner.alive:
                runner = RayRunner(sid, self._make_actor(sid), self._on_message, self._lost)
                self._runners[sid] = runner
            runner.touched = time.monotonic()
            return runner

    def _make_actor(self, sid: str) -> Any:
        """A new actor named ``sid``; a dead one's name is freed by Ray a moment after its
        death is known, and a stale one (its runner gave up on it) is ended first."""
        deadline = time.monotonic() + NAME_WAIT
        while True:
            try:
                named = self._actor_class.options(
                    name=sid, namespace=self.namespace, **self._actor_options
                )
                return named.remote(self._options)
            except ActorAlreadyExistsError:
                if time.monotonic() > deadline:
                    raise
                with contextlib.suppress(ValueError):
                    ray.kill(ray.get_actor(sid, namespace=self.namespace), no_restart=True)
                time.sleep(0.05)

    def _lost(self, gone: RayRunner) -> None:
        with self._lock:
            if self._runners.get(gone.sid) is gone:
                del self._runners[gone.sid]
        self._on_lost(gone)

    def _reap_loop(self) -> None:
        """End the actors idle for ``ray_idle_seconds`` (a run keeps its actor busy)."""
        idle = self.settings.ray_idle_seconds
        every = max(0.2, min(5.0, idle / 2))
        while not self._closed.wait(every):
            now = time.monotonic()
            ended = []
            with self._lock:
                for sid, runner in list(self._runners.items()):
                    if runner.runs:
                        runner.touched = now
                    elif now - runner.touched >= idle:
                        ended.append(self._runners.pop(sid))
            for runner in ended:
                runner.close()

    def close(self) -> None:
        self._closed.set()
        with self._lock:
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.close()
        self._reaper.join(timeout=10)
        # the connection stays for the process's other apps (ray's atexit hook ends it)

