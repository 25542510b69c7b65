"""Weight initializers for one dense layer, following ``torch.nn.init``.

``init(fan_in, fan_out, rng) -> (W, b)`` with W of shape ``(fan_in, fan_out)`` (the layer computes
z = x W + b, so torch's ``(out, in)`` weight is our transpose; fan_in is still the number of
inputs) and b of shape ``(fan_out,)``, both float64. Biases are zero unless stated.

Every random number comes from the ``np.random.Generator`` passed in (W drawn before b), so a
seeded generator reproduces the same network exactly.

=================  ==================================================  ========================
name               W                                                   b
=================  ==================================================  ========================
zeros              0                                                   0
uniform            U(-0.5, 0.5)  (TensorFlow Playground)               0.1
normal             N(0, std^2), std = 0.1                              0
xavier_uniform     U(-a, a), a = gain sqrt(6 / (fan_in + fan_out))     0
xavier_normal      N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out))    0
he_uniform         U(-a, a), a = sqrt(2) sqrt(3 / fan_in)              0
he_normal          N(0, s^2), s = sqrt(2) / sqrt(fan_in)               0
torch_default      U(-1/sqrt(fan_in), 1/sqrt(fan_in))                  U(-1/sqrt(fan_in), same)
=================  ==================================================  ========================

he_* is torch's kaiming_*_ with mode="fan_in", nonlinearity="relu" (gain sqrt 2). torch_default is
``nn.Linear.reset_parameters``: kaiming_uniform_ with a = sqrt(5), whose gain sqrt(2 / (1 + 5))
makes the bound gain sqrt(3 / fan_in) = 1 / sqrt(fan_in); the bias uses the same bound.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from engine.registry import Param, Registry

Array = NDArray[np.float64]
Pair = tuple[Array, Array]


class Initializer:
    """Base class: ``init(fan_in, fan_out, rng) -> (W (fan_in, fan_out), b (fan_out,))``."""

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def __call__(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        for label, fan in (("fan_in", fan_in), ("fan_out", fan_out)):
            if isinstance(fan, bool) or not isinstance(fan, (int, np.integer)) or fan < 1:
                raise ValueError(
                    f"initializer {self.name}: invalid {label} {fan!r}: must be an integer >= 1"
                )
        return self._draw(int(fan_in), int(fan_out), rng)

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        raise NotImplementedError


def _uniform(rng: np.random.Generator, bound: float, shape: tuple[int, ...]) -> Array:
    return rng.uniform(-bound, bound, size=shape)


def _normal(rng: np.random.Generator, std: float, shape: tuple[int, ...]) -> Array:
    return rng.normal(0.0, std, size=shape)


INITIALIZERS: Registry[Initializer] = Registry("initializer")


@INITIALIZERS.register
class Zeros(Initializer):
    """All weights and biases 0: every unit in a layer stays identical (the symmetry problem)."""

    name = "zeros"

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        return np.zeros((fan_in, fan_out)), np.zeros(fan_out)


@INITIALIZERS.register
class Uniform(Initializer):
    """TensorFlow Playground's: W ~ U(-0.5, 0.5), b = 0.1."""

    name = "uniform"

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        return _uniform(rng, 0.5, (fan_in, fan_out)), np.full(fan_out, 0.1)


@INITIALIZERS.register
class Normal(Initializer):
    """W ~ N(0, std^2) (torch normal_ with mean 0), b = 0."""

    name = "normal"
    params = (Param("std", 0.1, low=0.0, low_open=True, doc="standard deviation of W"),)

    def __init__(self, std: float = 0.1) -> None:
        self.std = std

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        return _normal(rng, self.std, (fan_in, fan_out)), np.zeros(fan_out)


_GAIN = Param("gain", 1.0, low=0.0, low_open=True, doc="scaling factor (torch calculate_gain)")


@INITIALIZERS.register
class XavierUniform(Initializer):
    """Glorot uniform: W ~ U(-a, a), a = gain sqrt(6 / (fan_in + fan_out)), b = 0."""

    name = "xavier_uniform"
    params = (_GAIN,)

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        bound = self.gain * math.sqrt(6.0 / (fan_in + fan_out))
        return _uniform(rng, bound, (fan_in, fan_out)), np.zeros(fan_out)


@INITIALIZERS.register
class XavierNormal(Initializer):
    """Glorot normal: W ~ N(0, s^2), s = gain sqrt(2 / (fan_in + fan_out)), b = 0."""

    name = "xavier_normal"
    params = (_GAIN,)

    def __init__(self, gain: float = 1.0) -> None:
        self.gain = gain

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        std = self.gain * math.sqrt(2.0 / (fan_in + fan_out))
        return _normal(rng, std, (fan_in, fan_out)), np.zeros(fan_out)


@INITIALIZERS.register
class HeUniform(Initializer):
    """Kaiming uniform (fan_in, relu): W ~ U(-a, a), a = sqrt(2) sqrt(3 / fan_in), b = 0."""

    name = "he_uniform"

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        bound = math.sqrt(2.0) * math.sqrt(3.0 / fan_in)
        return _uniform(rng, bound, (fan_in, fan_out)), np.zeros(fan_out)


@INITIALIZERS.register
class HeNormal(Initializer):
    """Kaiming normal (fan_in, relu): W ~ N(0, s^2), s = sqrt(2) / sqrt(fan_in), b = 0."""

    name = "he_normal"

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        std = math.sqrt(2.0) / math.sqrt(fan_in)
        return _normal(rng, std, (fan_in, fan_out)), np.zeros(fan_out)


@INITIALIZERS.register
class TorchDefault(Initializer):
    """torch nn.Linear's default: W and b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), W drawn first."""

    name = "torch_default"

    def _draw(self, fan_in: int, fan_out: int, rng: np.random.Generator) -> Pair:
        bound = 1.0 / math.sqrt(fan_in)
        return _uniform(rng, bound, (fan_in, fan_out)), _uniform(rng, bound, (fan_out,))
