"""The chain rule for one weight, factor by factor, with the numbers of the traced example.

For the weight ``w_jk = W^l[j, k]`` (input unit j of layer l → its unit k), with z^l = a^{l-1} W^l
+ b^l (then batch norm, if any) and a^l = f(z^l)::

    dL/dw_jk = a_j · s_k · δ_k                    (s_k = γ_k / √(σ²_k + ε) with batch norm, else 1)
    δ_k = f'(z_k) · Σ_m w_km δ'_m                 (hidden layer: m runs over layer l+1's units,
                                                   δ'_m = s_m δ_m is dL/du there)
    δ_k = f'(z_k) · dL/dŷ_k                       (output, mse/mae/huber on a = ŷ)
    δ_k = ŷ_k − y_k  (bce; ce: softmax(z)_k − onehot(y)_k)   (output, loss on the logits z)

The example is the probe (:func:`engine.inspect.readouts.probe_index`), traced in evaluation
mode like :meth:`engine.network.Network.trace`: no dropout mask, batch norm with its running
statistics, so s_k is a constant and the product is exactly the trace's dW[j, k].

The batch: the trainer's stored gradient of the last batch of B examples is

    layer.dW[j, k] = c · ( (1/B) Σ_n a_nj · B·δ_nk  +  penalty )

where δ_nk are the rows of ``layer.delta`` (dL/dz of the *batch* mean loss, so B·δ_nk is example
n's own δ; with dropout its mask is inside δ_nk; with batch norm dL/du comes from batch norm's
backward, which couples the examples), penalty = λ w (L2) or λ sign w (L1) on the weight the
backward pass saw, and c = min(1, max_norm / (‖g‖ + 1e-6)) when gradients are clipped.
That sum is only computable while the layer's recorded input and δ belong to the same batch:
after a whole iteration, or after this iteration's backward pass of layer l.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.inspect.readouts import probe_index
from engine.numbers import finite
from engine.trainer import Trainer

Array = NDArray[np.float64]
Traced = tuple[int, Array, Array, list[dict[str, Array]]]  # probe_trace's answer


def clean(obj: Any) -> Any:
    """``obj`` (plain JSON data) as it is when every number in it is finite, else through
    :func:`engine.numbers.finite`: the C encoder's check first, as these run at every page
    frame of a running session and are nearly always finite."""
    try:
        json.dumps(obj, allow_nan=False)
    except ValueError:
        return finite(obj)
    return obj


def check_edge(
    trainer: Trainer, layer: int | None, i: int | None, j: int | None
) -> tuple[int, int, int]:
    """(layer, i, j) of a weight, defaulting to the output layer's w[0][0]; ValueError naming
    the field and its limit (``layer: 3 is outside 0..1``)."""
    layers = trainer.net.layers
    n = len(layers)
    lay = n - 1 if layer is None else layer
    if isinstance(lay, bool) or not isinstance(lay, int) or not 0 <= lay < n:
        raise ValueError(f"layer: {lay!r} is outside 0..{n - 1}")
    fan_in, fan_out = layers[lay].W.shape
    ii = 0 if i is None else i
    jj = 0 if j is None else j
    if isinstance(ii, bool) or not isinstance(ii, int) or not 0 <= ii < fan_in:
        raise ValueError(f"i: {ii!r} is outside 0..{fan_in - 1} (inputs of layer {lay})")
    if isinstance(jj, bool) or not isinstance(jj, int) or not 0 <= jj < fan_out:
        raise ValueError(f"j: {jj!r} is outside 0..{fan_out - 1} (units of layer {lay})")
    return lay, ii, jj


def probe_trace(trainer: Trainer) -> Traced:
    """(index, x (1, F), y (1, …), the network's eval-mode trace of that one example)."""
    index = probe_index(trainer)
    data = trainer.data
    x = data.x_train[index : index + 1]
    y = data.y_train[index : index + 1]
    return index, x, y, trainer.net.trace(x, y)


def bn_scale(trainer: Trainer, layer: int) -> Array | None:
    """s = γ / √(σ²_running + ε) per unit (eval-mode batch norm's dL/du = s · dL/dz), or None."""
    bn = trainer.net.layers[layer].bn
    if bn is None:
        return None
    scale: Array = bn.gamma / np.sqrt(bn.running_var + bn.eps)
    return scale


def batch_consistent(trainer: Trainer, layer: int) -> bool:
    """Whether layer ``layer``'s recorded input (cache.x) and δ are of one batch: after whole
    iterations, or once this iteration's backward pass of that layer ran."""
    la = trainer.net.layers[layer]
    if la.delta.shape[0] == 0 or la.cache.x.shape[0] != la.delta.shape[0]:
        return False
    n = len(trainer.net.layers)
    cursor = trainer._cursor  # the next phase's position: forward 0 … loss, backward …, update
    if cursor == 0:
        return trainer.iteration > 0 or trainer.status != "ok"
    return cursor > 2 * n - layer  # backward of ``layer`` sits at position 2n − layer


def weight_seen(trainer: Trainer, layer: int, i: int, j: int) -> float:
    """The weight the last backward pass of the layer saw: after the update phase ran (cursor
    back at 0) it is w − Δ, the update being the one just applied; before it, w itself."""
    w = float(trainer.net.layers[layer].W[i, j])
    if trainer._cursor == 0 and trainer.iteration > 0:
        k = sum(len(la.params) for la in trainer.net.layers[:layer])
        w -= float(trainer.updates[k][i, j])
    return w


def clip_factor(trainer: Trainer) -> float:
    """c of gradient clipping as :func:`engine.optim.clip_grad_norm` applied it (1: none)."""
    clip = trainer.config["clip_norm"]
    norm = trainer.grad_norm
    if clip is None or not math.isfinite(norm):
        return 1.0
    return min(1.0, clip / (norm + 1e-6))


def penalty_grad(trainer: Trainer, w: float) -> float:
    """∂penalty/∂w: λ w (L2), λ sign w (L1), or 0."""
    net = trainer.net
    if net.reg_kind == "l2":
        return net.reg_rate * w
    if net.reg_kind == "l1":
        return net.reg_rate * float(np.sign(w))
    return 0.0


def batch_part(trainer: Trainer, layer: int, i: int, j: int) -> dict[str, Any]:
    """The stored batch gradient of w_ij split into mean of products, penalty and clipping."""
    la = trainer.net.layers[layer]
    stored = float(la.dW[i, j])
    if not batch_consistent(trainer, layer):
        # none: no batch recorded (a fresh trainer, or one restored from a checkpoint, which
        # keeps no batch); replaced: this iteration's forward pass overwrote its inputs
        why = "none" if trainer.iteration == 0 or la.delta.shape[0] == 0 else "replaced"
        return {"available": False, "why": why, "stored": stored}
    x_col = la.cache.x[:, i]
    grad_u = la.delta[:, j]
    if la.bn is not None:
        # batch norm's train-mode backward (engine.layers.BatchNorm.backward) for unit j, with
        # the γ that pass saw (after the update phase, γ − Δγ)
        norm = la.cache.norm
        assert norm is not None
        gamma = float(la.bn.gamma[j])
        if trainer._cursor == 0 and trainer.iteration > 0:
            k = sum(len(p.params) for p in trainer.net.layers[:layer]) + 2
            gamma -= float(trainer.updates[k][j])
        d, u_hat = la.delta[:, j], norm.u_hat[:, j]
        grad_u = gamma * float(norm.inv_std[j]) * (d - d.mean() - u_hat * np.mean(d * u_hat))
    size = int(x_col.shape[0])
    per_example = x_col * (size * grad_u)  # each example's own a_j · δ_k
    mean = float(per_example.mean())
    w = weight_seen(trainer, layer, i, j)
    pen = penalty_grad(trainer, w)
    c = clip_factor(trainer)
    return {
        "available": True,
        "size": size,
        "mean_product": mean,
        "first_products": per_example[:3].tolist(),
        "penalty": pen,
        "regularization": trainer.net.reg_kind,
        "rate": trainer.net.reg_rate,
        "w_seen": w,
        "clip": c,
        "total": c * (mean + pen),
        "stored": stored,
        "dropout": la.cache.mask is not None,
    }


def chain(
    trainer: Trainer,
    layer: int | None = None,
    i: int | None = None,
    j: int | None = None,
    traced: Traced | None = None,
) -> dict[str, Any]:
    """dL/dw_ij of layer ``layer`` factor by factor (module docstring); JSON-safe (finite).

    ``traced``: a :func:`probe_trace` already made (the page frame shares one)."""
    layer, i, j = check_edge(trainer, layer, i, j)
    net = trainer.net
    index, x, y, records = traced or probe_trace(trainer)
    rec = records[layer]
    la = net.layers[layer]
    n = len(net.layers)
    z = rec["z"][0]
    a_j = float(rec["x"][0, i])
    f_prime = None
    ex: dict[str, Any] = {"index": index, "a_j": a_j, "z_k": float(z[j])}
    if layer == n - 1:
        out = rec["a"][0]
        ex["yhat"] = float(out[j])
        ex["outputs"] = int(out.shape[0])
        ex["y"] = _target(y, j, trainer.data.task)
        if net.loss.on_logits:
            form = "logits"  # bce/ce: δ = ŷ − y, the loss's own gradient on z
            delta_k = float(net.loss.grad(rec["z"], y)[0, j])
        else:
            dl_dy = net.loss.grad(rec["a"], y)  # (1, K)
            ex["dL_dyhat"] = float(dl_dy[0, j])
            if la.activation.elementwise:
                form = "output"
                f_prime = float(la.activation.derivative(rec["z"], rec["a"])[0, j])
                delta_k = f_prime * ex["dL_dyhat"]
            else:  # softmax under a regression loss: δ mixes every unit (Jacobian)
                form = "output_jacobian"
                delta_k = float(la.activation.backward(rec["z"], rec["a"], dl_dy)[0, j])
    else:
        form = "hidden"
        nxt = records[layer + 1]
        s_next = bn_scale(trainer, layer + 1)
        d_next = nxt["delta"][0] * (s_next if s_next is not None else 1.0)  # dL/du of l+1
        w_row = net.layers[layer + 1].W[j]
        ex["sum_w_delta"] = float(np.dot(w_row, d_next))
        terms = w_row * d_next
        top = np.argsort(-np.abs(terms))[:3]
        ex["terms"] = [{"m": int(m), "w": float(w_row[m]), "delta": float(d_next[m])} for m in top]
        ex["n_terms"] = int(w_row.shape[0])
        f_prime = float(la.activation.derivative(rec["z"], rec["a"])[0, j])
        delta_k = f_prime * ex["sum_w_delta"]
    ex["f_prime"] = f_prime
    ex["delta_k"] = delta_k
    s = bn_scale(trainer, layer)
    ex["bn_scale"] = None if s is None else float(s[j])
    ex["product"] = a_j * delta_k * (1.0 if s is None else float(s[j]))
    ex["trace_dW"] = float(rec["dW"][i, j])
    return clean(
        {
            "layer": layer,
            "i": i,
            "j": j,
            "n_layers": n,
            "form": form,
            "activation": la.activation.name,
            "loss": net.loss.name,
            "batchnorm": la.bn is not None,
            "dropout": la.dropout,
            "example": ex,
            "batch": batch_part(trainer, layer, i, j),
        }
    )


def _target(y: Array, k: int, task: str) -> float:
    """The target of output unit k: y_k (regression, bce) or onehot(y)_k (ce)."""
    if task == "multiclass":
        return 1.0 if int(np.ravel(y)[0]) == k else 0.0
    return float(np.ravel(y)[k])
