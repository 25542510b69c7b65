"""A smaller learning rate that does not diverge, found by trying it.

After a run diverges the page offers to start again with a smaller rate. One tenth is often
not enough: a rate a hundred times too large for a steep start diverges again at a tenth, and
the learner goes round reset → play → diverged several times. Instead, each rung of the ladder
``lr/10, lr/100, …`` is tried on a fresh trainer of the same config — the same seed, so the
same start the reset gives — for a bounded number of iterations, and the first rung that stays
finite is offered. Trying is cheap for the nets this tool draws (a few hundred iterations) and
is bounded in wall time for the larger ones.

A rung that survives ``iterations`` steps can still diverge later (a schedule, a sharper
region further on); the offer says what was checked, not more.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from engine.trainer import Trainer

ITERATIONS = 200  # per rung: too-large rates blow up within tens of iterations
RUNGS = 4  # lr/10 … lr/10⁴
BUDGET_S = 0.5  # wall time for the whole ladder


@dataclass
class Ladder:
    """The rates tried, smallest last, and the first that stayed finite (None: none did)."""

    stable: float | None = None
    diverged: list[float] = field(default_factory=list)
    iterations: int = ITERATIONS

    @property
    def offer(self) -> float:
        """The rate to offer: the stable rung, or one below the last rung tried."""
        if self.stable is not None:
            return self.stable
        last = self.diverged[-1] if self.diverged else 1.0
        return rung(last, 1)


def rung(lr: float, k: int) -> float:
    """``lr / 10**k`` to 3 significant digits (what the page shows is what is used)."""
    return float(f"{lr / 10**k:.3g}")


def stable_rate(
    config: dict[str, Any],
    lr: float,
    *,
    iterations: int = ITERATIONS,
    rungs: int = RUNGS,
    budget_s: float = BUDGET_S,
) -> Ladder:
    """Try ``lr/10, lr/100, …`` (at most ``rungs``) on fresh trainers of ``config`` for
    ``iterations`` iterations each; stop at the first that does not diverge, or when
    ``budget_s`` has passed."""
    ladder = Ladder(iterations=iterations)
    deadline = time.perf_counter() + budget_s
    for k in range(1, rungs + 1):
        candidate = rung(lr, k)
        cfg = copy.deepcopy(config)
        cfg["optimizer"]["lr"] = candidate
        trainer = Trainer(cfg)
        trainer.step(iterations)  # stops early at divergence
        if trainer.status != "diverged":
            ladder.stable = candidate
            return ladder
        ladder.diverged.append(candidate)
        if time.perf_counter() > deadline:
            break
    return ladder
