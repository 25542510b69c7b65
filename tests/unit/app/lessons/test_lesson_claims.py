"""Every lesson's claims hold in the engine: each step played as its act says, on a trainer of
the step's config, with the facts gathered the way the page gathers them (the curves' metric
rows, the recent batch losses, the gradient check), and every check of every step is ✓.

This is the lesson files' own test (a threshold that the engine does not reach fails here,
fast, before any browser test); tests/browser/test_lessons.py plays them on the page."""

from __future__ import annotations

import math
from typing import Any

import pytest

from app.lessons.facts import gather
from app.lessons.model import LESSONS, Lesson
from app.lessons.progress import LessonState, leave, progress
from app.page import frames
from app.page.draw.charts import Curves
from engine.inspect import readouts
from engine.inspect.flow import flow
from engine.inspect.gradcheck import gradcheck
from engine.trainer import Trainer

REQUIRED = {
    "backprop-order", "learning-rate", "counting", "batch-size", "vanishing-gradients",
    "numerical-gradient", "hidden-layers", "keras-mlp", "optimizers", "overfitting",
    "batch-norm", "loss-choice", "activations", "losses",
}


class Play:
    """A lesson played on a bare trainer: what the session and its page would hold."""

    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.state = LessonState(lesson.name)
        self.t: Trainer | None = None
        self.curves = Curves()
        self.losses: list[float] = []
        self.gc: dict[str, Any] | None = None
        self.status = "paused"

    def enter(self, k: int) -> None:
        self.state.step, self.state.mark = k, None
        if k == 0 or self.lesson.steps[k].setup:
            self.t = Trainer(self.lesson.config_at(k))  # the lesson's reset
            self.curves, self.losses, self.gc, self.status = Curves(), [], None, "paused"

    def _row(self) -> None:
        t = self.t
        assert t is not None
        row = {"step": t.iteration, "metrics": readouts.metrics(t), "flow": flow(t)}
        self.curves.add(row, keep=True)

    def act(self) -> None:
        t = self.t
        assert t is not None
        step = self.lesson.steps[self.state.step]
        if step.act == "phase":
            t.step_phase()
            self._row()
        elif step.act == "iteration":
            self.losses += [r["loss"] for r in t.step(1)]
            self._row()
        elif step.act == "run":
            run = step.run
            assert run is not None
            n = run.iterations or (run.epochs or 0) * t.iterations_per_epoch
            # metric rows as the worker makes them: after its first slice (~10 steps), then
            # every 0.5 s (here: every tenth of the run), and at the run's end
            chunks = [min(10, n)] + [max(1, math.ceil(n / 10))] * 11
            for chunk in chunks:
                chunk = min(chunk, n)
                if chunk <= 0 or t.status != "ok":
                    break
                recs = t.step(chunk)
                self.losses += [r["loss"] for r in recs]
                n -= chunk
                if recs:
                    self._row()
            self.status = "diverged" if t.status == "diverged" else "finished"
        elif step.act == "gradcheck":
            self.gc = gradcheck(t)

    def verdicts(self) -> dict[str, Any]:
        t = self.t
        assert t is not None
        snap = frames.build(t, 0, frames.Look(), False, False).snap
        public = {"status": self.status, "config": t.config}
        facts = gather(public, snap, self.curves, self.losses, self.gc)
        self.facts = facts
        return progress(self.lesson, self.state, facts, t.config, self.curves, "en")


def test_the_curriculum_has_its_lessons() -> None:
    assert set(LESSONS) >= REQUIRED, sorted(REQUIRED - set(LESSONS))
    for lesson in LESSONS.values():
        assert any(step.checks for step in lesson.steps), lesson.name


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_every_check_of_the_lesson_holds_in_the_engine(name: str) -> None:
    lesson = LESSONS[name]
    play = Play(lesson)
    for k, step in enumerate(lesson.steps):
        play.enter(k)
        before = play.verdicts()
        if step.act is not None:  # nothing done yet: no check may claim success
            assert all(c["state"] != "ok" or c["fact"] in {"n_train", "iterations_per_epoch",
                       "batch_size", "optimizer", "activation", "batchnorm"}
                       for c in before["checks"]), (step.id, before["checks"])
        play.act()
        got = play.verdicts()
        bad = [c for c in got["checks"] if c["state"] != "ok"]
        assert not bad, (name, step.id, bad, {k: play.facts[k] for k in sorted(play.facts)})
        leave(lesson, play.state, play.facts)
