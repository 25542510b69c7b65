"""Loss functions with their gradients, as ``torch.nn`` defines them with ``reduction="mean"``.

Shapes: ``out`` is the network output ``(N, K)``; ``y`` is

* regression (mse, rmse, mae, huber): ``(N, K)`` float targets;
* binary (bce): ``(N, 1)`` float targets in {0, 1};
* multiclass (ce): ``(N,)`` int64 labels in [0, K).

bce and ce take *logits*: the output layer's pre-activation z (``on_logits``), and the network's
output activation must be the matching sigmoid / softmax (``requires_output``) for predictions.
Taking logits is what keeps them finite: log(sigmoid) via ``logaddexp`` and log(softmax) via
log-sum-exp, so logits of +-1e4 give exact finite losses and gradients.

Each loss has ``value`` (a float), ``grad`` (dL/dout, the shape of ``out``), and ``batch_values``
for loss landscapes: ``out`` of shape ``(..., N, K)`` holding many candidate outputs at once gives
the mean loss of each, shape ``(...)``, vectorised over the leading axes.
``value`` and ``grad`` run every training step, so they are lean and do no validation.
``hessian_vector`` (the derivative of ``grad`` along a direction) serves the exact Hessian of
the newton optimizer (:mod:`engine.hessian`).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from engine.registry import Param, Registry

Array = NDArray[np.float64]
Target = NDArray[Any]  # float targets, or int64 class labels for ce
_LAST_TWO = (-2, -1)


class Loss:
    """Base class: a mean loss L(out, y) and its gradient dL/dout."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    on_logits: ClassVar[bool] = False
    requires_output: ClassVar[str | None] = None
    task: ClassVar[str] = "regression"

    def value(self, out: Array, y: Target) -> float:
        raise NotImplementedError

    def grad(self, out: Array, y: Target) -> Array:
        raise NotImplementedError

    def batch_values(self, out: Array, y: Target) -> Array:
        raise NotImplementedError

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        """d/dε grad(out + ε r, y) at ε = 0: the loss's Hessian in ``out`` times ``r``.

        ``r`` has the shape of ``out`` (N, K) or a leading axis of D directions (D, N, K); the
        result has r's shape. For the exact Hessian of the newton optimizer; a loss without it
        leaves this out and the newton optimizer refuses it."""
        raise NotImplementedError


LOSSES: Registry[Loss] = Registry("loss")


@LOSSES.register
class MSE(Loss):
    """Mean squared error (torch MSELoss): L = (1/n) sum (out - y)^2 over all n = N*K elements.

    dL/dout = 2 (out - y) / n.
    """

    name = "mse"

    def value(self, out: Array, y: Target) -> float:
        d = out - y
        return float(np.vdot(d, d)) / d.size

    def grad(self, out: Array, y: Target) -> Array:
        d = out - y
        d *= 2.0 / d.size
        return d

    def batch_values(self, out: Array, y: Target) -> Array:
        d = out - y
        return (d * d).mean(axis=_LAST_TWO)

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        return r * (2.0 / out.size)


@LOSSES.register
class RMSE(Loss):
    """Root mean squared error, torch.sqrt(nn.MSELoss()(out, y)): L = sqrt((1/n) sum (out - y)^2)
    over all n = N*K elements.

    dL/dout = (out - y) / (n L); defined as 0 where L = 0 (every output exact), where the square
    root has no derivative (torch's autograd gives NaN there: 0 times an infinite slope).
    """

    name = "rmse"

    def value(self, out: Array, y: Target) -> float:
        d = out - y
        return math.sqrt(float(np.vdot(d, d)) / d.size)

    def grad(self, out: Array, y: Target) -> Array:
        d = out - y
        rmse = math.sqrt(float(np.vdot(d, d)) / d.size)
        d *= 0.0 if rmse == 0.0 else 1.0 / (d.size * rmse)
        return d

    def batch_values(self, out: Array, y: Target) -> Array:
        d = out - y
        return np.sqrt((d * d).mean(axis=_LAST_TWO))

@LOSSES.register
class MAE(Loss):
    """Mean absolute error (torch L1Loss): L = (1/n) sum |out - y|.

    dL/dout = sign(out - y) / n, which is 0 where out = y (as torch).
    """

    name = "mae"

    def value(self, out: Array, y: Target) -> float:
        d = out - y
        return float(np.abs(d).sum()) / d.size

    def grad(self, out: Array, y: Target) -> Array:
        g = np.sign(out - y)
        g *= 1.0 / g.size
        return g

    def batch_values(self, out: Array, y: Target) -> Array:
        return np.abs(out - y).mean(axis=_LAST_TWO)

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        return np.zeros_like(r)  # piecewise linear in out


@LOSSES.register
class Huber(Loss):
    """Huber loss (torch HuberLoss), with d = out - y and threshold delta:

    l(d) = d^2 / 2 if |d| < delta else delta (|d| - delta / 2);  L = (1/n) sum l(d).
    Written as l = q (|d| - q / 2) with q = min(|d|, delta).
    dL/dout = clip(d, -delta, delta) / n.
    """

    name = "huber"
    params = (Param("delta", 1.0, low=0.0, low_open=True, doc="quadratic below |d| < delta"),)

    def __init__(self, delta: float = 1.0) -> None:
        self.delta = delta

    def _elementwise(self, out: Array, y: Target) -> Array:
        ad = np.abs(out - y)
        q = np.minimum(ad, self.delta)
        return q * (ad - 0.5 * q)

    def value(self, out: Array, y: Target) -> float:
        losses = self._elementwise(out, y)
        return float(losses.sum()) / losses.size

    def grad(self, out: Array, y: Target) -> Array:
        g = np.minimum(np.maximum(out - y, -self.delta), self.delta)
        g *= 1.0 / g.size
        return g

    def batch_values(self, out: Array, y: Target) -> Array:
        return self._elementwise(out, y).mean(axis=_LAST_TWO)

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        # the clip's slope: 1 inside |d| < delta, 0 on the linear arms
        inside = np.abs(out - y) < self.delta
        return np.where(inside, r, 0.0) * (1.0 / out.size)


@LOSSES.register
class BCE(Loss):
    """Binary cross-entropy on logits (torch BCEWithLogitsLoss), z = out, y in {0, 1}:

    l = -[y log sigmoid(z) + (1 - y) log(1 - sigmoid(z))] = log(1 + exp(z)) - y z,
    computed as logaddexp(0, z) - y z.  L = (1/n) sum l.  dL/dz = (sigmoid(z) - y) / n.
    """

    name = "bce"
    on_logits = True
    requires_output = "sigmoid"
    task = "binary"

    def value(self, out: Array, y: Target) -> float:
        losses = np.logaddexp(0.0, out) - out * y
        return float(losses.sum()) / losses.size

    def grad(self, out: Array, y: Target) -> Array:
        g: Array = expit(out) - y
        g *= 1.0 / g.size
        return g

    def batch_values(self, out: Array, y: Target) -> Array:
        return (np.logaddexp(0.0, out) - out * y).mean(axis=_LAST_TWO)

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        s = expit(out)
        return r * (s * (1.0 - s) * (1.0 / out.size))


@LOSSES.register
class CrossEntropy(Loss):
    """Cross-entropy on logits (torch CrossEntropyLoss), z = out (N, K), labels y (N,):

    l_i = -log softmax(z_i)[y_i] = logsumexp(z_i) - z_i[y_i], computed on s_i = z_i - max(z_i);
    L = (1/N) sum_i l_i.  dL/dz_i = (softmax(z_i) - onehot(y_i)) / N.
    """

    name = "ce"
    on_logits = True
    requires_output = "softmax"
    task = "multiclass"

    def value(self, out: Array, y: Target) -> float:
        s = out - out.max(axis=-1, keepdims=True)
        n = s.shape[0]
        lse = np.log(np.exp(s).sum(axis=-1))
        return float((lse - s[np.arange(n), y]).sum()) / n

    def grad(self, out: Array, y: Target) -> Array:
        p = np.exp(out - out.max(axis=-1, keepdims=True))
        n = p.shape[0]
        p /= p.sum(axis=-1, keepdims=True)
        p[np.arange(n), y] -= 1.0
        p *= 1.0 / n
        return p

    def batch_values(self, out: Array, y: Target) -> Array:
        s = out - out.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(s).sum(axis=-1))  # (..., N)
        picked = s[..., np.arange(s.shape[-2]), y]  # (..., N): s[..., i, y_i]
        return (lse - picked).mean(axis=-1)

    def hessian_vector(self, out: Array, y: Target, r: Array) -> Array:
        # the softmax Jacobian p_k (delta_kj - p_j) applied to r, per row, over N
        p = np.exp(out - out.max(axis=-1, keepdims=True))
        p /= p.sum(axis=-1, keepdims=True)
        pr = p * r
        return (pr - p * pr.sum(axis=-1, keepdims=True)) * (1.0 / out.shape[0])
