"""One layer of the network, and batch normalization: each forward next to its derivative.

A layer ``i`` computes, for an input batch ``x`` of shape ``(N, fan_in)``::

    u = x @ W + b                 W: (fan_in, fan_out), b: (fan_out,)       dense
    z = BN(u)   (or z = u)        γ, β: (fan_out,)                          batch norm, optional
    a = f(z) * mask / (1 - p)     mask ~ Bernoulli(1 - p), train mode only  activation, dropout

and backward, given ``dL/da`` (or, for the output layer, ``δ = dL/dz`` straight from the loss)::

    δ   = dL/dz = f'(z) ⊙ dL/da   (a vector-Jacobian product for softmax)
    dL/du = BN'(δ)                (= δ without batch norm)
    dW = xᵀ · dL/du,  db = Σ_n dL/du,  dL/dx = dL/du · Wᵀ
    dα = Σ_n min(0, z) ⊙ dL/df     (PReLU, whose α is a parameter of the layer: f = f_α)

The passes are functions of a cache: :meth:`Layer.forward` returns a :class:`Cache` (changing
nothing), and :meth:`Layer.delta_from` and :meth:`Layer.backward` read one. Training, the
eval-mode readouts (``Network.evaluate``, ``Network.trace``) and the gradient check all run
these same methods, so each derivative is written once. The trainer keeps the last train-mode
cache on the layer (:attr:`Layer.cache`, with ``x, z, a, delta`` read from it) so the page can
show any number after any phase, and lets :meth:`Layer.backward` write into the layer's
gradient buffers (views into the network's flat gradient) in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import NDArray

from engine.activations import Activation

Array = NDArray[np.float64]

# the names of Layer.params, in their order (γ, β only with batch norm, α only with PReLU)
PARAM_NAMES = ("W", "b", "gamma", "beta", "alpha")


def param_names(count: int) -> tuple[str, ...]:
    """The names of a layer's ``count`` parameters: W, b, then γ, β (batch norm) and α (PReLU).

    The count alone decides: 2 is (W, b), 3 adds α, 4 adds γ, β, 5 adds all three.
    """
    norm = PARAM_NAMES[2:4] if count >= 4 else ()
    return PARAM_NAMES[:2] + norm + PARAM_NAMES[4:][: count % 2]


class Normalized(NamedTuple):
    """Batch norm's forward pass over a batch: its output and what its derivative needs."""

    z: Array  # (N, units): γ · û + β
    u_hat: Array  # (N, units): û = (u − μ) / σ
    inv_std: Array  # (units,): 1/σ = 1 / sqrt(σ² + eps)
    stats: tuple[Array, Array] | None  # train mode: the batch's (μ, unbiased σ²); eval: None


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

    def normalize(self, u: Array, train: bool) -> Normalized:
        """z = γ · (u - μ) / sqrt(σ² + eps) + β, shapes (N, units) → (N, units).

        μ, σ² are the batch's (train) or the running statistics (eval); nothing is changed.
        """
        stats = None
        if train:
            n = u.shape[0]
            mean = u.mean(axis=0)
            centered = u - mean
            var = np.einsum("ij,ij->j", centered, centered) / n
            # torch divides by n - 1 for the running variance; a batch of one has no spread
            stats = (mean, var * (n / (n - 1)) if n > 1 else var)
        else:
            centered = u - self.running_mean
            var = self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        u_hat = centered * inv_std
        return Normalized(u_hat * self.gamma + self.beta, u_hat, inv_std, stats)

    def commit_stats(self, stats: tuple[Array, Array]) -> None:
        """Fold a train-mode batch's ``(μ, unbiased σ²)`` into the running statistics.

        torch does this inside forward; doing it with the weight update keeps "nothing changes
        before the update phase" true, which phase stepping and mid-iteration checkpoints rely on.
        """
        mean, var = stats
        m = self.momentum
        self.running_mean *= 1 - m
        self.running_mean += m * mean
        self.running_var *= 1 - m
        self.running_var += m * var

    def backward(self, norm: Normalized, delta: Array, dgamma: Array, dbeta: Array) -> Array:
        """dL/du from δ = dL/dz (N, units); writes dγ = Σ δ·û and dβ = Σ δ into the given arrays.

        Train mode: dL/du = γ/σ · (δ - mean(δ) - û · mean(δ·û)), because μ and σ depend on u;
        eval mode: dL/du = γ/σ · δ (the running statistics are constants).
        """
        np.einsum("ij,ij->j", delta, norm.u_hat, out=dgamma)
        np.add.reduce(delta, axis=0, out=dbeta)
        scale = self.gamma * norm.inv_std
        if norm.stats is None:
            return delta * scale
        n = delta.shape[0]
        return scale * (delta - dbeta / n - norm.u_hat * (dgamma / n))


@dataclass(slots=True)
class Cache:
    """One layer's forward pass over a batch of N examples: what its backward pass reads."""

    x: Array  # (N, fan_in): the input
    z: Array  # (N, fan_out): the pre-activation (after batch norm)
    f: Array  # (N, fan_out): f(z), the activation's own output
    a: Array  # (N, fan_out): the output, f(z) after dropout (f itself without)
    mask: Array | None = None  # (N, fan_out): dropout's 0 or 1/(1 - p) per entry
    norm: Normalized | None = None  # batch norm's pass
    # (N, fan_out): dL/df, which Layer.delta_from keeps for a learned activation (PReLU's
    # dL/dα = Σ min(0, z) · dL/df needs it, and δ = α · dL/df loses it where α = 0)
    grad_f: Array | None = None


class Layer:
    """Dense → optional batch norm → activation → optional inverted dropout.

    A learned activation (PReLU) is sized for the layer here; its α is the layer's last
    parameter.
    """

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
        if activation.learned:
            activation.bind(W.shape[1])  # type: ignore[attr-defined]
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)
        empty = np.zeros((0, W.shape[1]))
        self.cache = Cache(np.zeros((0, W.shape[0])), empty, empty, empty)  # the trainer's last
        self.delta: Array = empty  # δ of the trainer's last backward pass

    @property
    def params(self) -> list[Array]:
        """Trainable arrays in a fixed order: W, b, then γ, β with batch norm, α with PReLU."""
        act: Any = self.activation
        return (
            [self.W, self.b]
            + ([self.bn.gamma, self.bn.beta] if self.bn else [])
            + ([act.alpha] if act.learned else [])
        )

    @property
    def grads(self) -> list[Array]:
        """Gradient buffers parallel to :attr:`params`."""
        act: Any = self.activation
        return (
            [self.dW, self.db]
            + ([self.bn.dgamma, self.bn.dbeta] if self.bn else [])
            + ([act.dalpha] if act.learned else [])
        )

    @property
    def param_names(self) -> tuple[str, ...]:
        """The names of :attr:`params`: W, b, [gamma, beta], [alpha]."""
        return param_names(len(self.params))

    # the recorded pass, as the readouts name its arrays
    @property
    def x(self) -> Array:
        return self.cache.x

    @property
    def z(self) -> Array:
        return self.cache.z

    @property
    def a(self) -> Array:
        return self.cache.a

    def forward(self, x: Array, train: bool, rng: np.random.Generator | None = None) -> Cache:
        """a = dropout(f(BN(x W + b))); x (N, fan_in) → cache with a (N, fan_out).

        Train mode uses batch statistics and, given ``rng``, dropout; nothing is changed
        (the running statistics take the batch's with :meth:`BatchNorm.commit_stats`).
        """
        u = x @ self.W
        u += self.b
        norm = self.bn.normalize(u, train) if self.bn is not None else None
        z = norm.z if norm is not None else u
        a = f = self.activation.forward(z)
        mask = None
        if train and self.dropout > 0.0 and rng is not None:
            keep = 1.0 - self.dropout
            mask = (rng.random(f.shape) < keep) / keep
            a = f * mask
        return Cache(x, z, f, a, mask, norm)

    def delta_from(self, cache: Cache, grad_a: Array) -> Array:
        """δ = dL/dz (N, fan_out) from dL/da: back through dropout, then the activation."""
        if cache.mask is not None:
            grad_a = grad_a * cache.mask
        if self.activation.learned:
            cache.grad_f = grad_a
        return self.activation.backward(cache.z, cache.f, grad_a)

    def backward(
        self,
        cache: Cache,
        delta: Array,
        grads: list[Array] | None = None,
        need_input_grad: bool = True,
    ) -> Array | None:
        """From δ = dL/dz (N, fan_out) (and, for PReLU, the dL/df :meth:`delta_from` kept in
        ``cache``): write the gradients parallel to :attr:`params` into
        ``grads`` (by default the layer's own :attr:`grads`, the trainer's: views into the
        network's flat gradient) and return dL/dx (N, fan_in), or None without
        ``need_input_grad`` (the first layer's is never used).
        """
        # the trainer's call passes no list: one less allocation on every step
        dW, db = (self.dW, self.db) if grads is None else grads[:2]
        grad_u = delta
        if self.bn is not None:
            assert cache.norm is not None
            bn = self.bn
            dgamma, dbeta = (bn.dgamma, bn.dbeta) if grads is None else grads[2:4]
            grad_u = bn.backward(cache.norm, delta, dgamma, dbeta)
        act: Any = self.activation
        if act.learned:
            # dL/dα from the dL/df that delta_from kept (a learned activation is never the
            # output layer's, so delta_from always ran)
            assert cache.grad_f is not None
            act.weight_grad(cache.z, cache.grad_f, act.dalpha if grads is None else grads[-1])
        np.dot(cache.x.T, grad_u, out=dW)
        np.add.reduce(grad_u, axis=0, out=db)
        return grad_u @ self.W.T if need_input_grad else None
