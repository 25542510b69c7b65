"""Second-order optimizers: the base of the ones that evaluate the loss again inside a step.

A first-order rule needs only the gradient at θ (:meth:`Optimizer.step_flat`). L-BFGS and
Newton need more: the loss and gradient at other points of the same batch (torch's
``closure``), and Newton the Hessian. The trainer hands them an :class:`Objective` for the
current batch, and the whole second-order step runs in the update phase::

    delta = opt.step_objective(theta, f0, g0, objective, lr, shapes)
    opt.last_info   # {"n_evals": 3, ...}: what the step did, for the step record

``f0``, ``g0`` are the loss (data + penalty) and flat gradient at ``theta``, already computed by
the trainer's forward and backward phases: torch's first ``closure()`` call, counted as the
step's first evaluation.

A step that ends non-finite is undone: ``theta``, the state and ``t`` are left as they were and
``None`` is returned, as :meth:`Optimizer.step_flat` does.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import numpy as np

from engine.optim.base import Array, Optimizer


class Objective(Protocol):
    """f(θ) and ∇f(θ) on one fixed batch (and, for Newton, its Hessian)."""

    def __call__(self, theta: Array) -> tuple[float, Array]:
        """(f(θ), ∇f(θ) flat (P,)) at ``theta`` (P,), which is not changed."""
        ...

    def hessian(self, theta: Array) -> Array:
        """∇²f(θ) (P, P)."""
        ...


class SecondOrder(Optimizer):
    """Base of the optimizers that take an :class:`Objective` (``second_order = True``).

    Subclasses implement :meth:`_solve` and keep any state beyond the flat per-parameter
    buffers in attributes listed in ``extra_state`` (saved with the buffers for the rollback).
    """

    second_order: ClassVar[bool] = True
    # config combinations these rules refuse, by config key (checked by engine.config)
    refuses_dropout: ClassVar[bool] = True
    needs_hessian: ClassVar[bool] = False
    extra_state: ClassVar[tuple[str, ...]] = ()

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.last_info: dict[str, Any] = {}

    def step(self, params: list[Array], grads: list[Array], lr: float) -> list[Array]:
        raise TypeError(f"optimizer {self.name}: needs the loss itself; use step_objective")

    def step_flat(
        self, theta: Array, grad: Array, lr: float, shapes: Sequence[tuple[int, ...]]
    ) -> Array | None:
        raise TypeError(f"optimizer {self.name}: needs the loss itself; use step_objective")

    def step_objective(
        self,
        theta: Array,
        f0: float,
        g0: Array,
        objective: Objective,
        lr: float,
        shapes: Sequence[tuple[int, ...]],
    ) -> Array | None:
        """One whole step of ``theta`` (in place); the flat Δθ, or None (nothing changed)
        when it was not finite. :attr:`last_info` says what the step did."""
        if not self._spans:
            self._layout(shapes)
        saved = self._snapshot()
        self.t += 1
        old = theta.copy()
        self.last_info = self._solve(theta, f0, g0.copy(), objective, lr)
        delta = theta - old
        if not math.isfinite(float(np.vdot(delta, delta))):
            np.copyto(theta, old)
            self._restore(saved)
            self.last_info = {}
            return None
        return delta

    def _solve(
        self, theta: Array, f0: float, g0: Array, objective: Objective, lr: float
    ) -> dict[str, Any]:
        """Move ``theta`` in place; return the step's record entries (JSON-safe)."""
        raise NotImplementedError

    # -- rollback -----------------------------------------------------------------------------
    def _snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(
            {
                "t": self.t,
                "buffers": self._buffers,
                "extra": {k: getattr(self, k) for k in self.extra_state},
            }
        )

    def _restore(self, saved: dict[str, Any]) -> None:
        self.t = saved["t"]
        self.state = [{} for _ in self._spans]
        self._buffers = {}
        for key, flat in saved["buffers"].items():
            self._adopt(key, flat)
        for key, value in saved["extra"].items():
            setattr(self, key, value)
