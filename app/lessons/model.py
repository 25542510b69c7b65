"""What a lesson file says, validated: ``app/lessons/data/<name>.toml``, one file a lesson.

A lesson file holds, in both languages (``{en = "…", ko = "…"}`` tables)::

    name, order, title, claim        the curriculum's claim, in one sentence
    race                             a race preset: its config is the base, and the page
                                     links the race that shows the claim side by side
    [config]                         the session config the lesson starts from
    [[steps]]                        in order; each one:
      id                             a short name ([a-z0-9_]+), unique in the lesson
      setup                          config keys changed on entering the step (merged over
                                     the config and every earlier step's setup: a reset)
      act                            phase | iteration | run | gradcheck: what to do, which
                                     the lesson panel's button also does
      run = {epochs|iterations, speed}   the budget of act = "run"
      do, watch                      what to do, in words; the page element to look at (an id)
      record = [fact, …]             facts kept when the learner leaves the step
      [[steps.checks]]               fact, op (< <= > >= ==), value or ref ("step.fact",
                                     times factor), after_epoch / after_iteration (pending
                                     until then), say ("{value}", "{target}"), why (when not)

Everything is checked when the files are read (:func:`load`): unknown keys, unknown facts, a
ref to a fact no earlier step records, a config the engine refuses. A broken lesson file stops
the server at start, never a learner mid-lesson.
"""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.lessons.facts import FACTS
from app.sessions.race_presets import race_preset
from engine.config import merge_config, normalize_config

DATA = Path(__file__).with_name("data")
LANGS = ("en", "ko")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Text(Strict):
    """A sentence in both languages."""

    en: str = Field(min_length=1)
    ko: str = Field(min_length=1)

    def pick(self, lang: str) -> str:
        return self.ko if lang == "ko" else self.en


class Check(Strict):
    """One "what you should see": ``fact op target``, target = ``value`` or a recorded
    ``ref`` × ``factor``; pending until the run has passed ``after_epoch``/``after_iteration``."""

    fact: str
    op: Literal["<", "<=", ">", ">=", "=="]
    value: float | str | None = None
    ref: str | None = Field(default=None, pattern=r"^[a-z0-9_]+\.[a-z0-9_]+$")
    factor: float = 1.0
    after_epoch: int | None = Field(default=None, ge=0)
    after_iteration: int | None = Field(default=None, ge=0)
    say: Text
    why: Text | None = None

    @model_validator(mode="after")
    def _target(self) -> Check:
        if (self.value is None) == (self.ref is None):
            raise ValueError("a check needs exactly one of value, ref")
        if self.fact not in FACTS:
            raise ValueError(f"fact: unknown fact {self.fact!r}; known: {sorted(FACTS)}")
        return self


class Run(Strict):
    """The step's budget button: ``epochs`` or ``iterations`` at ``speed`` steps/s (None:
    full speed)."""

    epochs: int | None = Field(default=None, ge=1, le=100_000)
    iterations: int | None = Field(default=None, ge=1, le=1_000_000)
    speed: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one(self) -> Run:
        if (self.epochs is None) == (self.iterations is None):
            raise ValueError("run: give exactly one of epochs, iterations")
        return self


# what a step asks the learner to do, which the lesson panel's own button also does: one
# phase, one iteration, the step's run budget, or the gradient check
ACTS = ("phase", "iteration", "run", "gradcheck")


class Step(Strict):
    id: str = Field(pattern=r"^[a-z0-9_]+$")
    setup: dict[str, Any] | None = None
    act: Literal["phase", "iteration", "run", "gradcheck"] | None = None
    run: Run | None = None
    do: Text
    watch: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9-]*$")
    record: list[str] = Field(default_factory=list)
    checks: list[Check] = Field(default_factory=list)

    @model_validator(mode="after")
    def _run_given(self) -> Step:
        if (self.act == "run") != (self.run is not None):
            raise ValueError("act = \"run\" and a run budget go together")
        return self


class Lesson(Strict):
    name: str = Field(pattern=r"^[a-z0-9-]+$")
    order: int
    title: Text
    claim: Text
    # a race preset (app/sessions/race_presets.py): its config is the lesson's base, and the
    # page offers the race (the same claim, side by side)
    race: str | None = None
    config: dict[str, Any] = Field(default_factory=dict)
    steps: list[Step] = Field(min_length=1)

    def config_at(self, k: int) -> dict[str, Any]:
        """The config of step ``k``: the race preset's (if any) with the lesson's over it, then
        the setups of steps 0..k merged in order (going back a step gives back exactly that
        step's settings)."""
        base = race_preset(self.race) if self.race else None
        config = copy.deepcopy(self.config)
        if base is not None:
            config = merge_config(base["config"], config)
        for step in self.steps[: k + 1]:
            if step.setup:
                config = merge_config(config, step.setup)
        return config

    @model_validator(mode="after")
    def _consistent(self) -> Lesson:
        if self.race is not None and race_preset(self.race) is None:
            raise ValueError(f"race: unknown race preset {self.race!r}")
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError(f"steps: ids must be unique, got {ids}")
        kept: set[str] = set()
        for k, step in enumerate(self.steps):
            for fact in step.record:
                if fact not in FACTS:
                    raise ValueError(f"steps[{k}].record: unknown fact {fact!r}")
            for check in step.checks:
                if check.ref is not None and check.ref not in kept:
                    raise ValueError(
                        f"steps[{k}] ({step.id}): ref {check.ref!r} is recorded by no earlier step"
                    )
            kept |= {f"{step.id}.{fact}" for fact in step.record}
            normalize_config(self.config_at(k))  # raises ValueError naming the key
        return self


def load(folder: Path = DATA) -> dict[str, Lesson]:
    """Every lesson file of ``folder``, in the order their ``order`` gives; a file whose
    ``name`` differs from its file name is refused (a link must find it by either)."""
    lessons: list[Lesson] = []
    for path in sorted(folder.glob("*.toml")):
        with path.open("rb") as f:
            raw = tomllib.load(f)
        try:
            lesson = Lesson.model_validate(raw)
        except ValueError as exc:
            raise ValueError(f"{path.name}: {exc}") from None
        if lesson.name != path.stem:
            raise ValueError(f"{path.name}: name {lesson.name!r} differs from the file name")
        lessons.append(lesson)
    return {lesson.name: lesson for lesson in sorted(lessons, key=lambda x: x.order)}


LESSONS: dict[str, Lesson] = load()
