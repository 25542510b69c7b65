"""Initializers: shapes, determinism, and empirical spread against torch.nn.init's formulas."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.initializers import INITIALIZERS, Initializer

NAMES = [
    "zeros",
    "uniform",
    "normal",
    "xavier_uniform",
    "xavier_normal",
    "he_uniform",
    "he_normal",
    "torch_default",
]
FAN_IN, FAN_OUT = 300, 500  # 150,000 weights: sample std within ~0.2 % of the truth


def make(name: str, params: dict[str, Any] | None = None) -> Initializer:
    return INITIALIZERS.create(name, params)


def draw(name: str, params: dict[str, Any] | None = None, seed: int = 0) -> tuple[Any, Any]:
    return make(name, params)(FAN_IN, FAN_OUT, np.random.default_rng(seed))


def test_registry_names() -> None:
    assert INITIALIZERS.names() == NAMES


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize(("fan_in", "fan_out"), [(1, 1), (2, 8), (8, 1), (64, 10)])
def test_shapes_and_dtype(name: str, fan_in: int, fan_out: int) -> None:
    w, b = make(name)(fan_in, fan_out, np.random.default_rng(1))
    assert w.shape == (fan_in, fan_out) and b.shape == (fan_out,)
    assert w.dtype == np.float64 and b.dtype == np.float64
    assert np.isfinite(w).all() and np.isfinite(b).all()


@pytest.mark.parametrize("name", NAMES)
def test_deterministic_for_a_seed_and_only_uses_the_given_rng(name: str) -> None:
    # The legacy global generator must stay untouched: all randomness comes from `rng`.
    global_state = np.random.get_state()  # noqa: NPY002
    w1, b1 = make(name)(4, 3, np.random.default_rng(42))
    w2, b2 = make(name)(4, 3, np.random.default_rng(42))
    np.testing.assert_array_equal(w1, w2)
    np.testing.assert_array_equal(b1, b2)
    if name != "zeros":
        w3, _ = make(name)(4, 3, np.random.default_rng(43))
        assert not np.array_equal(w1, w3)
    after = np.random.get_state()  # noqa: NPY002
    assert global_state[0] == after[0] and np.array_equal(global_state[1], after[1])


def test_consecutive_layers_differ() -> None:
    rng = np.random.default_rng(0)
    init = make("xavier_uniform")
    w1, _ = init(3, 3, rng)
    w2, _ = init(3, 3, rng)
    assert not np.array_equal(w1, w2)


def check_uniform(w: np.ndarray, bound: float) -> None:
    """U(-bound, bound): inside the bound, reaching it, std bound/sqrt(3), mean 0."""
    assert np.abs(w).max() <= bound
    assert np.abs(w).max() >= 0.99 * bound
    assert w.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.01)
    assert abs(w.mean()) < 0.01 * bound


def check_normal(w: np.ndarray, std: float) -> None:
    """N(0, std^2): std, mean 0, and 68.27 % within one std (a uniform would give 57.7 %)."""
    assert w.std() == pytest.approx(std, rel=0.01)
    assert abs(w.mean()) < 0.01 * std
    assert np.mean(np.abs(w) < std) == pytest.approx(math.erf(1 / math.sqrt(2)), abs=0.01)


def test_zeros() -> None:
    w, b = draw("zeros")
    assert not w.any() and not b.any()


def test_uniform_is_tensorflow_playground() -> None:
    w, b = draw("uniform")
    check_uniform(w, 0.5)
    np.testing.assert_array_equal(b, np.full(FAN_OUT, 0.1))


@pytest.mark.parametrize("std", [0.1, 0.5])
def test_normal(std: float) -> None:
    w, b = draw("normal", {"std": std})
    check_normal(w, std)
    assert not b.any()


@pytest.mark.parametrize("gain", [1.0, 2.0])
def test_xavier_uniform(gain: float) -> None:
    w, b = draw("xavier_uniform", {"gain": gain})
    check_uniform(w, gain * math.sqrt(6.0 / (FAN_IN + FAN_OUT)))
    assert not b.any()


@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_xavier_normal(gain: float) -> None:
    w, b = draw("xavier_normal", {"gain": gain})
    check_normal(w, gain * math.sqrt(2.0 / (FAN_IN + FAN_OUT)))
    assert not b.any()


def test_he_uniform() -> None:
    w, b = draw("he_uniform")
    check_uniform(w, math.sqrt(6.0 / FAN_IN))  # sqrt(2) * sqrt(3 / fan_in)
    assert not b.any()


def test_he_normal() -> None:
    w, b = draw("he_normal")
    check_normal(w, math.sqrt(2.0 / FAN_IN))
    assert not b.any()


def test_he_uses_fan_in_not_fan_out() -> None:
    w, _ = make("he_normal")(50, 2000, np.random.default_rng(0))
    assert w.std() == pytest.approx(math.sqrt(2.0 / 50), rel=0.01)


def test_torch_default_weights_and_bias() -> None:
    w, b = draw("torch_default")
    bound = 1.0 / math.sqrt(FAN_IN)
    check_uniform(w, bound)
    assert np.abs(b).max() <= bound
    assert b.std() == pytest.approx(bound / math.sqrt(3.0), rel=0.1)
    assert len(np.unique(b)) == FAN_OUT


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("normal", {"std": -1.0}, "-1.0"),
        ("normal", {"std": 0}, "std"),
        ("xavier_uniform", {"gain": -2}, "-2"),
        ("xavier_normal", {"gain": "big"}, "big"),
        ("he_normal", {"gain": 2.0}, "gain"),
        ("zeros", {"value": 1.0}, "value"),
    ],
)
def test_invalid_params_are_named(name: str, params: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        make(name, params)


def test_unknown_initializer_is_named() -> None:
    with pytest.raises(ValueError, match="glorot"):
        make("glorot")


@pytest.mark.parametrize(
    ("fan_in", "fan_out", "bad"),
    [(0, 3, "fan_in 0"), (3, -1, "fan_out -1"), (2.5, 3, "fan_in 2.5"), (True, 3, "fan_in True")],
)
def test_invalid_fans_are_named(fan_in: Any, fan_out: Any, bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        make("xavier_uniform")(fan_in, fan_out, np.random.default_rng(0))
