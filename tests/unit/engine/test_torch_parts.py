"""PReLU, thresholded ReLU and RMSE against PyTorch in float64, step for step.

The engine's trainer and a torch model built from the same initial weights (nn.Linear with the
engine's Wᵀ, b; nn.PReLU with its α) take 15 full-batch steps; every step's loss and every
final parameter, α included, agree to a relative error of 1e-8. The optimizer's weight decay
reaches α as torch applies a group's weight_decay to every parameter in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from engine.activations import get_activation
from engine.losses import LOSSES
from engine.trainer import Trainer

STEPS = 15
RTOL = 1e-8


def engine_run(hidden: list[dict[str, Any]], optimizer: dict[str, Any], loss: str) -> Trainer:
    """A small regression trainer, full batch (batch_size = every training row), no dropout."""
    config = {
        "dataset": {"name": "reg_gauss", "n_samples": 60, "noise": 0.1, "seed": 2},
        "hidden": hidden,
        "loss": loss,
        "optimizer": optimizer,
        "init": "xavier_uniform",
        "batch_size": 1000,
        "seed": 5,
    }
    return Trainer(config)


def torch_model(trainer: Trainer) -> nn.Sequential:
    """The trainer's network in torch, holding a float64 copy of its current parameters."""
    mods: list[nn.Module] = []
    for layer in trainer.net.layers:
        fan_in, fan_out = layer.W.shape
        lin = nn.Linear(fan_in, fan_out, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.b.copy()))
        mods.append(lin)
        act = layer.activation
        if act.name == "prelu":
            alpha = act.alpha  # type: ignore[attr-defined]
            prelu = nn.PReLU(num_parameters=alpha.shape[0], dtype=torch.float64)
            with torch.no_grad():
                prelu.weight.copy_(torch.from_numpy(alpha.copy()))
            mods.append(prelu)
        elif act.name == "thresholded_relu":
            mods.append(nn.Threshold(act.theta, 0.0))  # type: ignore[attr-defined]
        elif act.name == "tanh":
            mods.append(nn.Tanh())
        else:
            assert act.name == "linear", act.name
    return nn.Sequential(*mods)


def torch_optimizer(model: nn.Module, spec: dict[str, Any]) -> torch.optim.Optimizer:
    hp = {k: v for k, v in spec.items() if k != "name"}
    if spec["name"] == "adam":
        return torch.optim.Adam(model.parameters(), **hp)
    return torch.optim.SGD(model.parameters(), **hp)


def torch_losses(
    model: nn.Module, opt: torch.optim.Optimizer, x: np.ndarray, y: np.ndarray, loss: str
) -> list[float]:
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    out = []
    for _ in range(STEPS):
        opt.zero_grad()
        mse = nn.MSELoss()(model(xt), yt)
        value = torch.sqrt(mse) if loss == "rmse" else mse
        value.backward()
        opt.step()
        out.append(float(value.detach()))
    return out


def compare(
    hidden: list[dict[str, Any]], optimizer: dict[str, Any], loss: str = "mse"
) -> Trainer:
    """15 steps each side; returns the engine's trainer after checking losses and parameters."""
    t = engine_run(hidden, optimizer, loss)
    model = torch_model(t)
    opt = torch_optimizer(model, optimizer)
    x, y = t.data.x_train, t.data.y_train
    expected = torch_losses(model, opt, x, y, loss)
    records = t.step(STEPS)
    assert [r["step"] for r in records] == list(range(1, STEPS + 1))
    np.testing.assert_allclose([r["loss"] for r in records], expected, rtol=RTOL, atol=0)
    # torch's modules in order (Linear: Wᵀ, b; PReLU: α) list the engine's W, b, α per layer
    theirs = [
        q.detach().numpy().T if isinstance(m, nn.Linear) and q.ndim == 2 else q.detach().numpy()
        for m in model
        for q in m.parameters(recurse=False)
    ]
    ours = t.net.params
    assert [p.shape for p in ours] == [q.shape for q in theirs]
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p, q, rtol=RTOL, atol=1e-14)
    return t


PRELU_CASES = [
    ("layer", {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("unit", {"name": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 0.01}),
    ("layer", {"name": "adam", "lr": 0.02, "weight_decay": 0.01}),
    ("unit", {"name": "adam", "lr": 0.02}),
]


@pytest.mark.parametrize(("layout", "optimizer"), PRELU_CASES)
def test_prelu_trains_as_torch(layout: str, optimizer: dict[str, Any]) -> None:
    hidden = [
        {"units": 6, "activation": "prelu", "activation_params": {"num_parameters": layout}},
        {"units": 4, "activation": "prelu", "activation_params": {"num_parameters": layout}},
    ]
    hidden[1]["activation_params"]["init"] = 0.1
    t = compare(hidden, optimizer)
    for layer in t.net.layers[:2]:  # both sides of the kink were exercised
        assert (layer.z < 0).mean() > 0.05 and (layer.z > 0).mean() > 0.05
    alphas = [la.activation.alpha for la in t.net.layers[:2]]  # type: ignore[attr-defined]
    assert [a.shape for a in alphas] == ([(1,), (1,)] if layout == "layer" else [(6,), (4,)])
    # α moved (it is learned), and its moves are what torch's optimizer made of dL/dα
    assert not np.allclose(alphas[0], 0.25) and not np.allclose(alphas[1], 0.1)


def test_thresholded_relu_and_rmse_train_as_torch() -> None:
    hidden = [
        {"units": 6, "activation": "thresholded_relu", "activation_params": {"theta": 0.1}},
        {"units": 4, "activation": "tanh"},
    ]
    t = compare(hidden, {"name": "sgd", "lr": 0.1, "momentum": 0.5}, loss="rmse")
    above = (t.net.layers[0].z > 0.1).mean()
    assert 0.1 < above < 0.9  # units both pass and stop
    prelu = [{"units": 5, "activation": "prelu", "activation_params": {"num_parameters": "unit"}}]
    compare(prelu, {"name": "adam", "lr": 0.01}, loss="rmse")


def test_thresholded_relu_matches_torch_threshold() -> None:
    theta = 0.7
    z = np.concatenate([np.random.default_rng(3).normal(size=40), [theta, 0.0, -theta]])
    z = z.reshape(-1, 1) * np.array([1.0, 2.0])  # (43, 2), with z exactly at θ
    act = get_activation("thresholded_relu", {"theta": theta})
    zt = torch.tensor(z, requires_grad=True)
    at = nn.Threshold(theta, 0.0)(zt)
    g = np.random.default_rng(4).normal(size=z.shape)
    at.backward(torch.from_numpy(g))
    np.testing.assert_array_equal(act.forward(z), at.detach().numpy())
    assert zt.grad is not None
    np.testing.assert_array_equal(act.backward(z, act.forward(z), g), zt.grad.numpy())


def test_prelu_gradient_matches_torch_autograd() -> None:
    rng = np.random.default_rng(8)
    z = rng.normal(size=(9, 5))
    g = rng.normal(size=z.shape)
    for layout, n in (("layer", 1), ("unit", 5)):
        act: Any = get_activation("prelu", {"num_parameters": layout, "init": -0.3})
        act.bind(5)
        module = nn.PReLU(num_parameters=n, init=-0.3, dtype=torch.float64)
        zt = torch.tensor(z, requires_grad=True)
        out = module(zt)
        out.backward(torch.from_numpy(g))
        np.testing.assert_allclose(act.forward(z), out.detach().numpy(), rtol=1e-15)
        np.testing.assert_allclose(act.backward(z, act.forward(z), g), zt.grad, rtol=1e-15)
        dalpha = np.zeros(n)
        act.weight_grad(z, g, dalpha)
        np.testing.assert_allclose(dalpha, module.weight.grad, rtol=1e-13)


def test_rmse_matches_torch_sqrt_of_mse() -> None:
    rng = np.random.default_rng(6)
    out, y = rng.normal(size=(7, 3)), rng.normal(size=(7, 3))
    rmse = LOSSES.create("rmse")
    ot = torch.tensor(out, requires_grad=True)
    value = torch.sqrt(nn.MSELoss()(ot, torch.from_numpy(y)))
    value.backward()
    assert rmse.value(out, y) == pytest.approx(float(value.detach()), rel=1e-15)
    np.testing.assert_allclose(rmse.grad(out, y), ot.grad, rtol=1e-13)
    # at RMSE = 0 torch's autograd gives 0 · ∞ = NaN; the engine defines the gradient as 0
    same = torch.tensor(y, requires_grad=True)
    torch.sqrt(nn.MSELoss()(same, torch.from_numpy(y))).backward()
    assert same.grad is not None and torch.isnan(same.grad).all()
    assert rmse.value(y, y) == 0.0
    np.testing.assert_array_equal(rmse.grad(y, y), np.zeros_like(y))
