"""Replay: a session's trainer as it was at any recorded step of its current generation.

    trainer at step n = restore(newest keyframe k ≤ n), then step(n − k)

Keyframes (app/sessions/keyframes.py) are taken every ``replay_every`` (K) steps and after every
change that is not a step, so no change lies between ``k`` and ``n`` and the engine's
determinism makes the result bit-identical to what the uninterrupted run held at step ``n``.
The work is at most K steps (more where old keyframes were thinned), done on a copy built
from the database: the live run is never stopped, and the session's lock is held only to read
its generation and step.

What "the state at step n" is:

* step 0 is the generation's first keyframe (the initial weights), and a keyframe that is the
  only one at or before ``n`` (an imported session's first step) is used as it is;
* otherwise ``n`` is reached by stepping from the newest keyframe *before* it, so the views
  of the last step (gradients, updates, the batch) are step ``n``'s, as ``/state`` showed them;
* when changes happened at step ``n`` itself (an ``event`` keyframe at ``n``), they are
  applied on top, as they were live: the live settings (``Trainer.set_hparams``), then the
  weights and the optimizer's state from the keyframe;
* a ``restore`` keyframe at ``n`` (a divergence revival: the live run went on with a trainer
  restored from its last finite state) is used as it is, as the live run did.

A change made between the phases of an iteration (a weight edited after the forward pass
of a phase-by-phase step) is kept at the iteration's start, which the engine's checkpoint
restarts: the replay of the steps after it then starts that iteration over with the change,
where the live run had finished it with the forward pass of before.
"""

from __future__ import annotations

from typing import Any

from app.core.errors import ApiError
from app.core.history import HistoryStore
from app.core.limits import restore_trainer
from app.core.settings import Settings
from app.sessions.manager import Manager
from app.sessions.recovery import step_sharing
from app.sessions.session import Session
from app.training import keyframe
from engine.config import LIVE_KEYS


def recorded(session: Session) -> tuple[int, int]:
    """``(generation, step)``: the session's generation and its latest step clients were shown
    (its history holds every step up to it)."""
    with session.lock:
        return session.generation, int(session.shown[2].get("iteration", 0))


def out_of_range(step: int, first: int, last: int) -> ApiError:
    """422 naming ``step`` and the range of recorded steps."""
    return ApiError(
        422,
        f"step: {step} is not a recorded step of this session's current generation; the range"
        f" is {first} … {last}",
        field="step",
        limit="recorded_steps",
        maximum=last,
    )


def replay(
    store: HistoryStore, settings: Settings, session: Session, step: int
) -> tuple[Any, int]:
    """A new trainer equal to ``session``'s at ``step`` (see the module docstring) and the
    step of the keyframe it started from; a 422 naming ``step`` when that step is not
    recorded."""
    generation, last = recorded(session)
    if session.last_write is not None:
        session.last_write.done.wait(30)  # the keyframes written before this are readable
    first = _first(store, session.id, generation)
    if step < first or step > last:
        raise out_of_range(step, first, last)
    at = store.keyframe(session.id, generation, step)
    if at is None:
        raise out_of_range(step, first, last)
    if at[0] < step:
        t = _restored(at[2], settings)
        _advance(t, step)
        return t, at[0]
    before = store.keyframe(session.id, generation, step - 1) if step > 0 else None
    if before is None or at[1] == "restore":  # step 0, the first keyframe, a revival
        return _restored(at[2], settings), at[0]
    t = _restored(before[2], settings)
    _advance(t, step)
    if at[1] == "event":  # changes made at this very step
        _apply(t, keyframe.decode(at[2]))
    return t, before[0]


def _first(store: HistoryStore, session_id: str, generation: int) -> int:
    steps = [s for g, s, _, _ in store.keyframe_sizes(session_id) if g == generation]
    return steps[0] if steps else 0


def _restored(blob: bytes, settings: Settings) -> Any:
    return restore_trainer(keyframe.decode(blob), settings)


def _advance(t: Any, step: int) -> None:
    """Step ``t`` to ``step`` (shared with the event loop: app/sessions/recovery.py)."""
    step_sharing(t, step - t.iteration)
    if t.iteration != step and t.status == "ok":
        raise ApiError(409, f"step: the replay stopped at step {t.iteration}", field="step")


def _apply(t: Any, state: dict[str, Any]) -> None:
    """The changes an event keyframe ``state`` recorded, made on ``t`` (at the same step) as
    they were made live."""
    config = state["config"]
    live = {k: config[k] for k in LIVE_KEYS if k in config and config[k] != t.config.get(k)}
    if live:
        t.set_hparams(live)
    t.net.load_state(state["params"], state.get("running", []))
    t.optimizer.load_state_dict(state["optimizer"])


def fork(manager: Manager, session: Session, step: int, name: str | None) -> Session:
    """A new session of the same owner whose trainer is ``session``'s at ``step`` and whose
    history is ``session``'s up to it (its keyframes too, so its own past replays); the
    original is not changed. Quotas apply as to any new session."""
    generation, _ = recorded(session)
    t, _ = replay(manager.store, manager.settings, session, step)
    new = manager.create(session.owner, t.config, name or f"{session.name} @ {step}", t)
    store = manager.store
    copied = store.guarded(new, store.copy_upto(session.id, new.id, generation, step))
    write = store.submit(copied, urgent=True, session_id=new.id)
    manager._stored(write)
    return new
