"""Gradient noise: the full-batch gradient beside mini-batch gradients from the same weights.

At the current weights θ, with J_S(θ) = (loss's mean over the examples S) + penalty(θ):

    g_full = ∇J_X(θ)           X: the whole training set, N examples
    g_b    = ∇J_{S_b}(θ)       S_b: mini-batch b, |S_b| examples (the session's batch size B)

each by the network's own backward pass (the one training runs: ``Network.backward`` with the
penalty's gradient added to every dW, as the trainer adds it). Nothing of the trainer changes:
the passes return new arrays (``Network.forward``/``backward`` keep the layers' recorded ones).

The batches are drawn as the trainer draws them: consecutive slices of a permutation of the
N examples from a seeded ``np.random.default_rng(seed)``, a fresh permutation when one is used
up. With ``cover=True`` they are the ⌈N/B⌉ slices of one permutation, so they cover the data
once and, the loss being a mean,

    Σ_b (|S_b| / N) · g_b = g_full          (exact up to rounding)

because the data part of each g_b is (1/|S_b|) Σ_{n∈S_b} ∇ℓ_n and the penalty's gradient is
the same in every term (the weights sum to 1). This is the sense in which a mini-batch
gradient is an unbiased estimate of the full one. Batch norm breaks the identity (a batch's
statistics couple its examples), and so does dropout (each pass draws its own masks, here from
the generator seeded with ``seed``, never the trainer's).

For each batch: its norm ‖g_b‖, its cosine to the full gradient cos_b = g_b·g / (‖g_b‖‖g‖),
and the norm ratio ‖g_b‖ / ‖g‖; the summary gives their mean and (population) standard
deviation, the mean angle arccos(mean cos) in degrees, and the size-weighted average of the
batch gradients with its cosine to g (1 when they cover the data). Gradient clipping is not
applied: these are the gradients before the optimizer's clip.

:func:`plane_coefficients` writes −g (the direction a plain SGD step takes) in a slice's basis
(d₁, d₂): the least-squares coefficients c = (DᵀD)⁻¹ Dᵀ(−g), D = [d₁ d₂] (P, 2), so D c is the
orthogonal projection of −g on the plane even when d₁, d₂ are not orthonormal (filter-normalised
random directions are not).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.inspect.directions import project
from engine.layers import param_names
from engine.network import Network
from engine.trainer import Trainer

Array = NDArray[np.float64]
Index = NDArray[np.int64]


def draw_batches(n: int, batch_size: int, count: int, seed: int) -> list[Index]:
    """``count`` index arrays of mini-batches over ``n`` examples, drawn like the trainer's:
    consecutive slices of ``default_rng(seed).permutation(n)``, a new permutation (same
    generator) when one is used up, so the last batch of a pass may be smaller."""
    if n < 1 or batch_size < 1 or count < 1:
        raise ValueError(f"batches: need examples, a batch size and a count, got {n, batch_size}")
    rng = np.random.default_rng(seed)
    perm, pointer = rng.permutation(n), 0
    out: list[Index] = []
    for _ in range(count):
        idx = perm[pointer : pointer + batch_size]
        out.append(idx)
        pointer += idx.shape[0]
        if pointer >= n:
            perm, pointer = rng.permutation(n), 0
    return out


def gradient_on(
    net: Network, x: Array, y: Array, rng: np.random.Generator | None = None
) -> tuple[Array, float]:
    """(∇J flat over θ in ``Network.params`` order (P,), J) on the examples ``x`` (n, F), ``y``:
    a train-mode pass (batch statistics; dropout when ``rng`` is given) and the backward pass
    with the penalty's gradient, in new arrays."""
    caches = net.forward(x, train=True, rng=rng)
    passes = net.backward(caches, y, penalty=True)
    flat = np.concatenate([g.ravel() for _, grads in passes for g in grads])
    loss = float(net.loss.value(net.loss_input(caches[-1]), y)) + net.penalty()
    return flat, loss


def batch_gradient(trainer: Trainer, indices: Any, seed: int = 0) -> Array:
    """The gradient the trainer would compute on the training examples ``indices`` (B,)."""
    idx = np.asarray(indices, dtype=np.int64)
    rng = np.random.default_rng(seed)
    with np.errstate(all="ignore"):
        g, _ = gradient_on(trainer.net, trainer.data.x_train[idx], trainer.data.y_train[idx], rng)
    return g


def _norm(v: Array) -> float:
    return math.sqrt(float(np.vdot(v, v)))


def cosine(a: Array, b: Array) -> float:
    """a·b / (‖a‖‖b‖), clipped into [−1, 1] against rounding; NaN when either is zero."""
    na, nb = _norm(a), _norm(b)
    if not (na > 0 and nb > 0):
        return math.nan
    return min(1.0, max(-1.0, float(np.vdot(a, b)) / (na * nb)))


def gradient_noise(
    trainer: Trainer, batches: int = 8, seed: int = 0, cover: bool = False
) -> dict[str, Any]:
    """The full gradient and ``batches`` mini-batch gradients at the trainer's weights (see
    the module docstring); with ``cover`` the ⌈N/B⌉ batches of one pass instead. Vectors are
    flat arrays (``full["gradient"]``, ``batches[i]["gradient"]``); :func:`layered` splits one
    per layer. Non-finite numbers are left in (the caller cleans them with ``finite``)."""
    if isinstance(batches, bool) or not isinstance(batches, int) or batches < 1:
        raise ValueError(f"batches: must be a whole number >= 1, got {batches!r}")
    net, data = trainer.net, trainer.data
    n, size = trainer.n_train, trainer.batch_size
    count = -(-n // size) if cover else batches
    rng = np.random.default_rng(seed)  # dropout's masks: never the trainer's generator
    with np.errstate(all="ignore"):  # a diverging run's overflow shows as None in the answer
        full, full_loss = gradient_on(net, data.x_train, data.y_train, rng)
        full_norm = _norm(full)
        rows: list[dict[str, Any]] = []
        total = np.zeros_like(full)
        for idx in draw_batches(n, size, count, seed):
            g, loss = gradient_on(net, data.x_train[idx], data.y_train[idx], rng)
            norm = _norm(g)
            total += idx.shape[0] * g
            rows.append(
                {
                    "size": int(idx.shape[0]),
                    "indices": idx.tolist(),
                    "gradient": g,
                    "loss": loss,
                    "norm": norm,
                    "cosine": cosine(g, full),
                    "norm_ratio": norm / full_norm if full_norm > 0 else math.nan,
                }
            )
        average = total / sum(r["size"] for r in rows)
        cosines = np.array([r["cosine"] for r in rows])
        ratios = np.array([r["norm_ratio"] for r in rows])
        mean_cos = float(np.mean(cosines))
        summary = {
            "count": len(rows),
            "mean_cosine": mean_cos,
            "std_cosine": float(np.std(cosines)),
            "min_cosine": float(np.min(cosines)),
            "mean_angle_degrees": math.degrees(math.acos(mean_cos))
            if math.isfinite(mean_cos)
            else math.nan,
            "mean_norm_ratio": float(np.mean(ratios)),
            "std_norm_ratio": float(np.std(ratios)),
            "average_norm": _norm(average),
            "average_cosine": cosine(average, full),
            "average_difference": _norm(average - full) / full_norm if full_norm > 0 else math.nan,
        }
    return {
        "iteration": trainer.iteration,
        "n_train": n,
        "batch_size": size,
        "seed": seed,
        "cover": cover,
        "full": {"gradient": full, "norm": full_norm, "loss": full_loss},
        "average": average,
        "batches": rows,
        "summary": summary,
    }


def layered(net: Network, flat: Array) -> list[dict[str, Any]]:
    """A flat (P,) vector as one dict per layer: {"W": (fan_in, fan_out), "b": (fan_out,),
    [ "gamma", "beta" ], [ "alpha" ]}, as nested lists."""
    parts = net.unflatten(flat)
    out, k = [], 0
    for layer in net.layers:
        m = len(layer.params)
        out.append({name: parts[k + j].tolist() for j, name in enumerate(param_names(m))})
        k += m
    return out


def plane_coefficients(gradient: Array, d1: Array, d2: Array | None = None) -> list[float]:
    """The coefficients of the step direction −g in the basis (d₁[, d₂]): least squares
    (see the module docstring); one coefficient for a 1-D slice (−g·d₁ / d₁·d₁)."""
    with np.errstate(all="ignore"):
        coords = project(-gradient[None, :], np.zeros_like(gradient), d1, d2)[0]
    return [float(c) for c in coords]
