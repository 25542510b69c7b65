"""One layer of the network, and batch normalization.

A layer ``i`` computes, for an input batch ``x`` of shape ``(N, fan_in)``::

    u = x @ W + b                 W: (fan_in, fan_out), b: (fan_out,)       dense
    z = BN(u)   (or z = u)        γ, β: (fan_out,)                          batch norm, optional
    a = f(z) * mask / (1 - p)     mask ~ Bernoulli(1 - p), train mode only  activation, dropout

and backward, given ``dL/da`` (or, for the output layer, ``δ = dL/dz`` straight from the loss)::

    δ   = dL/dz = f'(z) ⊙ dL/da   (a vector-Jacobian product for softmax)
    dL/du = BN'(δ)                (= δ without batch norm)
    dW = xᵀ · dL/du,  db = Σ_n dL/du,  dL/dx = dL/du · Wᵀ

Every intermediate is kept on the layer after each pass (``x, z, a, delta, dW, db``) so the
page can show any number after any phase. The gradient arrays are allocated once and written
in place (``out=``) so the optimizer can hold on to them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from engine.activations import Activation

Array = NDArray[np.float64]

# the names of Layer.params, in their order (γ, β only with batch norm)
PARAM_NAMES = ("W", "b", "gamma", "beta")


class BatchNorm:
    """``torch.nn.BatchNorm1d`` (momentum 0.1, eps 1e-5, affine, tracked running stats).

    Train mode normalises with the batch mean and biased variance and updates
    ``running = (1 - momentum) · running + momentum · batch_stat`` using the unbiased variance
    ``var · n / (n - 1)``; eval mode normalises with the running statistics.
    """

    def __init__(self, units: int, momentum: float = 0.1, eps: float = 1e-5) -> None:
        self.gamma = np.ones(units)
        self.beta = np.zeros(units)
        self.running_mean = np.zeros(units)
        self.running_var = np.ones(units)
        self.momentum = momentum
        self.eps = eps
        self.dgamma = np.zeros(units)
        self.dbeta = np.zeros(units)
        self.u_hat: Array = np.zeros((0, units))
        self.inv_std: Array = np.ones(units)
        self.train_mode = True
        self._batch_stats: tuple[Array, Array] = (self.running_mean, self.running_var)

    def forward(self, u: Array, train: bool) -> Array:
        """z = γ · (u - μ) / sqrt(σ² + eps) + β, shapes (N, units) → (N, units)."""
        self.train_mode = train
        if train:
            n = u.shape[0]
            mean = u.mean(axis=0)
            centered = u - mean
            var = np.einsum("ij,ij->j", centered, centered) / n
            # torch divides by n - 1 for the running variance; a batch of one has no spread
            self._batch_stats = (mean, var * (n / (n - 1)) if n > 1 else var)
        else:
            centered = u - self.running_mean
            var = self.running_var
        self.inv_std = 1.0 / np.sqrt(var + self.eps)
        self.u_hat = centered * self.inv_std
        return self.u_hat * self.gamma + self.beta

    def commit_stats(self) -> None:
        """Fold the last train-mode batch into the running statistics.

        torch does this inside forward; doing it with the weight update keeps "nothing changes
        before the update phase" true, which phase stepping and mid-iteration checkpoints rely on.
        """
        mean, var = self._batch_stats
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * var

    def backward(self, delta: Array) -> Array:
        """dL/du from δ = dL/dz; writes dγ = Σ δ·û and dβ = Σ δ.

        Train mode: dL/du = γ/σ · (δ - mean(δ) - û · mean(δ·û)), because μ and σ depend on u.
        """
        np.einsum("ij,ij->j", delta, self.u_hat, out=self.dgamma)
        np.add.reduce(delta, axis=0, out=self.dbeta)
        scale = self.gamma * self.inv_std
        if not self.train_mode:
            return delta * scale
        n = delta.shape[0]
        return scale * (delta - self.dbeta / n - self.u_hat * (self.dgamma / n))


class Layer:
    """Dense → optional batch norm → activation → optional inverted dropout."""

    def __init__(
        self,
        W: Array,
        b: Array,
        activation: Activation,
        batchnorm: bool = False,
        dropout: float = 0.0,
    ) -> None:
        self.W = W
        self.b = b
        self.activation = activation
        self.bn = BatchNorm(W.shape[1]) if batchnorm else None
        self.dropout = dropout
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)
        empty = np.zeros((0, W.shape[1]))
        self.x: Array = np.zeros((0, W.shape[0]))
        self.z: Array = empty
        self.f: Array = empty  # f(z) before dropout: the activation's own output
        self.a: Array = empty
        self.delta: Array = empty
        self.mask: Array | None = None

    @property
    def params(self) -> list[Array]:
        """Trainable arrays in a fixed order: W, b, then γ, β with batch norm."""
        return [self.W, self.b] + ([self.bn.gamma, self.bn.beta] if self.bn else [])

    @property
    def grads(self) -> list[Array]:
        """Gradient buffers parallel to :attr:`params`."""
        return [self.dW, self.db] + ([self.bn.dgamma, self.bn.dbeta] if self.bn else [])

    def forward(self, x: Array, train: bool, rng: np.random.Generator | None = None) -> Array:
        """a = dropout(f(BN(x W + b))); x (N, fan_in) → a (N, fan_out)."""
        self.x = x
        u = x @ self.W
        u += self.b
        self.z = self.bn.forward(u, train) if self.bn is not None else u
        self.a = self.f = self.activation.forward(self.z)
        if train and self.dropout > 0.0 and rng is not None:
            keep = 1.0 - self.dropout
            self.mask = (rng.random(self.f.shape) < keep) / keep
            self.a = self.f * self.mask
        else:
            self.mask = None
        return self.a

    def backward(self, grad_a: Array, need_input_grad: bool = True) -> Array | None:
        """From dL/da: δ = dL/dz through dropout and the activation, then :meth:`backward_delta`."""
        if self.mask is not None:
            grad_a = grad_a * self.mask
        return self.backward_delta(
            self.activation.backward(self.z, self.f, grad_a), need_input_grad
        )

    def backward_delta(self, delta: Array, need_input_grad: bool = True) -> Array | None:
        """From δ = dL/dz (N, fan_out): fill dW, db (and dγ, dβ); return dL/dx (N, fan_in)."""
        self.delta = delta
        grad_u = self.bn.backward(delta) if self.bn is not None else delta
        np.dot(self.x.T, grad_u, out=self.dW)
        np.add.reduce(grad_u, axis=0, out=self.db)
        return grad_u @ self.W.T if need_input_grad else None
