"""The current batch's loss as a function of θ: what torch's ``closure`` gives L-BFGS and Newton.

``f(θ) = L(net(X_B; θ), y_B) + penalty(θ)`` for the batch (X_B (B, F), y_B) the trainer drew
for this iteration; calling the objective at any θ (P,) returns ``(f(θ), ∇f(θ))`` with the
gradient flat in the order of ``net.theta``. It runs the network's own forward and backward
methods (:meth:`engine.network.Network.forward`, ``backward``), so its gradient is the one the
trainer's phases compute, bit for bit, at the same θ.

What it leaves alone: ``net.theta`` is swapped in for the call and put back after, and the
passes go to new arrays, not the layers' recorded caches, so the phase panel still shows the
iteration's own forward and backward pass.

Batch norm: torch's closure re-runs the model in train mode, so every evaluation of a step
folds its batch statistics into the running ones. The objective keeps each evaluation's
statistics in :attr:`stats`, in order, and the trainer commits them after the step, after the
phase's own pass's, the same updates in the same order as torch, and none when the step is
undone. Dropout would draw a new mask per evaluation (a different function each time), so the
second-order optimizers refuse it (:mod:`engine.config`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.hessian import hessian

Array = NDArray[np.float64]


class BatchObjective:
    """f and ∇f (and ∇²f) of one batch at any θ; :attr:`stats` and :attr:`n_evals` count the
    evaluations (the Hessian is not counted: it is no loss evaluation)."""

    def __init__(self, net: Any, x: Array, y: Any) -> None:
        self.net, self.x, self.y = net, x, y
        self.n_evals = 0
        self.stats: list[list[tuple[Array, Array]]] = []  # per evaluation: per batch norm

    def __call__(self, theta: Array) -> tuple[float, Array]:
        net = self.net
        saved = net.theta.copy()
        np.copyto(net.theta, theta)
        try:
            caches = net.forward(self.x, True)  # train mode, no rng: no dropout mask
            value = net.loss.value(net.loss_input(caches[-1]), self.y)
            if net.reg_kind != "none":
                value += net.penalty()
            grads = net.backward(caches, self.y, penalty=net.reg_kind != "none")
        finally:
            np.copyto(net.theta, saved)
        self.n_evals += 1
        self.stats.append([c.norm.stats for c in caches if c.norm is not None])
        flat = np.concatenate([g.ravel() for _delta, gs in grads for g in gs])
        return float(value), flat

    def hessian(self, theta: Array) -> Array:
        """∇²f(θ) (P, P), exact (:mod:`engine.hessian`)."""
        net = self.net
        saved = net.theta.copy()
        np.copyto(net.theta, theta)
        try:
            return hessian(net, self.x, self.y)
        finally:
            np.copyto(net.theta, saved)
