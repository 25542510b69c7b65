"""The exact Hessian (R-operator) against a central difference of the gradient, and against
torch's double backward."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from optimtools import central_difference

from engine.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
from engine.objective import BatchObjective
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN


def _trainer(dataset: str, hidden: list[Any], l2: float = 0.0, **over: Any) -> Trainer:
    cfg: dict[str, Any] = {
        "dataset": {"name": dataset, "n_samples": 30, "seed": 2, "split": ALL_TRAIN},
        "hidden": hidden,
        "optimizer": {"name": "newton"},
        "regularization": {"kind": "l2", "rate": l2} if l2 else {"kind": "none", "rate": 0.0},
        "batch_size": 30,
        "seed": 4,
    }
    cfg.update(over)
    t = Trainer(cfg)
    t.step(1)  # away from the initial weights, and a batch drawn
    return t


CASES = [
    ("circle", "tanh", {}),  # bce on logits
    ("circle", "sigmoid", {"loss": "mse"}),  # mse through a sigmoid output: f'' of the output
    ("blobs", "relu", {}),  # ce on logits, relu: f'' = 0 but f' switches
    ("reg_plane", "tanh", {}),  # mse, linear output
    ("reg_plane", "sigmoid", {"loss": "huber"}),
    ("moons", "gelu", {}),
    ("moons", "silu", {}),
    ("moons", "softplus", {}),
    ("moons", "elu", {}),
]


@pytest.mark.parametrize("l2", [0.0, 0.05])
@pytest.mark.parametrize(("dataset", "act", "over"), CASES)
def test_hessian_matches_a_central_difference_of_the_gradient(
    dataset: str, act: str, over: dict[str, Any], l2: float
) -> None:
    t = _trainer(
        dataset, [{"units": 4, "activation": act}, {"units": 3, "activation": act}], l2, **over
    )
    obj = BatchObjective(t.net, t._xb, t._yb)
    theta = t.net.theta.copy()
    exact = obj.hessian(theta)
    approx = central_difference(obj, theta)
    assert np.abs(exact - approx).max() <= 1e-6 * max(1.0, np.abs(exact).max())
    assert np.array_equal(t.net.theta, theta)  # the objective put θ back
    assert np.abs(exact).max() > 1e-3  # a real Hessian, not zeros on both sides


def test_hessian_matches_torch_double_backward() -> None:
    t = _trainer("blobs", [{"units": 5, "activation": "tanh"}], l2=0.1)
    theta = torch.tensor(t.net.theta, requires_grad=True)
    x = torch.from_numpy(t._xb)
    y = torch.from_numpy(t._yb)
    (w0, b0, w1, b1) = [p.shape for p in t.net.params]

    def f(th: torch.Tensor) -> torch.Tensor:
        sizes = [int(np.prod(s)) for s in (w0, b0, w1, b1)]
        parts = torch.split(th, sizes)
        W0, B0, W1, B1 = (p.reshape(s) for p, s in zip(parts, (w0, b0, w1, b1), strict=True))
        z = torch.tanh(x @ W0 + B0) @ W1 + B1
        loss = torch.nn.functional.cross_entropy(z, y)
        return loss + 0.05 * ((W0**2).sum() + (W1**2).sum())

    ref = torch.autograd.functional.hessian(f, theta).numpy()
    exact = BatchObjective(t.net, t._xb, t._yb).hessian(t.net.theta)
    np.testing.assert_allclose(exact, ref, rtol=1e-10, atol=1e-12)


def test_every_hidden_activation_but_unknown_ones_has_a_second_derivative() -> None:
    choices = [(n, {}) for n in HIDDEN_ACTIVATIONS] + [("gelu", {"approximate": "tanh"})]
    for name, params in choices:
        act = ACTIVATIONS.create(name, params)
        z = np.linspace(-3, 3, 13).reshape(1, -1) + 0.01
        a = act.forward(z)
        try:
            f2 = act.second_derivative(z, a)
        except NotImplementedError:
            continue  # the newton optimizer refuses it (tested in test_newton)
        # against a central difference of f'
        d1 = act.derivative(z + 1e-6, act.forward(z + 1e-6))
        d0 = act.derivative(z - 1e-6, act.forward(z - 1e-6))
        np.testing.assert_allclose(f2, (d1 - d0) / 2e-6, atol=1e-6, err_msg=name)
