"""Helpers for the optimizer tests: two hand-checkable steps on a scalar parameter, and a
central-difference Hessian for the second-order ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from engine.optim import OPTIMIZERS, Optimizer

LR = 0.1
G1, G2 = 0.5, -0.25


def two_steps(name: str, hp: dict[str, Any]) -> tuple[Optimizer, tuple[float, float]]:
    """The optimizer after two steps on θ₀ = 1.0 with g₁, g₂, and (θ₁, θ₂)."""
    opt = OPTIMIZERS.create(name, hp)
    p = np.array([1.0])
    opt.step([p], [np.array([G1])], LR)
    theta1 = float(p[0])
    opt.step([p], [np.array([G2])], LR)
    return opt, (theta1, float(p[0]))


def check(thetas: tuple[float, float], theta1: float, theta2: float) -> None:
    # rel for O(1) values, abs for one that cancels to ~2e-7 (rmsprop: 1 − 0.05/(0.05 + ε))
    assert thetas[0] == pytest.approx(theta1, rel=1e-12, abs=1e-14)
    assert thetas[1] == pytest.approx(theta2, rel=1e-12, abs=1e-14)


def state(opt: Optimizer, key: str) -> float:
    return float(opt.state[0][key][0])


H = 1e-5  # central-difference step: truncation ~H² |f⁗|, rounding ~1e-16 |g| / H


def central_difference(objective: Any, theta: Any) -> Any:
    """The Hessian by central differences of the gradient, column by column:
    ``H[:, j] = (∇f(θ + h e_j) − ∇f(θ − h e_j)) / 2h``; ``objective(θ)`` returns (f, ∇f)."""
    p = theta.size
    out = np.empty((p, p))
    for j in range(p):
        e = np.zeros(p)
        e[j] = H
        out[:, j] = (objective(theta + e)[1] - objective(theta - e)[1]) / (2 * H)
    return out
