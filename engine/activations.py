"""Activation functions, each written next to its derivative.

Like TensorFlow Playground's ``{output, der}`` pairs, every activation is one small class with

* ``forward(z) -> a``: ``a = f(z)``, ``z`` of shape ``(N, units)``, ``a`` the same shape;
* ``derivative(z, a) -> f'(z)``: elementwise, same shape (softmax: the Jacobian's diagonal);
* ``backward(z, a, grad_a) -> grad_z``: the vector-Jacobian product ``dL/dz`` from ``dL/da``
  (elementwise ``grad_a * f'(z)``; softmax uses its full Jacobian);
* ``second_derivative(z, a) -> f''(z)`` (elementwise ones), which the exact Hessian of the
  newton optimizer needs (0 for the piecewise-linear ones, as torch's double backward gives).

Definitions and defaults follow ``torch.nn`` (ReLU, LeakyReLU, PReLU, ELU, Softplus, GELU, SiLU,
Threshold, Softmax over the last axis), including torch's choice of derivative at kinks:
ReLU'(0) = 0, LeakyReLU'(0) = negative_slope, PReLU'(0) = α, ELU'(0) = alpha, and the
thresholded ReLU's f'(θ) = 0.

PReLU is the one activation with a *learned* weight α (``learned = True``): the layer holds α
among its parameters (after W, b and batch norm's γ, β), so the optimizer updates it like any
other; :meth:`PReLU.bind` sizes it for the layer and :meth:`PReLU.weight_grad` gives dL/dα.

Every formula is written to stay finite and warning-free for |z| up to about 1e300: sigmoid via
``scipy.special.expit`` (the exp(-|z|) trick inside one ufunc), softplus via ``logaddexp`` and
torch's threshold rule, softmax by subtracting the row maximum, GELU by clipping only where the
Gaussian tail has already underflowed to exactly 0.

These methods run on every training step on tiny arrays, so they skip validation and use as few
NumPy calls as possible, reusing the cached ``a`` when it gives the derivative cheaply.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit

from engine.registry import Param, Registry

Array = NDArray[np.float64]

class Activation:
    """Base class: ``a = f(z)`` elementwise, with ``f'`` and the backward VJP."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    elementwise: ClassVar[bool] = True
    learned: ClassVar[bool] = False  # holds a trained weight α (PReLU)

    def forward(self, z: Array) -> Array:
        raise NotImplementedError

    def derivative(self, z: Array, a: Array) -> Array:
        raise NotImplementedError

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        """dL/dz = dL/da * f'(z) for elementwise activations (subclasses inline it)."""
        return grad_a * self.derivative(z, a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        """f''(z), elementwise, for the exact Hessian (:mod:`engine.hessian`); an activation
        without one leaves this out, and the newton optimizer refuses a net that uses it."""
        raise NotImplementedError


ACTIVATIONS: Registry[Activation] = Registry("activation")


@ACTIVATIONS.register
class Linear(Activation):
    """Identity: a = z, f'(z) = 1.

    ``forward`` returns a copy so the recorded z and a never alias; ``backward`` returns
    ``grad_a`` itself (no copy).
    """

    name = "linear"

    def forward(self, z: Array) -> Array:
        return z.copy()

    def derivative(self, z: Array, a: Array) -> Array:
        return np.ones_like(z)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a

    def second_derivative(self, z: Array, a: Array) -> Array:
        return np.zeros_like(z)


@ACTIVATIONS.register
class Sigmoid(Activation):
    """Logistic sigmoid: a = 1 / (1 + exp(-z)), f'(z) = a (1 - a)."""

    name = "sigmoid"

    def forward(self, z: Array) -> Array:
        return expit(z)

    def derivative(self, z: Array, a: Array) -> Array:
        return a * (1.0 - a)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * a * (1.0 - a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        # d/dz a(1 - a) = a(1 - a)(1 - 2a)
        return a * (1.0 - a) * (1.0 - 2.0 * a)


@ACTIVATIONS.register
class Tanh(Activation):
    """Hyperbolic tangent: a = tanh(z), f'(z) = 1 - a^2."""

    name = "tanh"

    def forward(self, z: Array) -> Array:
        return np.tanh(z)

    def derivative(self, z: Array, a: Array) -> Array:
        return 1.0 - a * a

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * (1.0 - a * a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        # d/dz (1 - a²) = -2a(1 - a²)
        return -2.0 * a * (1.0 - a * a)


@ACTIVATIONS.register
class ReLU(Activation):
    """Rectified linear unit: a = max(0, z), f'(z) = 1 if z > 0 else 0 (0 at z = 0, as torch)."""

    name = "relu"

    def forward(self, z: Array) -> Array:
        return np.maximum(z, 0.0)

    def derivative(self, z: Array, a: Array) -> Array:
        # a >= 0, so sign(a) is exactly the step 1[z > 0], in one float ufunc.
        return np.sign(a)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * np.sign(a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        return np.zeros_like(z)  # piecewise linear: 0 away from the kink (torch's autograd too)


@ACTIVATIONS.register
class LeakyReLU(Activation):
    """Leaky ReLU: a = z if z > 0 else s z, f'(z) = 1 if z > 0 else s (s at z = 0, as torch).

    s = ``negative_slope`` (torch default 0.01), restricted to [0, 1) so that
    f(z) = max(z, s z) and f'(z) = max(sign(z), s).
    """

    name = "leaky_relu"
    params = (
        Param("negative_slope", 0.01, low=0.0, high=1.0, high_open=True, doc="slope s for z <= 0"),
    )

    def __init__(self, negative_slope: float = 0.01) -> None:
        self.negative_slope = negative_slope

    def forward(self, z: Array) -> Array:
        return np.maximum(z, self.negative_slope * z)

    def derivative(self, z: Array, a: Array) -> Array:
        # sign(z) is 1, 0 or -1; max with s (0 <= s < 1) maps them to 1, s, s.
        return np.maximum(np.sign(z), self.negative_slope)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * np.maximum(np.sign(z), self.negative_slope)

    def second_derivative(self, z: Array, a: Array) -> Array:
        return np.zeros_like(z)  # piecewise linear


def prelu(z: Array, alpha: Array) -> Array:
    """a = max(0, z) + α min(0, z), α broadcast over the last (unit) axis: (1,), (units,) or
    stacked candidates (G, 1, units) against z (G, N, units), as loss landscapes need."""
    return np.maximum(z, 0.0) + alpha * np.minimum(z, 0.0)


@ACTIVATIONS.register
class PReLU(Activation):
    """Parametric ReLU (torch.nn.PReLU): a = max(0, z) + α min(0, z) with α learned.

    f'(z) = 1 if z > 0 else α (α at z = 0, as torch). ``num_parameters`` "layer" is one α for
    the layer (torch's ``num_parameters=1``), "unit" one per unit; each starts at ``init``.
    dL/dα_k = Σ_n min(0, z_nk) · dL/da_nk (also summed over the units for one α per layer).
    ``alpha``, ``dalpha``: the layer's parameter and gradient (views into the network's flat
    vectors once it seats them, like W and dW). An optimizer's weight_decay reaches α as torch
    applies a group's to every parameter (torch's docs advise none on α); the config's L1/L2
    penalty covers the weight matrices only.
    """

    name = "prelu"
    learned = True
    params = (
        Param("num_parameters", "layer", kind="choice", choices=("layer", "unit"), doc="α's"),
        Param("init", 0.25, doc="α at the start"),
    )

    def __init__(self, num_parameters: str = "layer", init: float = 0.25) -> None:
        self.num_parameters = num_parameters
        self.init = init
        self.bind(1)

    def bind(self, units: int) -> None:
        """Size α for a layer of ``units`` units: (1,) or (units,), filled with ``init``."""
        n = units if self.num_parameters == "unit" else 1
        self.alpha: Array = np.full(n, self.init)
        self.dalpha: Array = np.zeros(n)

    def forward(self, z: Array) -> Array:
        return prelu(z, self.alpha)

    def derivative(self, z: Array, a: Array) -> Array:
        return np.where(z > 0.0, 1.0, self.alpha)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * np.where(z > 0.0, 1.0, self.alpha)

    def weight_grad(self, z: Array, grad_a: Array, out: Array) -> None:
        """dL/dα into ``out`` (α's shape) from z and dL/da, both (N, units)."""
        per_unit = np.einsum("ij,ij->j", np.minimum(z, 0.0), grad_a)
        out[...] = per_unit.sum() if out.shape[0] == 1 else per_unit


@ACTIVATIONS.register
class ThresholdedReLU(Activation):
    """Thresholded ReLU (Keras ThresholdedReLU, torch.nn.Threshold(θ, 0)): a = z if z > θ
    else 0; f'(z) = 1 if z > θ else 0 (0 at z = θ, as torch). θ >= 0, as Keras requires."""

    name = "thresholded_relu"
    params = (Param("theta", 1.0, low=0.0, doc="threshold θ: a = z only where z > θ"),)

    def __init__(self, theta: float = 1.0) -> None:
        self.theta = theta

    def forward(self, z: Array) -> Array:
        return np.where(z > self.theta, z, 0.0)

    def derivative(self, z: Array, a: Array) -> Array:
        return (z > self.theta).astype(np.float64)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return np.where(z > self.theta, grad_a, 0.0)


@ACTIVATIONS.register
class ELU(Activation):
    """Exponential linear unit: a = z if z > 0 else alpha (exp(z) - 1).

    f'(z) = 1 if z > 0 else alpha exp(z) = a + alpha (alpha at z = 0, as torch).
    """

    name = "elu"
    params = (Param("alpha", 1.0, low=0.0, low_open=True, doc="saturation value -alpha"),)

    def __init__(self, alpha: float = 1.0) -> None:
        self.alpha = alpha

    def forward(self, z: Array) -> Array:
        # torch's form max(0, z) + alpha expm1(min(0, z)): expm1 never sees a positive argument.
        return np.maximum(z, 0.0) + self.alpha * np.expm1(np.minimum(z, 0.0))

    def derivative(self, z: Array, a: Array) -> Array:
        return np.where(z > 0.0, 1.0, a + self.alpha)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * np.where(z > 0.0, 1.0, a + self.alpha)

    def second_derivative(self, z: Array, a: Array) -> Array:
        # alpha exp(z) = a + alpha below 0, 0 above (torch's f'' at 0 is the left one too)
        return np.where(z > 0.0, 0.0, a + self.alpha)


@ACTIVATIONS.register
class Softmax(Activation):
    """Softmax over the last axis: a_k = exp(z_k - m) / sum_j exp(z_j - m), m = max_j z_j.

    Not elementwise: the Jacobian is da_k/dz_j = a_k (delta_kj - a_j). ``derivative`` returns its
    diagonal a (1 - a); ``backward`` returns the full VJP grad_z = a * (grad_a - <grad_a, a>),
    the inner product taken per row.
    """

    name = "softmax"
    elementwise = False

    def forward(self, z: Array) -> Array:
        e = np.exp(z - z.max(axis=-1, keepdims=True))
        e /= e.sum(axis=-1, keepdims=True)
        return e

    def derivative(self, z: Array, a: Array) -> Array:
        return a * (1.0 - a)

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return a * (grad_a - (grad_a * a).sum(axis=-1, keepdims=True))


# the smooth ones (softplus, GELU, SiLU) have a module of their own; registered here, before
# the hidden list below is taken (import this module, never that one, to get them all)
from engine import activations_smooth  # noqa: E402, F401

HIDDEN_ACTIVATIONS: tuple[str, ...] = tuple(
    n for n in ACTIVATIONS.names() if ACTIVATIONS.lookup(n).elementwise
)
OUTPUT_ACTIVATIONS: tuple[str, ...] = ("linear", "sigmoid", "softmax", "tanh")


def get_activation(name: str, params: dict[str, Any] | None = None) -> Activation:
    """The activation ``name`` with validated ``params``; ValueError naming a bad name or value."""
    return ACTIVATIONS.create(name, params)
