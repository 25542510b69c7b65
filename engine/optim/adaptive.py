"""Adaptive-rate optimizers: Adagrad, RMSprop, Adam and AdamW.

Each divides the step by a running measure of the gradient's size, per coordinate, and follows
the pseudo-code of its torch.optim documentation page with torch's defaults; they come in order
of increasing complexity. The update works on flat vectors of all parameters (see
:mod:`engine.optim.base`): ``g`` is the gradient, ``θ`` the parameters, ``γ`` the learning rate
passed to ``step``, ``t`` the step count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from engine.optim.base import WEIGHT_DECAY, Array, Optimizer, learning_rate
from engine.registry import Param

EPS = Param("eps", 1e-8, low=0.0, low_open=True, doc="ε added to the denominator")
BETAS = (
    Param("beta1", 0.9, low=0.0, high=1.0, high_open=True, doc="decay β₁ of the gradient mean"),
    Param("beta2", 0.999, low=0.0, high=1.0, high_open=True, doc="decay β₂ of the squared mean"),
)
AMSGRAD = Param("amsgrad", False, kind="bool", doc="use the running maximum of v (AMSGrad)")


class Adagrad(Optimizer):
    """Adagrad: per-coordinate rates shrinking with the sum of squared gradients.

    ``γ̃ = γ / (1 + (t − 1)η)``; ``g ← g + λθ`` (if λ ≠ 0); ``sum ← sum + g²`` (starting from
    the initial accumulator value); ``θ ← θ − γ̃ g / (√sum + ε)``.
    """

    name = "adagrad"
    params = (
        learning_rate(1e-2),
        Param("lr_decay", 0.0, low=0.0, doc="learning rate decay η"),
        WEIGHT_DECAY,
        Param("initial_accumulator_value", 0.0, low=0.0, doc="starting value of sum"),
        Param("eps", 1e-10, low=0.0, low_open=True, doc="ε added to the denominator"),
    )
    state_keys = ("sum",)

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        h = self.hparams
        clr = lr / (1.0 + (self.t - 1) * h["lr_decay"])
        if h["weight_decay"] != 0:
            g += h["weight_decay"] * p
        acc = self._buffer("sum", h["initial_accumulator_value"])
        acc += g * g
        std = np.sqrt(acc)
        std += h["eps"]
        g /= std
        g *= clr
        return np.subtract(p, g, out=g)


class RMSprop(Optimizer):
    """RMSprop: divide by a running root-mean-square of the gradient.

    ``g ← g + λθ`` (if λ ≠ 0); ``v ← αv + (1 − α)g²``; ``ṽ = v``, or if centered
    ``ḡ ← αḡ + (1 − α)g`` and ``ṽ = v − ḡ²``; with momentum μ > 0:
    ``b ← μb + g/(√ṽ + ε)``, ``θ ← θ − γb``; else ``θ ← θ − γ g/(√ṽ + ε)``.
    """

    name = "rmsprop"
    params = (
        learning_rate(1e-2),
        Param("alpha", 0.99, low=0.0, high=1.0, doc="smoothing constant α"),
        EPS,
        WEIGHT_DECAY,
        Param("momentum", 0.0, low=0.0, doc="momentum factor μ"),
        Param("centered", False, kind="bool", doc="normalise by the gradient's variance"),
    )
    state_keys = ("square_avg", "momentum_buffer", "grad_avg")

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        h = self.hparams
        alpha, mu = h["alpha"], h["momentum"]
        if h["weight_decay"] != 0:
            g += h["weight_decay"] * p
        v = self._buffer("square_avg")
        v *= alpha
        v += (1.0 - alpha) * (g * g)
        if h["centered"]:
            gbar = self._buffer("grad_avg")
            gbar *= alpha
            gbar += (1.0 - alpha) * g
            avg = v - gbar * gbar
            # v − ḡ² ≥ 0 exactly (Cauchy–Schwarz) but may round to −1 ulp; √ of that is NaN
            np.maximum(avg, 0.0, out=avg)
            np.sqrt(avg, out=avg)
        else:
            avg = np.sqrt(v)
        avg += h["eps"]
        g /= avg
        if mu > 0:
            buf = self._buffer("momentum_buffer")
            buf *= mu
            buf += g
            step = buf * lr
        else:
            step = g
            step *= lr
        return np.subtract(p, step, out=step)


class Adam(Optimizer):
    """Adam: bias-corrected running means of the gradient and of its square.

    ``g ← g + λθ`` (if λ ≠ 0); ``m ← β₁m + (1 − β₁)g``; ``v ← β₂v + (1 − β₂)g²``;
    ``m̂ = m/(1 − β₁ᵗ)``; ``v̂ = v/(1 − β₂ᵗ)``, or with amsgrad ``vmax ← max(vmax, v)`` and
    ``v̂ = vmax/(1 − β₂ᵗ)``; ``θ ← θ − γ m̂/(√v̂ + ε)``.
    """

    name = "adam"
    params = (
        learning_rate(1e-3),
        *BETAS,
        EPS,
        WEIGHT_DECAY,
        AMSGRAD,
    )
    state_keys = ("exp_avg", "exp_avg_sq", "max_exp_avg_sq")

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        if self.hparams["weight_decay"] != 0:
            g += self.hparams["weight_decay"] * p
        return np.subtract(p, self._adam_step(g, lr), out=g)

    def _adam_step(self, g: Array, lr: float) -> Array:
        """Update the moments with ``g`` (overwritten) and return ``γ m̂/(√v̂ + ε)``."""
        h: dict[str, Any] = self.hparams
        b1, b2, t = h["beta1"], h["beta2"], self.t
        m = self._buffer("exp_avg")
        m *= b1
        m += (1.0 - b1) * g
        v = self._buffer("exp_avg_sq")
        v *= b2
        np.square(g, out=g)
        g *= 1.0 - b2
        v += g
        if h["amsgrad"]:
            # The max is of the raw v, bias-corrected afterwards: torch's code and its current
            # docs (pytorch#142323; docs before 2.6 put the max after the correction).
            vmax = self._buffer("max_exp_avg_sq")
            np.maximum(vmax, v, out=vmax)
            v = vmax
        denom = np.sqrt(v)
        denom /= math.sqrt(1.0 - b2**t)
        denom += h["eps"]
        step = np.divide(m, denom, out=denom)
        step *= lr / (1.0 - b1**t)
        return step


class AdamW(Adam):
    """AdamW: Adam with decoupled weight decay.

    ``θ ← θ(1 − γλ)`` first, then the Adam step without λ in the gradient:
    ``θ ← θ − γ m̂/(√v̂ + ε)`` (amsgrad as in Adam).
    """

    name = "adamw"
    params = (
        learning_rate(1e-3),
        *BETAS,
        EPS,
        Param("weight_decay", 1e-2, low=0.0, doc="decoupled decay λ: θ ← θ(1 − γλ)"),
        AMSGRAD,
    )

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        new = p * (1.0 - lr * self.hparams["weight_decay"])
        new -= self._adam_step(g, lr)
        return new
