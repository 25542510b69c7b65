"""Batch norm and dropout against hand computations (torch.nn.BatchNorm1d / Dropout semantics)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from engine.activations import get_activation
from engine.layers import BatchNorm, Layer
from engine.optim import OPTIMIZERS
from engine.trainer import Trainer
from tests.conftest import small_config


def test_batchnorm_train_mode_normalises_and_updates_running_stats_like_torch() -> None:
    u = np.array([[1.0, 10.0], [3.0, 10.0], [5.0, 16.0]])
    bn = BatchNorm(2)
    bn.gamma[...] = [2.0, 1.0]
    bn.beta[...] = [0.5, -1.0]
    norm = bn.normalize(u, train=True)
    z = norm.z
    # column 0: mean 3, biased var 8/3
    expected0 = 2.0 * (u[:, 0] - 3.0) / math.sqrt(8.0 / 3.0 + 1e-5) + 0.5
    assert np.allclose(z[:, 0], expected0, rtol=1e-14)
    assert np.allclose(z.mean(axis=0), bn.beta)
    assert norm.stats is not None
    bn.commit_stats(norm.stats)
    # running = 0.9 · running + 0.1 · batch, with the unbiased variance (n / (n - 1))
    assert bn.running_mean.tolist() == pytest.approx([0.3, 1.2])
    assert bn.running_var.tolist() == pytest.approx([0.9 + 0.1 * 4.0, 0.9 + 0.1 * 12.0])


def test_batchnorm_eval_mode_uses_running_stats() -> None:
    bn = BatchNorm(1)
    bn.running_mean[...] = 2.0
    bn.running_var[...] = 4.0
    norm = bn.normalize(np.array([[4.0], [0.0]]), train=False)
    assert norm.stats is None
    sigma = math.sqrt(4.0 + 1e-5)
    assert norm.z[:, 0] == pytest.approx([2.0 / sigma, -2.0 / sigma])
    # eval-mode backward is the plain scale γ/σ
    grad = bn.backward(norm, np.array([[1.0], [1.0]]), np.zeros(1), np.zeros(1))
    assert grad[:, 0] == pytest.approx([1 / math.sqrt(4.0 + 1e-5)] * 2)


def test_inverted_dropout_is_seeded_and_scales_kept_units() -> None:
    def layer() -> Layer:
        W = np.eye(4)
        return Layer(W, np.zeros(4), get_activation("linear"), dropout=0.25)

    x = np.ones((2000, 4))
    a1 = layer().forward(x, True, np.random.default_rng(1)).a
    a2 = layer().forward(x, True, np.random.default_rng(1)).a
    assert np.array_equal(a1, a2)
    assert set(np.unique(a1)) == {0.0, 1.0 / 0.75}
    assert abs(a1.mean() - 1.0) < 0.03  # inverted: the expectation is unchanged
    eval_pass = layer().forward(x, False, np.random.default_rng(1))
    assert np.array_equal(eval_pass.a, x)  # eval: identity


def test_flat_step_matches_per_parameter_step_and_rolls_back_when_not_finite() -> None:
    shapes = [(2, 2), (2,)]
    a = OPTIMIZERS.create("adam", {"lr": 0.1})
    b = OPTIMIZERS.create("adam", {"lr": 0.1})
    theta = np.array([0.5, -1.0, 2.0, 0.1, 0.3, -0.2])
    params = [theta[:4].reshape(2, 2).copy(), theta[4:].copy()]
    grad = np.array([0.1, -0.2, 0.3, 0.4, -0.5, 0.6])
    delta = a.step_flat(theta, grad, 0.1, shapes)
    deltas = b.step([params[0], params[1]], [grad[:4].reshape(2, 2), grad[4:]], 0.1)
    assert delta is not None
    assert np.array_equal(delta, np.concatenate([d.ravel() for d in deltas]))
    assert np.array_equal(theta, np.concatenate([p.ravel() for p in params]))
    before, state = theta.copy(), a.state_dict()
    with np.errstate(all="ignore"):  # the trainer runs steps this way; overflow is checked
        assert a.step_flat(theta, np.full(6, np.inf), 0.1, shapes) is None
    assert np.array_equal(theta, before) and a.state_dict() == state


def test_forward_changes_nothing_and_training_shares_the_networks_backward() -> None:
    """The trainer's recorded pass and Network.forward/backward are one computation: the
    gradients a training step leaves equal, bit for bit, those of a fresh train-mode pass over
    the same batch (no dropout), and eval passes leave the recorded arrays alone."""
    t = Trainer(small_config(batchnorm=True, regularization={"kind": "l2", "rate": 0.01}))
    t.step(3)
    for _ in range(len(t.net.layers) * 2 + 1):  # forward, loss, backward: stop before update
        t.step_phase()
    recorded = [layer.a.copy() for layer in t.net.layers]
    t.net.evaluate(t.data.x_test)
    t.net.trace(t.data.x_train[:3], t.data.y_train[:3])
    assert all(np.array_equal(la.a, r) for la, r in zip(t.net.layers, recorded, strict=True))
    x, y = t.net.layers[0].x, t._yb  # the batch being stepped
    passes = t.net.backward(t.net.forward(x, train=True), y, penalty=True)
    fresh = np.concatenate([g.ravel() for _, grads in passes for g in grads])
    assert np.array_equal(fresh, t.net.grad)
    deltas = [delta for delta, _ in passes]
    assert all(np.array_equal(d, la.delta) for d, la in zip(deltas, t.net.layers, strict=True))
