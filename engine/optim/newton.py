"""Damped Newton with Levenberg–Marquardt damping, on the exact Hessian of the batch loss.

With g = ∇f(θ) and H = ∇²f(θ) (P, P) of the current batch's loss (data + penalty; the
Hessian from :mod:`engine.hessian`, through the trainer's objective), one step tries::

    s = −(H + λ I)⁻¹ g,   θ_try = θ + γ s           (γ = lr, 1 for a pure Newton step)

and evaluates f(θ_try) on the same batch. Levenberg–Marquardt's rule for λ (Marquardt 1963):

* f(θ_try) < f(θ): the step is taken, and λ ← max(λ / ρ, 1e-12) for the next step (trust the
  quadratic model more: closer to Newton);
* otherwise (or H + λI singular, or f not finite): the step is refused, λ ← λ · ρ (closer to a
  short gradient step, γ g / λ for large λ), and tried again, at most ``max_tries`` times in
  one step; if none lowers the loss θ stays where it is (the record says ``accepted: false``).

ρ = ``damping_factor`` (10), λ starts at ``damping`` (1e-3) and carries over between steps. A
small λ with an indefinite H (a saddle) can give an uphill step; that step fails the test and
raises λ until H + λI is positive definite enough to go downhill.

The record gives ``n_evals`` (the trainer's evaluation plus one per try), ``damping`` (the λ of
the last try), ``accepted``, and the Hessian's extreme eigenvalues ``eig_min`` ≤ ``eig_max``
with its condition number ``condition = max|μ| / min|μ|`` (None when H is singular): how
ill-conditioned the problem is, which is what Momentum, RMSProp and Adam work around.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from engine.numbers import finite
from engine.optim.base import Array, learning_rate
from engine.optim.second_order import Objective, SecondOrder
from engine.registry import Param

MIN_DAMPING = 1e-12  # λ's floor: shrinking further changes no solve in float64


class Newton(SecondOrder):
    """Damped Newton: θ ← θ − γ (H + λI)⁻¹ g on the exact Hessian, λ by Levenberg–Marquardt.

    Extra state: ``damping`` λ (carried between steps) and ``readout`` (the last step's
    Hessian eigenvalues, condition number and λ).
    """

    name = "newton"
    params = (
        learning_rate(1.0),
        Param("damping", 1e-3, low=0.0, low_open=True, doc="starting damping λ of H + λI"),
        Param(
            "damping_factor",
            10.0,
            low=1.0,
            low_open=True,
            doc="ρ: λ·ρ after a failed try, λ/ρ after a step taken",
        ),
        Param("max_tries", 10, kind="int", low=1, high=100, doc="damped solves per step"),
    )
    needs_hessian = True
    # the engine's own bound (the Hessian takes 8·P² bytes); a service sets a smaller one
    max_params: ClassVar[int] = 4096
    extra_state = ("damping", "readout")

    def __init__(self, **hparams: Any) -> None:
        super().__init__(**hparams)
        self.damping: float = self.hparams["damping"]
        self.readout: dict[str, Any] = {}

    def _solve(
        self, theta: Array, f0: float, g0: Array, objective: Objective, lr: float
    ) -> dict[str, Any]:
        rho = self.hparams["damping_factor"]
        hess = objective.hessian(theta)
        eig = np.linalg.eigvalsh(hess)
        size = np.abs(eig)
        smallest = float(size.min())
        readout = {
            "eig_min": float(eig[0]),
            "eig_max": float(eig[-1]),
            "condition": float(size.max()) / smallest if smallest > 0 else math.inf,
        }
        lam = self.damping
        evals, accepted = 1, False
        eye = np.eye(theta.size)
        for _ in range(self.hparams["max_tries"]):
            try:
                step = np.linalg.solve(hess + lam * eye, -g0)
            except np.linalg.LinAlgError:  # exactly singular: damp more
                lam *= rho
                continue
            trial = theta + lr * step
            f_try, _ = objective(trial)
            evals += 1
            if math.isfinite(f_try) and f_try < f0:
                np.copyto(theta, trial)
                accepted = True
                break
            lam *= rho
        used = lam
        self.damping = max(lam / rho, MIN_DAMPING) if accepted else lam
        self.readout = finite({**readout, "damping": used})
        return {"n_evals": evals, "accepted": accepted, **self.readout}

    def set_hparams(self, changes: Mapping[str, Any]) -> None:
        """Live changes keep λ, except a new ``damping``, which restarts λ there."""
        old = self.hparams["damping"]
        super().set_hparams(changes)
        if self.hparams["damping"] != old:
            self.damping = self.hparams["damping"]

    # -- serialising: λ carries over (the readout is remade by the next step) ----------------------
    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "damping": self.damping}

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        if not isinstance(d, Mapping):
            super().load_state_dict(d)  # raises, naming what is wrong
        lam = d.get("damping", self.hparams["damping"])
        if isinstance(lam, bool) or not isinstance(lam, int | float) or not lam > 0:
            raise ValueError(f"optimizer newton state_dict: invalid damping {lam!r}: must be > 0")
        if not math.isfinite(lam):
            raise ValueError(f"optimizer newton state_dict: invalid damping {lam!r}: not finite")
        super().load_state_dict(d)
        self.damping = float(lam)
        self.readout = {}
