"""Gradient flow: how large each layer's weight gradient is, and how many units are saturated.

Both read what the trainer's last training step left on its layers (no extra pass):

* the gradient norm of layer l is the Frobenius norm of its last batch's weight gradient::

      g_l = ‖dL/dW_l‖_F = sqrt(Σ_ij (dW_l)_ij²)          dW_l: (fan_in, fan_out)

  (as stored: with the regularization term and after gradient clipping, the update's own).
  In a deep sigmoid net g_1 ≪ g_L — the vanishing-gradient problem — because every layer
  multiplies δ by f′(z) ≤ 0.25 on the way back.

* the saturation of layer l is the share of the last batch's (example, unit) pairs where the
  activation's slope is small compared with the largest slope it can have::

      s_l = #{(n, j) : f′(z_nj) < ρ · max_z f′(z)} / (N · fan_out)        ρ = SATURATION_RATIO

  Relative to max f′ so that one threshold fits every activation: a dead ReLU (f′ = 0), a
  sigmoid in its flat tails (f′ < 0.025 = 0.1 · 0.25) and a tanh near ±1 (f′ < 0.1) all count.
  A unit there passes almost no gradient back. The output layer has no entry (None) when the
  loss works on logits: its δ = dL/dz never multiplies by f′ there.

:func:`flow` returns ``{"grad_norm": [g_1 … g_L], "saturation": [s_1 … s_L]}`` as floats,
None where a norm overflowed (a diverging step: :func:`engine.numbers.finite`).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from engine.activations import Activation, get_activation
from engine.numbers import finite
from engine.trainer import Trainer

SATURATION_RATIO = 0.1  # f′ below this share of the activation's largest slope is "saturated"
_GRID = np.linspace(-12.0, 12.0, 24_001)  # every activation's steepest point lies inside


@lru_cache(maxsize=64)
def _peak(name: str, params: tuple[tuple[str, Any], ...]) -> float:
    """max_z f′(z), found on a fine grid (exact for the kinked ones; GELU's 1.129 at z ≈ 1.4
    and SiLU's 1.0998 at z ≈ 2.4 to 1e-6): one number per activation and parameters."""
    act = get_activation(name, dict(params))
    z = _GRID.reshape(1, -1)
    return float(np.max(act.derivative(z, act.forward(z))))


def max_slope(act: Activation) -> float:
    """The largest derivative ``act`` has (0.25 for sigmoid, 1 for tanh and ReLU; PReLU's
    max(1, α), α being learned: read from the layer each time, never cached)."""
    if act.learned:
        return max(1.0, float(np.max(act.alpha)))  # type: ignore[attr-defined]
    params = tuple(sorted((k, v) for k, v in vars(act).items() if not k.startswith("_")))
    return _peak(act.name, params)


def saturation(act: Activation, z: Any, f: Any) -> float:
    """Share of entries of z (N, units) whose f′(z) < SATURATION_RATIO · max f′ (0 when N = 0)."""
    z = np.asarray(z, dtype=np.float64)
    if z.size == 0:
        return 0.0
    slope = act.derivative(z, np.asarray(f, dtype=np.float64))
    return float(np.count_nonzero(slope < SATURATION_RATIO * max_slope(act))) / z.size


def flow(trainer: Trainer) -> dict[str, list[float | None]]:
    """Per-layer gradient norms and saturation shares of the trainer's last step (see the
    module docstring); layer 1 first, the output layer last."""
    net = trainer.net
    norms: list[float | None] = []
    shares: list[float | None] = []
    last = len(net.layers) - 1
    for i, layer in enumerate(net.layers):
        norms.append(finite(float(np.linalg.norm(layer.dW))))
        if i == last and net.loss.on_logits:
            shares.append(None)
        else:
            shares.append(saturation(layer.activation, layer.cache.z, layer.cache.f))
    return {"grad_norm": norms, "saturation": shares}
