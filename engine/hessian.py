"""The exact Hessian of a network's batch loss, by differentiating the backward pass.

The objective is the one the trainer's gradient belongs to: ``f(θ) = L(net(X; θ), y) + penalty``
on one batch X (N, F), targets y. Its Hessian ``H = ∂²f/∂θ²`` (P, P) is built column by column
with Pearlmutter's R-operator (forward-over-reverse): for a direction v, ``R{·}`` is the
derivative d/dε of a quantity at θ + εv, and ``H v = R{∇f}``. Running the forward pass and the
backward pass with their R-parts, per layer (x: input, u = xW + b, a = f(u); V_W, V_b the
direction's share of W, b)::

    R{u} = R{x} W + x V_W + V_b              R{a} = f'(u) ⊙ R{u}
    R{g_out} = ∇²_out L · R{out}             (the loss's :meth:`~engine.losses.Loss.hessian_vector`)
    δ = f'(u) ⊙ g_a                          R{δ} = f''(u) ⊙ R{u} ⊙ g_a + f'(u) ⊙ R{g_a}
    R{dW} = R{x}ᵀ δ + xᵀ R{δ} (+ λ V_W, L2)  R{db} = Σ_n R{δ}
    g_x = δ Wᵀ                               R{g_x} = R{δ} Wᵀ + δ V_Wᵀ

With v = e_j (every basis vector, :data:`CHUNK` at a time along a leading axis D, a chunk
within one layer so the R-parts of the layers below it are 0 and skipped), R{∇f} is column j
of H; the result is symmetrised, ``(H + Hᵀ)/2``, which only removes rounding.
Exact for the piecewise-smooth parts too: ReLU-like activations and MAE have f'' = 0 away
from their kinks, as torch's double backward gives. L1's penalty adds nothing (|w|'' = 0).

What it needs: every activation's ``second_derivative``, the loss's ``hessian_vector``; no
batch norm and no dropout (:func:`unsupported` names what is missing, for the config's 422).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.activations import Activation
from engine.losses import Loss

Array = NDArray[np.float64]

CHUNK = 64  # directions per vectorised pass: bounds memory at CHUNK × N × units floats


def _has(cls: type, method: str, base: type) -> bool:
    return getattr(cls, method) is not getattr(base, method)


def unsupported(
    hidden: list[type[Activation]],
    output: type[Activation],
    loss: type[Loss],
    batchnorm: bool,
    dropout: float,
) -> tuple[str, str] | None:
    """(config field, why) when the exact Hessian cannot be built for a net of these parts
    (activation and loss *classes*), else None."""
    if batchnorm:
        return "batchnorm", "the exact Hessian is built for nets without batch norm"
    if dropout > 0:
        return "dropout", "dropout makes the loss random: it has no Hessian"
    for i, act in enumerate(hidden):
        if not _has(act, "second_derivative", Activation):
            return f"hidden.{i}.activation", f"activation {act.name} has no second derivative here"
    if not _has(loss, "hessian_vector", Loss):
        return "loss.name", f"loss {loss.name} has no Hessian-vector product here"
    if not loss.on_logits and (
        not output.elementwise or not _has(output, "second_derivative", Activation)
    ):
        return "output_activation", f"output activation {output.name} has no second derivative"
    return None


def hessian(net: Any, x: Array, y: Any) -> Array:
    """H (P, P) of the batch loss (+ penalty) at the net's current θ, x (N, F), y the targets."""
    caches = net.forward(x, True)  # train mode; without dropout or batch norm = eval mode
    p = net.n_params
    if p != sum(la.W.size + la.b.size for la in net.layers):  # e.g. a learned activation slope
        raise ValueError("the exact Hessian covers nets whose parameters are W and b only")
    h = np.empty((p, p))
    offset = 0
    for j, layer in enumerate(net.layers):
        size = layer.W.size + layer.b.size
        # chunks of basis directions within one layer: the layers below it do not move
        for lo in range(0, size, CHUNK):
            hi = min(lo + CHUNK, size)
            h[offset + lo : offset + hi] = _r_gradient(net, caches, y, j, lo, hi)
        offset += size
    h += h.T
    h *= 0.5
    return h


def _r_gradient(net: Any, caches: list[Any], y: Any, j: int, lo: int, hi: int) -> Array:
    """R{∇f} (D, P) for the D = hi − lo basis directions of layer j's parameters lo … hi − 1
    (W's entries row-major, then b's): D rows of the Hessian."""
    layers = net.layers
    d = hi - lo
    w = layers[j].W
    flat = np.zeros((d, w.size + w.shape[1]))
    flat[np.arange(d), np.arange(lo, hi)] = 1.0
    vw = flat[:, : w.size].reshape(d, *w.shape)  # (D, F, U): V_W of each direction
    vb = flat[:, w.size :]  # (D, U): V_b
    # forward from layer j (below it R{·} = 0): R{x} into each layer, R{z} out of it
    # (stacked matmuls rather than einsum: the same sums, several times faster)
    r_x: list[Array | None] = [None] * len(layers)
    r_z: list[Array | None] = [None] * len(layers)
    r_in: Array | None = None
    for i in range(j, len(layers)):
        layer, c = layers[i], caches[i]
        r_x[i] = r_in
        if i == j:
            ru = c.x @ vw
            ru += vb[:, None, :]
        else:
            assert r_in is not None
            ru = r_in @ layer.W
        r_z[i] = ru
        r_in = layer.activation.derivative(c.z, c.f) * ru
    # the loss and its R-part
    last = caches[-1]
    loss = net.loss
    assert r_in is not None
    if loss.on_logits:
        delta = loss.grad(last.z, y)
        r_delta = loss.hessian_vector(last.z, y, r_z[-1])
    else:
        g_a = loss.grad(last.a, y)
        r_g_a = loss.hessian_vector(last.a, y, r_in)
        delta, r_delta = _through_activation(layers[-1].activation, last, r_z[-1], g_a, r_g_a)
    # backward, every layer
    out: list[Array] = [np.empty(0)] * (2 * len(layers))
    for i in range(len(layers) - 1, -1, -1):
        layer, c = layers[i], caches[i]
        r_dw = c.x.T @ r_delta
        rx = r_x[i]
        if rx is not None:
            r_dw += rx.transpose(0, 2, 1) @ delta
        if i == j and net.reg_kind == "l2":
            r_dw += net.reg_rate * vw
        out[2 * i] = r_dw.reshape(d, -1)
        out[2 * i + 1] = r_delta.sum(axis=1)
        if i > 0:
            g_x = delta @ layer.W.T
            r_g_x = r_delta @ layer.W.T
            if i == j:
                r_g_x += delta @ vw.transpose(0, 2, 1)
            below = caches[i - 1]
            delta, r_delta = _through_activation(
                layers[i - 1].activation, below, r_z[i - 1], g_x, r_g_x
            )
    return np.concatenate(out, axis=1)


def _through_activation(
    act: Activation, cache: Any, r_z: Array | None, g_a: Array, r_g_a: Array
) -> tuple[Array, Array]:
    """δ = f'(z) ⊙ g_a and R{δ} = f''(z) ⊙ R{z} ⊙ g_a + f'(z) ⊙ R{g_a} (elementwise f; the
    first term is 0 where R{z} is, below the directions' layer)."""
    f1 = act.derivative(cache.z, cache.f)
    r_delta = f1 * r_g_a
    if r_z is not None:
        r_delta += act.second_derivative(cache.z, cache.f) * g_a * r_z
    return f1 * g_a, r_delta
