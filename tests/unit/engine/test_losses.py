"""Losses against hand-worked values, central differences and their own batch form."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from engine.losses import LOSSES, Loss

H = 1e-5
RTOL = 1e-6


def loss(name: str, params: dict[str, Any] | None = None) -> Loss:
    return LOSSES.create(name, params)


def rel_err(a: np.ndarray, b: np.ndarray) -> float:
    denom = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
    return float((np.abs(a - b) / denom).max())


def numeric_grad(fn: Loss, out: np.ndarray, y: np.ndarray) -> np.ndarray:
    grad = np.empty_like(out)
    for idx in np.ndindex(out.shape):
        plus, minus = out.copy(), out.copy()
        plus[idx] += H
        minus[idx] -= H
        grad[idx] = (fn.value(plus, y) - fn.value(minus, y)) / (2.0 * H)
    return grad


# out - y = [[0.5, -1.5], [3.0, 0.0]]
OUT = np.array([[1.5, 0.5], [4.0, 2.0]])
Y = np.array([[1.0, 2.0], [1.0, 2.0]])


def test_registry_and_metadata() -> None:
    assert LOSSES.names() == ["mse", "rmse", "mae", "huber", "bce", "ce"]
    meta = {
        n: (c.on_logits, c.requires_output, c.task)
        for n in LOSSES.names()
        for c in [LOSSES.lookup(n)]
    }
    assert meta == {
        "mse": (False, None, "regression"),
        "rmse": (False, None, "regression"),
        "mae": (False, None, "regression"),
        "huber": (False, None, "regression"),
        "bce": (True, "sigmoid", "binary"),
        "ce": (True, "softmax", "multiclass"),
    }
    assert LOSSES.defaults("huber") == {"delta": 1.0}


def test_mse_by_hand() -> None:
    fn = loss("mse")
    assert fn.value(OUT, Y) == pytest.approx((0.25 + 2.25 + 9.0 + 0.0) / 4, rel=1e-15)
    np.testing.assert_allclose(fn.grad(OUT, Y), [[0.25, -0.75], [1.5, 0.0]], rtol=1e-15)


def test_rmse_by_hand_and_zero_gradient_at_zero() -> None:
    fn = loss("rmse")
    rmse = math.sqrt((0.25 + 2.25 + 9.0 + 0.0) / 4)
    assert fn.value(OUT, Y) == pytest.approx(rmse, rel=1e-15)
    np.testing.assert_allclose(fn.grad(OUT, Y), (OUT - Y) / (4 * rmse), rtol=1e-15)
    assert fn.value(Y, Y) == 0.0
    np.testing.assert_array_equal(fn.grad(Y, Y), np.zeros_like(Y))  # defined as 0 there


def test_mae_by_hand_and_zero_gradient_at_zero() -> None:
    fn = loss("mae")
    assert fn.value(OUT, Y) == pytest.approx((0.5 + 1.5 + 3.0 + 0.0) / 4, rel=1e-15)
    np.testing.assert_array_equal(fn.grad(OUT, Y), [[0.25, -0.25], [0.25, 0.0]])


@pytest.mark.parametrize(
    ("delta", "expected", "grad"),
    [
        # |d| = 0.5, 1.5, 3, 0: quadratic d^2/2 below delta, delta (|d| - delta/2) above
        (1.0, (0.125 + 1.0 + 2.5 + 0.0) / 4, [[0.5, -1.0], [1.0, 0.0]]),
        (2.0, (0.125 + 1.125 + 4.0 + 0.0) / 4, [[0.5, -1.5], [2.0, 0.0]]),
    ],
)
def test_huber_by_hand(delta: float, expected: float, grad: list[list[float]]) -> None:
    fn = loss("huber", {"delta": delta})
    assert fn.value(OUT, Y) == pytest.approx(expected, rel=1e-15)
    np.testing.assert_allclose(fn.grad(OUT, Y), np.array(grad) / 4, rtol=1e-15)


def test_huber_gradient_at_the_threshold_is_delta() -> None:
    fn = loss("huber", {"delta": 0.5})
    g = fn.grad(np.array([[0.5, -0.5]]), np.zeros((1, 2)))
    np.testing.assert_array_equal(g, [[0.25, -0.25]])


def test_bce_by_hand() -> None:
    logits = np.array([[0.0], [2.0], [-1.0]])
    y = np.array([[1.0], [0.0], [1.0]])

    def textbook(z: float, t: float) -> float:
        p = 1.0 / (1.0 + math.exp(-z))
        return -(t * math.log(p) + (1.0 - t) * math.log(1.0 - p))

    fn = loss("bce")
    expected = sum(textbook(z, t) for z, t in zip(logits[:, 0], y[:, 0], strict=True)) / 3
    assert fn.value(logits, y) == pytest.approx(expected, rel=1e-14)
    assert expected == pytest.approx((math.log(2) + math.log1p(math.e**2) + math.log1p(math.e)) / 3)
    sig = 1.0 / (1.0 + np.exp(-logits))
    np.testing.assert_allclose(fn.grad(logits, y), (sig - y) / 3, rtol=1e-14)


def test_ce_by_hand() -> None:
    logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    labels = np.array([2, 0], dtype=np.int64)
    fn = loss("ce")
    e = math.e
    expected = (-math.log(e**3 / (e + e**2 + e**3)) - math.log(1 / 3)) / 2
    assert fn.value(logits, labels) == pytest.approx(expected, rel=1e-14)
    p0 = np.array([e, e**2, e**3]) / (e + e**2 + e**3)
    expected_grad = np.array([p0 - [0, 0, 1], [1 / 3 - 1, 1 / 3, 1 / 3]]) / 2
    np.testing.assert_allclose(fn.grad(logits, labels), expected_grad, rtol=1e-14, atol=1e-16)


def make_case(name: str, rng: np.random.Generator, n: int = 6, k: int = 3) -> tuple[Any, Any]:
    """Random (out, y) for a loss, kept away from the kinks of mae and huber."""
    if name == "bce":
        return rng.normal(scale=2.0, size=(n, 1)), rng.integers(0, 2, size=(n, 1)).astype(float)
    if name == "ce":
        return rng.normal(scale=2.0, size=(n, k)), rng.integers(0, k, size=n)
    y = rng.normal(size=(n, k))
    d = rng.uniform(0.1, 2.0, size=(n, k)) * rng.choice([-1.0, 1.0], size=(n, k))
    d[np.abs(np.abs(d) - 1.0) < 0.05] += 0.1  # huber's threshold at delta = 1
    return y + d, y


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "huber", "bce", "ce"])
def test_grad_by_central_differences(name: str) -> None:
    fn = loss(name)
    out, y = make_case(name, np.random.default_rng(11))
    g = fn.grad(out, y)
    assert g.shape == out.shape
    assert rel_err(g, numeric_grad(fn, out, y)) <= RTOL


def test_huber_grad_with_other_delta() -> None:
    fn = loss("huber", {"delta": 0.3})
    rng = np.random.default_rng(5)
    y = rng.normal(size=(5, 2))
    d = rng.uniform(0.0, 1.0, size=(5, 2))
    d[np.abs(d - 0.3) < 0.05] += 0.1
    out = y + d * rng.choice([-1.0, 1.0], size=(5, 2))
    assert rel_err(fn.grad(out, y), numeric_grad(fn, out, y)) <= RTOL


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "huber", "bce", "ce"])
def test_grad_does_not_modify_inputs(name: str) -> None:
    fn = loss(name)
    out, y = make_case(name, np.random.default_rng(2))
    out0, y0 = out.copy(), y.copy()
    fn.value(out, y)
    fn.grad(out, y)
    fn.batch_values(out, y)
    np.testing.assert_array_equal(out, out0)
    np.testing.assert_array_equal(y, y0)


@pytest.mark.parametrize("name", ["mse", "rmse", "mae", "huber", "bce", "ce"])
def test_batch_values_agree_with_value(name: str) -> None:
    fn = loss(name)
    rng = np.random.default_rng(4)
    base, y = make_case(name, rng)
    out = base + rng.normal(size=(3, 4, *base.shape))  # (3, 4, N, K)
    values = fn.batch_values(out, y)
    assert values.shape == (3, 4)
    expected = np.array([[fn.value(out[i, j], y) for j in range(4)] for i in range(3)])
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert float(fn.batch_values(base, y)) == pytest.approx(fn.value(base, y), rel=1e-12)
    one_axis = fn.batch_values(out[0], y)  # (4, N, K) -> (4,)
    np.testing.assert_allclose(one_axis, expected[0], rtol=1e-12)


def test_logit_losses_finite_at_huge_logits() -> None:
    bce = loss("bce")
    z = np.array([[1e4], [-1e4], [1e4], [-1e4], [1e300], [-1e300]])
    y = np.array([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = bce.value(z, y)
        grad = bce.grad(z, y)
        batch = bce.batch_values(np.stack([z, -z]), y)
    assert value == pytest.approx(2e4 / 6, rel=1e-15)  # only the two wrong 1e4 logits cost 1e4
    np.testing.assert_array_equal(grad, np.array([[0], [0], [1], [-1], [0], [0]]) / 6)
    assert np.isfinite(batch[0]) and batch[0] == pytest.approx(value)
    assert batch[1] > 1e299  # every logit wrong: huge but finite

    ce = loss("ce")
    z = np.array([[1e4, -1e4, 0.0], [1e4, -1e4, 0.0], [-1e300, 1e300, 0.0]])
    labels = np.array([0, 1, 1])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        value = ce.value(z, labels)
        grad = ce.grad(z, labels)
        batch = ce.batch_values(np.stack([z, -z]), labels)
    assert value == pytest.approx(2e4 / 3, rel=1e-15)
    np.testing.assert_array_equal(grad, np.array([[0, 0, 0], [1, -1, 0], [0, 0, 0]]) / 3)
    assert np.isfinite(batch).all() and batch[0] == pytest.approx(value)


def test_unknown_loss_and_bad_params_are_named() -> None:
    with pytest.raises(ValueError, match="hinge"):
        loss("hinge")
    with pytest.raises(ValueError, match="-0.5"):
        loss("huber", {"delta": -0.5})
    with pytest.raises(ValueError, match="delta"):
        loss("huber", {"delta": 0})
    with pytest.raises(ValueError, match="reduction"):
        loss("mse", {"reduction": "sum"})
