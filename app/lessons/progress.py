"""Where a learner is in a lesson, and the verdict of each check on the live facts.

A check is ``pending`` (its run has not got there yet: before ``after_epoch``/``after_iteration``,
or the fact is not known yet), ``ok`` or ``not``. A check that does not hold is said honestly,
with why: the check's own reason, and the settings of the learner's run that differ from the
step's (a different seed, a changed rate), since those are the usual cause.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from app.lessons.facts import METRIC_FACTS, metrics_step
from app.lessons.model import Check, Lesson, Step
from app.page.draw.palette import fmt
from engine.config import normalize_config

OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
}
DIFFS_SHOWN = 3
# facts that are shares: written as percentages ("43.1 %")
PERCENT = frozenset(
    {"train_loss_drop", "test_loss_rise", "batch_loss_noise", "train_acc", "val_acc", "test_acc"}
)


@dataclass
class LessonState:
    """A page's place in lesson ``name``: the step shown and the facts kept from the steps
    left so far (``recorded["sgd"]["test_acc"]``)."""

    name: str
    step: int = 0
    recorded: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the run's marker (:func:`marker`) when the step was first judged: until it moves, the
    # learner has done nothing in this step, and no check is judged yet (the last step's
    # phase is not this step's failure)
    mark: tuple[Any, ...] | None = None

    def key(self) -> tuple[Any, ...]:
        """What a redraw depends on (the page feed compares it between frames)."""
        return (self.name, self.step, repr(sorted(self.recorded.items())), self.mark)


def marker(facts: dict[str, Any]) -> tuple[Any, ...]:
    """What moves when the learner does anything: a step, a phase, a run, a gradient check."""
    return tuple(facts.get(k) for k in ("generation", "iteration", "last_phase",
                                         "gradcheck_evals", "status"))


def shown(value: Any, fact: str = "") -> str:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return str(value)
    if fact in PERCENT:
        return f"{100 * float(value):.1f} %"
    whole = isinstance(value, float) and value.is_integer() and abs(value) < 1e15
    if isinstance(value, int) or whole:
        return f"{int(value):,}"
    return fmt(float(value))


def target_of(check: Check, recorded: dict[str, dict[str, Any]]) -> Any:
    """The value the fact is compared with (None while its recorded ref is unknown)."""
    if check.ref is None:
        return check.value
    step_id, fact = check.ref.split(".")
    base = recorded.get(step_id, {}).get(fact)
    if base is None:
        return None
    return base * check.factor if check.factor != 1.0 else base


def reached(check: Check, facts: dict[str, Any], metric_step: int | None) -> bool:
    """Has the run got as far as the check waits for?"""
    ipe = facts.get("iterations_per_epoch") or 0
    need = check.after_iteration
    if check.after_epoch is not None:
        need = max(need or 0, check.after_epoch * ipe)
        if (facts.get("epoch") or 0) < check.after_epoch:
            return False
    if need is None:
        return True
    if (facts.get("iteration") or 0) < need:
        return False
    return check.fact not in METRIC_FACTS or (metric_step is not None and metric_step >= need)


def verdict(
    check: Check, facts: dict[str, Any], recorded: dict[str, dict[str, Any]],
    metric_step: int | None, lang: str,
) -> dict[str, Any]:
    """One check's state: ``{"state": pending|ok|not, "fact", "value", "target", "text"}``."""
    value, target = facts.get(check.fact), target_of(check, recorded)
    state = "pending"
    if reached(check, facts, metric_step) and value is not None and target is not None:
        numeric = isinstance(value, (int, float)) and isinstance(target, (int, float))
        if numeric and not (math.isfinite(float(value)) and math.isfinite(float(target))):
            state = "not"
        elif numeric or (isinstance(value, str) and isinstance(target, str)):
            state = "ok" if OPS[check.op](value, target) else "not"
        else:
            state = "not"
    base = target_of(check.model_copy(update={"factor": 1.0}), recorded)  # the ref's own
    text = check.say.pick(lang).format(
        value="…" if value is None else shown(value, check.fact),
        target="…" if target is None else shown(target, check.fact),
        base="…" if base is None else shown(base, check.fact),
    )
    out = {
        "state": state,
        "fact": check.fact,
        "op": check.op,
        "value": value,
        "target": target,
        "text": text,
    }
    if state == "not" and check.why is not None:
        out["why"] = check.why.pick(lang)
    return out


def _flat(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def differences(lesson: Lesson, k: int, config: dict[str, Any]) -> list[str]:
    """The settings of ``config`` that differ from step ``k``'s ("optimizer.lr: 0.5, lesson
    0.01"), at most :data:`DIFFS_SHOWN`; the usual reason a claim does not hold in a run."""
    want = _flat(normalize_config(lesson.config_at(k)))
    have = _flat(normalize_config(config))
    out = []
    for key in sorted(set(want) | set(have)):
        if want.get(key) != have.get(key):
            out.append(f"{key}: {have.get(key)!r} ≠ {want.get(key)!r}")
    return out[:DIFFS_SHOWN]


def progress(
    lesson: Lesson, state: LessonState, facts: dict[str, Any], config: dict[str, Any],
    curves: Any, lang: str,
) -> dict[str, Any]:
    """The lesson region's data and the REST answer: the step, its checks' verdicts and, when
    one does not hold, how the run's settings differ from the step's."""
    k = min(max(state.step, 0), len(lesson.steps) - 1)
    step: Step = lesson.steps[k]
    at = metrics_step(curves)
    if state.mark is None:
        state.mark = marker(facts)
    untouched = marker(facts) == state.mark
    checks = [verdict(c, facts, state.recorded, at, lang) for c in step.checks]
    running = facts.get("status") == "running"
    for check, c in zip(step.checks, checks, strict=True):
        # nothing done in this step yet (a value left from before is no verdict), or a run
        # still on its way to a check that names no epoch to wait for
        open_ended = check.after_epoch is None and check.after_iteration is None
        if c["state"] == "not" and (untouched or (running and open_ended)):
            c["state"] = "pending"
            c.pop("why", None)
    failing = any(c["state"] == "not" for c in checks)
    return {
        "lesson": lesson.name,
        "title": lesson.title.pick(lang),
        "claim": lesson.claim.pick(lang),
        "step": k,
        "steps": len(lesson.steps),
        "id": step.id,
        "do": step.do.pick(lang),
        "watch": step.watch,
        "act": step.act,
        "run": step.run.model_dump(exclude_none=True) if step.run else None,
        "checks": checks,
        "done": bool(checks) and all(c["state"] == "ok" for c in checks),
        "differs": differences(lesson, k, config) if failing else [],
        "recorded": state.recorded,
    }


def leave(lesson: Lesson, state: LessonState, facts: dict[str, Any]) -> None:
    """Keep the current step's ``record`` facts (the learner moves on from it)."""
    step = lesson.steps[min(state.step, len(lesson.steps) - 1)]
    if step.record:
        state.recorded[step.id] = {f: facts.get(f) for f in step.record}
