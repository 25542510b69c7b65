"""The smooth activations: softplus, GELU and SiLU (swish), each with f′ and f″.

They are registered in :data:`engine.activations.ACTIVATIONS` like the others, by
``engine.activations`` importing this module (import that one, never this one directly: the
registry's order, and so the menus', is the order the two modules define them in).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import erf, expit

from engine.activations import ACTIVATIONS, Activation
from engine.registry import Param

Array = NDArray[np.float64]

_SQRT1_2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_C = 0.044715
# Beyond |z| = 40 the Gaussian density exp(-z^2/2) is exactly 0.0 in float64 (and tanh of the
# GELU-tanh argument is exactly +-1), so clipping there changes no result but keeps z^2, z^3 finite.
_GELU_CLIP = 40.0


@ACTIVATIONS.register
class Softplus(Activation):
    """Softplus: a = log(1 + exp(beta z)) / beta, and a = z where beta z > threshold (torch).

    f'(z) = sigmoid(beta z), and 1 where beta z > threshold. beta is capped at 100 so that
    beta z stays finite for |z| up to 1e306.
    """

    name = "softplus"
    params = (
        Param("beta", 1.0, low=0.0, high=100.0, low_open=True, doc="sharpness"),
        Param("threshold", 20.0, low=0.0, low_open=True, doc="linear above beta*z > threshold"),
    )

    def __init__(self, beta: float = 1.0, threshold: float = 20.0) -> None:
        self.beta = beta
        self.threshold = threshold

    def forward(self, z: Array) -> Array:
        bz = self.beta * z
        return np.where(bz > self.threshold, z, np.logaddexp(0.0, bz) / self.beta)

    def derivative(self, z: Array, a: Array) -> Array:
        bz = self.beta * z
        return np.where(bz > self.threshold, 1.0, expit(bz))

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * self.derivative(z, a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        # d/dz sigmoid(beta z) = beta s (1 - s); 0 on the linear part above the threshold
        bz = self.beta * z
        s = expit(bz)
        return np.where(bz > self.threshold, 0.0, self.beta * s * (1.0 - s))


@ACTIVATIONS.register
class GELU(Activation):
    """Gaussian error linear unit: a = z Phi(z), Phi(z) = (1 + erf(z / sqrt 2)) / 2.

    f'(z) = Phi(z) + z phi(z), phi(z) = exp(-z^2 / 2) / sqrt(2 pi).
    ``approximate="tanh"`` (torch): a = z (1 + t) / 2 with t = tanh(u),
    u = sqrt(2/pi) (z + 0.044715 z^3), and
    f'(z) = (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2) / 2.
    """

    name = "gelu"
    params = (
        Param(
            "approximate",
            "none",
            kind="choice",
            choices=("none", "tanh"),
            doc="exact erf form or torch's tanh approximation",
        ),
    )

    def __init__(self, approximate: str = "none") -> None:
        self.approximate = approximate
        self._tanh = approximate == "tanh"

    def _tanh_u(self, zc: Array) -> Array:
        """t = tanh(sqrt(2/pi) (z + c z^3)) on the clipped z."""
        return np.tanh(zc * (_SQRT_2_OVER_PI + (_SQRT_2_OVER_PI * _GELU_C) * (zc * zc)))

    def forward(self, z: Array) -> Array:
        if self._tanh:
            zc = np.minimum(np.maximum(z, -_GELU_CLIP), _GELU_CLIP)
            return 0.5 * z * (1.0 + self._tanh_u(zc))
        return 0.5 * z * (1.0 + erf(z * _SQRT1_2))

    def derivative(self, z: Array, a: Array) -> Array:
        zc = np.minimum(np.maximum(z, -_GELU_CLIP), _GELU_CLIP)
        zz = zc * zc
        if self._tanh:
            t = self._tanh_u(zc)
            du = _SQRT_2_OVER_PI + (3.0 * _SQRT_2_OVER_PI * _GELU_C) * zz
            return 0.5 * (1.0 + t) + 0.5 * zc * (1.0 - t * t) * du
        # z phi(z) is exactly 0 beyond the clip, so the clipped zc is used there too.
        return 0.5 * (1.0 + erf(z * _SQRT1_2)) + zc * (_INV_SQRT_2PI * np.exp(-0.5 * zz))

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        return grad_a * self.derivative(z, a)

    def second_derivative(self, z: Array, a: Array) -> Array:
        zc = np.minimum(np.maximum(z, -_GELU_CLIP), _GELU_CLIP)
        zz = zc * zc
        if self._tanh:
            # f' = (1 + t)/2 + z (1 - t²) u'/2  =>  f'' = (1 - t²) (u' + z (u'' - 2 t u'²) / 2)
            t = self._tanh_u(zc)
            du = _SQRT_2_OVER_PI + (3.0 * _SQRT_2_OVER_PI * _GELU_C) * zz
            ddu = (6.0 * _SQRT_2_OVER_PI * _GELU_C) * zc
            return (1.0 - t * t) * (du + 0.5 * zc * (ddu - 2.0 * t * du * du))
        # d/dz (Phi + z phi) = 2 phi + z phi' = phi (2 - z²)
        return (_INV_SQRT_2PI * np.exp(-0.5 * zz)) * (2.0 - zz)


@ACTIVATIONS.register
class SiLU(Activation):
    """Sigmoid linear unit (swish): a = z sigmoid(z).

    f'(z) = s (1 + z (1 - s)) with s = sigmoid(z). (The equal form s (1 - a) + a cancels to 0
    for z > 1e16, so z is used rather than a.)
    """

    name = "silu"

    def forward(self, z: Array) -> Array:
        return z * expit(z)

    def derivative(self, z: Array, a: Array) -> Array:
        s = expit(z)
        return s * (1.0 + z * (1.0 - s))

    def backward(self, z: Array, a: Array, grad_a: Array) -> Array:
        s = expit(z)
        return grad_a * s * (1.0 + z * (1.0 - s))

    def second_derivative(self, z: Array, a: Array) -> Array:
        # d/dz s (1 + z (1 - s)) = s (1 - s) (2 + z (1 - 2s))
        s = expit(z)
        return s * (1.0 - s) * (2.0 + z * (1.0 - 2.0 * s))
