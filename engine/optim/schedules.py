"""Learning-rate schedules: the rate for an epoch, in closed form.

Each schedule is a pure function of the base rate and the epoch (0 for the first epoch), giving
what the matching ``torch.optim.lr_scheduler`` class gives after ``epoch`` calls of
``scheduler.step()`` (one per epoch)::

    sched = SCHEDULES.create("step", {"step_size": 10, "gamma": 0.1})
    lr = sched.lr(base_lr, epoch)

A closed form has no state to save and gives the same rate when a run is resumed or replayed.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from engine.registry import Param, Registry


class Schedule:
    """Base class: validated ``hparams`` and :meth:`lr`."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **hparams: Any) -> None:
        self.hparams = hparams

    def lr(self, base_lr: float, epoch: int) -> float:
        """The learning rate for ``epoch`` (an integer >= 0) when training starts at ``base_lr``."""
        raise NotImplementedError


SCHEDULES: Registry[Schedule] = Registry("schedule")

GAMMA_DOC = "multiplicative decay factor γ"


@SCHEDULES.register
class Constant(Schedule):
    """Constant: ``lr = base_lr`` at every epoch."""

    name = "constant"

    def lr(self, base_lr: float, epoch: int) -> float:
        return base_lr


@SCHEDULES.register
class Step(Schedule):
    """Step decay (torch StepLR): ``lr = base_lr · γ^⌊epoch / step_size⌋``."""

    name = "step"
    params = (
        Param("step_size", 10, kind="int", low=1, doc="epochs between decays"),
        Param("gamma", 0.1, low=0.0, high=1.0, low_open=True, doc=GAMMA_DOC),
    )

    def __init__(self, step_size: int, gamma: float) -> None:
        super().__init__(step_size=step_size, gamma=gamma)
        self.step_size, self.gamma = step_size, gamma

    def lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


@SCHEDULES.register
class Exponential(Schedule):
    """Exponential decay (torch ExponentialLR): ``lr = base_lr · γ^epoch``."""

    name = "exponential"
    params = (Param("gamma", 0.95, low=0.0, high=1.0, low_open=True, doc=GAMMA_DOC),)

    def __init__(self, gamma: float) -> None:
        super().__init__(gamma=gamma)
        self.gamma = gamma

    def lr(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma**epoch


@SCHEDULES.register
class Cosine(Schedule):
    """Cosine annealing (torch CosineAnnealingLR, closed form):
    ``lr = η_min + (base_lr − η_min)(1 + cos(π · epoch / T_max)) / 2``.

    It reaches ``η_min`` at ``epoch = T_max`` and, like torch's, rises again after it
    (period ``2 T_max``).
    """

    name = "cosine"
    params = (
        Param("t_max", 50, kind="int", low=1, doc="epochs T_max from base_lr down to eta_min"),
        Param("eta_min", 0.0, low=0.0, doc="minimum learning rate η_min"),
    )

    def __init__(self, t_max: int, eta_min: float) -> None:
        super().__init__(t_max=t_max, eta_min=eta_min)
        self.t_max, self.eta_min = t_max, eta_min

    def lr(self, base_lr: float, epoch: int) -> float:
        cos = math.cos(math.pi * epoch / self.t_max)
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0
