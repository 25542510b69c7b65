"""Activations against scalar reference formulas (math module) and central differences."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.activations import (
    ACTIVATIONS,
    HIDDEN_ACTIVATIONS,
    OUTPUT_ACTIVATIONS,
    Activation,
    get_activation,
)

# Every elementwise activation, with its defaults and with non-default parameters.
CONFIGS: list[tuple[str, dict[str, Any]]] = [
    ("linear", {}),
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.3}),
    ("leaky_relu", {"negative_slope": 0.0}),
    ("elu", {}),
    ("elu", {"alpha": 2.5}),
    ("softplus", {}),
    ("softplus", {"beta": 3.0, "threshold": 5.0}),
    ("gelu", {}),
    ("gelu", {"approximate": "tanh"}),
    ("silu", {}),
    ("prelu", {}),
    ("prelu", {"init": -0.6}),
    ("thresholded_relu", {}),
    ("thresholded_relu", {"theta": 0.4}),
]
IDS = [f"{n}-{p}" if p else n for n, p in CONFIGS]
H = 1e-5  # central-difference step
RTOL = 1e-6


def reference(name: str, p: dict[str, Any], x: float) -> float:
    """torch.nn's definitions, one scalar at a time with the math module (moderate x only)."""
    if name == "linear":
        return x
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-x))
    if name == "tanh":
        return math.tanh(x)
    if name == "relu":
        return max(0.0, x)
    if name == "leaky_relu":
        return x if x > 0 else p.get("negative_slope", 0.01) * x
    if name == "elu":
        return x if x > 0 else p.get("alpha", 1.0) * (math.exp(x) - 1.0)
    if name == "softplus":
        beta, threshold = p.get("beta", 1.0), p.get("threshold", 20.0)
        return x if beta * x > threshold else math.log(1.0 + math.exp(beta * x)) / beta
    if name == "gelu" and p.get("approximate", "none") == "tanh":
        inner = math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)
        return 0.5 * x * (1.0 + math.tanh(inner))
    if name == "gelu":
        return 0.5 * x * (1.0 + math.erf(x / math.sqrt(2.0)))
    if name == "silu":
        return x / (1.0 + math.exp(-x))
    if name == "prelu":
        return x if x > 0 else p.get("init", 0.25) * x
    if name == "thresholded_relu":
        return x if x > p.get("theta", 1.0) else 0.0
    raise AssertionError(name)


def kinks(name: str, p: dict[str, Any]) -> list[float]:
    if name in ("relu", "leaky_relu", "elu", "prelu"):
        return [0.0]
    if name == "thresholded_relu":
        return [p.get("theta", 1.0)]
    if name == "softplus":
        return [p.get("threshold", 20.0) / p.get("beta", 1.0)]
    return []


def sample(rng: np.random.Generator, shape: tuple[int, ...], avoid: list[float]) -> np.ndarray:
    """Points in [-4, 4] at least 0.05 away from every kink."""
    z = rng.uniform(-4.0, 4.0, size=shape)
    for k in avoid:
        near = np.abs(z - k) < 0.05
        z[near] += 0.1
    return z


def central_diff(f: Any, z: np.ndarray) -> np.ndarray:
    return (f(z + H) - f(z - H)) / (2.0 * H)


def rel_err(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)


def test_configs_cover_every_hidden_activation() -> None:
    assert {n for n, _ in CONFIGS} == set(HIDDEN_ACTIVATIONS)
    assert set(HIDDEN_ACTIVATIONS) == set(ACTIVATIONS.names()) - {"softmax"}
    assert OUTPUT_ACTIVATIONS == ("linear", "sigmoid", "softmax", "tanh")
    assert all(n in ACTIVATIONS.names() for n in OUTPUT_ACTIVATIONS)


def test_torch_defaults() -> None:
    assert get_activation("leaky_relu").negative_slope == 0.01  # type: ignore[attr-defined]
    assert get_activation("elu").alpha == 1.0  # type: ignore[attr-defined]
    sp = get_activation("softplus")
    assert (sp.beta, sp.threshold) == (1.0, 20.0)  # type: ignore[attr-defined]
    assert get_activation("gelu").approximate == "none"  # type: ignore[attr-defined]
    assert not get_activation("softmax").elementwise
    assert all(get_activation(n).elementwise for n in HIDDEN_ACTIVATIONS)


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=IDS)
def test_forward_matches_reference(name: str, params: dict[str, Any]) -> None:
    act = get_activation(name, params)
    z = np.linspace(-6.0, 6.0, 61).reshape(61, 1) * np.array([1.0, 0.37])  # (61, 2)
    z_before = z.copy()
    a = act.forward(z)
    assert a.shape == z.shape and a.dtype == np.float64
    np.testing.assert_array_equal(z, z_before)  # input untouched
    expected = np.vectorize(lambda x: reference(name, params, x))(z)
    np.testing.assert_allclose(a, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=IDS)
def test_derivative_and_backward_by_central_differences(name: str, params: dict[str, Any]) -> None:
    act = get_activation(name, params)
    rng = np.random.default_rng(7)
    z = sample(rng, (10, 8), kinks(name, params))
    a = act.forward(z)
    numeric = central_diff(act.forward, z)
    assert rel_err(act.derivative(z, a), numeric).max() <= RTOL
    grad_a = rng.normal(size=z.shape)
    assert rel_err(act.backward(z, a, grad_a), grad_a * numeric).max() <= RTOL


def test_derivatives_at_kinks_follow_torch() -> None:
    z = np.array([[0.0]])
    relu = get_activation("relu")
    assert relu.derivative(z, relu.forward(z))[0, 0] == 0.0
    assert relu.backward(z, relu.forward(z), np.ones_like(z))[0, 0] == 0.0
    leaky = get_activation("leaky_relu", {"negative_slope": 0.3})
    assert leaky.derivative(z, leaky.forward(z))[0, 0] == 0.3
    elu = get_activation("elu", {"alpha": 2.5})
    assert elu.derivative(z, elu.forward(z))[0, 0] == 2.5
    prelu = get_activation("prelu", {"init": 0.7})
    assert prelu.derivative(z, prelu.forward(z))[0, 0] == 0.7
    # torch.nn.Threshold passes z only strictly above θ: at θ itself, value and slope are 0
    thr = get_activation("thresholded_relu", {"theta": 0.5})
    at_theta = np.array([[0.5, 0.5 + 1e-12]])
    np.testing.assert_array_equal(thr.forward(at_theta), [[0.0, 0.5 + 1e-12]])
    np.testing.assert_array_equal(thr.derivative(at_theta, thr.forward(at_theta)), [[0.0, 1.0]])
    # softplus switches to the identity strictly above beta*z > threshold: value z, slope exactly 1
    sp = get_activation("softplus", {"beta": 2.0, "threshold": 10.0})
    above = np.array([[5.0 + 1e-9, 7.0]])
    np.testing.assert_array_equal(sp.forward(above), above)
    np.testing.assert_array_equal(sp.derivative(above, sp.forward(above)), [[1.0, 1.0]])
    at = np.array([[5.0]])
    assert sp.forward(at)[0, 0] == pytest.approx(math.log1p(math.exp(10.0)) / 2.0, rel=1e-15)
    assert sp.derivative(at, sp.forward(at))[0, 0] == pytest.approx(1 / (1 + math.exp(-10.0)))


def limits(name: str, p: dict[str, Any], z: float) -> tuple[float, float]:
    """(f(z), f'(z)) for huge |z|, from each function's asymptotes."""
    if name == "linear":
        return z, 1.0
    if name in ("sigmoid", "tanh"):
        low = 0.0 if name == "sigmoid" else -1.0
        return (1.0 if z > 0 else low), 0.0
    if z > 0:
        return z, 1.0
    if name == "leaky_relu":
        s = p.get("negative_slope", 0.01)
        return s * z, s
    if name == "elu":
        return -p.get("alpha", 1.0), 0.0
    if name == "prelu":
        a = p.get("init", 0.25)
        return a * z, a
    return 0.0, 0.0  # relu, softplus, gelu, silu


HUGE = [-1e300, -1e4, 1e4, 1e300]


@pytest.mark.parametrize(("name", "params"), CONFIGS, ids=IDS)
def test_stable_at_huge_inputs(name: str, params: dict[str, Any]) -> None:
    act = get_activation(name, params)
    z = np.array([HUGE, HUGE[::-1]]).T  # (4, 2)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = act.forward(z)
        d = act.derivative(z, a)
        g = act.backward(z, a, np.ones_like(z))
    for arr in (a, d, g):
        assert np.isfinite(arr).all()
    expected = np.array([[limits(name, params, x) for x in row] for row in z])
    np.testing.assert_allclose(a, expected[..., 0], rtol=1e-12, atol=0)
    np.testing.assert_allclose(d, expected[..., 1], rtol=1e-12, atol=0)
    np.testing.assert_array_equal(g, d)


def test_linear_does_not_alias_its_input() -> None:
    z = np.array([[1.0, -2.0]])
    a = get_activation("linear").forward(z)
    a[0, 0] = 5.0
    assert z[0, 0] == 1.0


# ---- softmax ----


def numeric_jacobian(act: Activation, z: np.ndarray) -> np.ndarray:
    """J[n, k, j] = d a[n, k] / d z[n, j]; rows are independent, so a whole column moves at once."""
    n, k = z.shape
    jac = np.empty((n, k, k))
    for j in range(k):
        step = np.zeros_like(z)
        step[:, j] = H
        jac[:, :, j] = (act.forward(z + step) - act.forward(z - step)) / (2.0 * H)
    return jac


def test_softmax_values() -> None:
    sm = get_activation("softmax")
    z = np.log(np.array([[1.0, 2.0, 3.0], [4.0, 4.0, 8.0]]))
    np.testing.assert_allclose(
        sm.forward(z), [[1 / 6, 2 / 6, 3 / 6], [0.25, 0.25, 0.5]], rtol=1e-14
    )
    np.testing.assert_allclose(sm.forward(z + 100.0), sm.forward(z), rtol=1e-12)


def test_softmax_jacobian_by_central_differences() -> None:
    sm = get_activation("softmax")
    rng = np.random.default_rng(3)
    z = rng.normal(scale=2.0, size=(10, 4))
    a = sm.forward(z)
    jac = numeric_jacobian(sm, z)
    diag = np.einsum("nkk->nk", jac)
    assert rel_err(sm.derivative(z, a), diag).max() <= RTOL
    grad_a = rng.normal(size=z.shape)
    vjp = np.einsum("nk,nkj->nj", grad_a, jac)  # full Jacobian, not just its diagonal
    assert rel_err(sm.backward(z, a, grad_a), vjp).max() <= RTOL
    assert not np.allclose(sm.backward(z, a, grad_a), grad_a * diag)


def test_softmax_stable_at_huge_logits() -> None:
    sm = get_activation("softmax")
    z = np.array([[1e4, -1e4, 0.0], [-1e300, 1e300, 0.0], [1e4, 1e4, -1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        a = sm.forward(z)
        g = sm.backward(z, a, np.ones_like(z))
        d = sm.derivative(z, a)
    np.testing.assert_array_equal(a, [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.5, 0.5, 0.0]])
    assert np.isfinite(g).all() and np.isfinite(d).all()
    np.testing.assert_allclose(g, 0.0, atol=1e-15)  # softmax is invariant to adding a constant


# ---- registry and validation ----


def test_unknown_activation_is_named() -> None:
    with pytest.raises(ValueError, match="swish2"):
        get_activation("swish2")


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("leaky_relu", {"negative_slope": 1.5}, "1.5"),
        ("leaky_relu", {"negative_slope": -0.1}, "-0.1"),
        ("leaky_relu", {"negative_slope": 1.0}, "negative_slope"),
        ("elu", {"alpha": 0.0}, "alpha"),
        ("elu", {"alpha": "big"}, "big"),
        ("softplus", {"beta": -2.0}, "-2.0"),
        ("softplus", {"beta": 1e3}, "1000.0"),
        ("softplus", {"threshold": 0}, "threshold"),
        ("gelu", {"approximate": "fast"}, "fast"),
        ("relu", {"slope": 0.1}, "slope"),
        ("tanh", {"alpha": 1.0}, "alpha"),
    ],
)
def test_invalid_params_are_named(name: str, params: dict[str, Any], bad: str) -> None:
    with pytest.raises(ValueError, match=bad):
        get_activation(name, params)


def test_catalog_lists_params() -> None:
    entries = {e["name"]: e for e in ACTIVATIONS.catalog()}
    assert set(entries) == set(ACTIVATIONS.names())
    assert [p["name"] for p in entries["softplus"]["params"]] == ["beta", "threshold"]
    assert entries["gelu"]["params"][0]["choices"] == ["none", "tanh"]
