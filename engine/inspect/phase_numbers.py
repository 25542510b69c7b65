"""The numbers of each phase of one iteration, for the traced example and one chosen weight.

Per layer l (shapes: a^{l−1} (F_l,), W^l (F_l, U_l), z^l, a^l, δ^l (U_l,); the probe example,
traced in evaluation mode as :meth:`engine.network.Network.trace` does):

* forward l: z_k = Σ_j a_j W_jk + b_k (then batch norm), a_k = f(z_k), for the first
  :data:`UNITS` units, and the chosen weight's term a_j · W_jk when the weight is in layer l;
* loss: ŷ (the output a, :data:`UNITS` at most), the target, the example's loss
  (:meth:`engine.losses.Loss.value` on that one example: mean over its K outputs for mse, mae,
  huber and bce; the one term for ce), and the batch's loss (the trainer's, a mean over B);
* backward l: δ_k = dL/dz_k of the example, and of the batch gradient dL/dW = aᵀδ (+ penalty)
  the chosen weight's entry and the Frobenius norm ‖dL/dW‖;
* update: :func:`engine.inspect.update_rule.last_update` of the chosen weight.

The batch numbers are the trainer's last batch (``layer.dW``, ``trainer.loss``); the example's
use the weights as they are now. Everything is float64 and passed through
:func:`engine.numbers.finite`; lists are cut to :data:`UNITS` entries, with the count.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.inspect.chain import Traced, check_edge, clean, probe_trace
from engine.inspect.update_rule import last_update
from engine.trainer import Trainer

UNITS = 6  # units listed per layer: a narrow column holds this many rows


def _head(arr: NDArray[np.float64]) -> list[float]:
    return [float(v) for v in np.ravel(arr)[:UNITS]]


def phase_numbers(
    trainer: Trainer,
    layer: int | None = None,
    i: int | None = None,
    j: int | None = None,
    traced: Traced | None = None,
) -> dict[str, Any]:
    """Every number the phase panel shows (module docstring); JSON-safe."""
    layer, i, j = check_edge(trainer, layer, i, j)
    net = trainer.net
    index, x, y, records = traced or probe_trace(trainer)
    data = trainer.data
    forward, backward = [], []
    for lno, (la, rec) in enumerate(zip(net.layers, records, strict=True)):
        units = int(la.W.shape[1])
        entry: dict[str, Any] = {
            "layer": lno,
            "activation": la.activation.name,
            "units": units,
            "z": _head(rec["z"]),
            "a": _head(rec["a"]),
            "batchnorm": la.bn is not None,
        }
        if lno == layer:
            a_in = float(rec["x"][0, i])
            w = float(la.W[i, j])
            entry["edge"] = {
                "a_j": a_in,
                "w": w,
                "term": a_in * w,
                "b": float(la.b[j]),
                "z": float(rec["z"][0, j]),
                "a": float(rec["a"][0, j]),
            }
        forward.append(entry)
        dw = la.dW
        backward.append(
            {
                "layer": lno,
                "units": units,
                "delta": _head(rec["delta"]),
                "dW_entry": float(dw[i, j]) if lno == layer else None,
                "dW_norm": math.sqrt(float(np.vdot(dw, dw))),
            }
        )
    out_rec = records[-1]
    example_loss = net.loss.value(out_rec["z"] if net.loss.on_logits else out_rec["a"], y)
    if data.task == "multiclass":
        target: Any = int(np.ravel(y)[0])
    else:
        target = _head(y)
    loss = {
        "name": net.loss.name,
        "yhat": _head(out_rec["a"]),
        "outputs": int(out_rec["a"].shape[1]),
        "y": target,
        "example": example_loss,
        "batch": trainer.loss,
        "penalty": trainer.penalty_value,
        "regularization": net.reg_kind,
        "batch_size": trainer.batch_size,
    }
    if data.task == "multiclass":
        loss["p_true"] = float(out_rec["a"][0, target])
    return clean(
        {
            "layer": layer,
            "i": i,
            "j": j,
            "probe": index,
            "task": data.task,
            "n_layers": len(net.layers),
            "last_phase": trainer.last_phase,
            "next_phase": trainer.phase,
            "iteration": trainer.iteration,
            "forward": forward,
            "loss": loss,
            "backward": backward,
            "update": last_update(trainer, layer, i, j),
        }
    )
