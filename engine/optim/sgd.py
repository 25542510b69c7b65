"""Stochastic gradient descent (torch.optim.SGD).

The update works on flat vectors of all parameters (see :mod:`engine.optim.base`): ``g`` is the
gradient, ``θ`` the parameters, ``γ`` the learning rate passed to ``step``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from engine.optim.base import WEIGHT_DECAY, Array, Optimizer, learning_rate
from engine.registry import Param


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum, dampening and Nesterov momentum.

    ``g ← g + λθ`` (if λ ≠ 0); with momentum μ ≠ 0: ``b ← g`` on the first step, else
    ``b ← μb + (1 − τ)g``; then ``g ← g + μb`` (nesterov) or ``g ← b``; finally ``θ ← θ − γg``.
    """

    name = "sgd"
    params = (
        learning_rate(1e-3),
        Param("momentum", 0.0, low=0.0, doc="momentum factor μ"),
        Param("dampening", 0.0, low=0.0, high=1.0, doc="dampening τ of the momentum"),
        WEIGHT_DECAY,
        Param("nesterov", False, kind="bool", doc="Nesterov momentum"),
    )
    state_keys = ("momentum_buffer",)

    @classmethod
    def _check_combination(cls, hp: dict[str, Any]) -> None:
        if hp["nesterov"] and (hp["momentum"] <= 0 or hp["dampening"] != 0):
            raise ValueError(
                f"optimizer sgd: invalid nesterov True: needs momentum>0 and dampening=0 "
                f"(momentum={hp['momentum']!r}, dampening={hp['dampening']!r})"
            )

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        h = self.hparams
        mu, wd = h["momentum"], h["weight_decay"]
        if wd != 0:
            g += wd * p
        if mu != 0:
            buf = self._buffers.get("momentum_buffer")
            if buf is None:  # torch: the buffer starts as the first gradient, undamped
                buf = self._adopt("momentum_buffer", g.copy())
            else:
                buf *= mu
                buf += g if h["dampening"] == 0 else (1.0 - h["dampening"]) * g
            if h["nesterov"]:
                g += mu * buf
            else:
                g = buf
        step = g * lr
        return np.subtract(p, step, out=step)
