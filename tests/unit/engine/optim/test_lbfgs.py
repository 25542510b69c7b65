"""lbfgs step for step against torch.optim.LBFGS (float64, same weights, full batch, 15 steps)."""

from __future__ import annotations

import inspect
import json
from typing import Any

import numpy as np
import pytest
import torch

from engine.config import ConfigError
from engine.optim import OPTIMIZERS
from engine.optim.line_search import cubic_minimizer
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

STEPS = 15
TORCH_ACT = {"tanh": torch.nn.Tanh, "sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU}


def _config(optimizer: dict[str, Any], **over: Any) -> dict[str, Any]:
    cfg: dict[str, Any] = {
        "dataset": {"name": "circle", "n_samples": 40, "noise": 0.1, "seed": 3, "split": ALL_TRAIN},
        "hidden": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "tanh"}],
        "optimizer": optimizer,
        "batch_size": 40,  # the full batch, as torch's closure sees it
        "seed": 1,
    }
    cfg.update(over)
    return cfg


def torch_model(trainer: Trainer) -> torch.nn.Sequential:
    """The trainer's network in torch, float64, with the trainer's current weights."""
    mods: list[torch.nn.Module] = []
    layers = trainer.net.layers
    for i, layer in enumerate(layers):
        lin = torch.nn.Linear(*layer.W.shape, dtype=torch.float64)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(layer.W.T.copy()))
            lin.bias.copy_(torch.from_numpy(layer.b.copy()))
        mods.append(lin)
        if layer.bn is not None:
            bn = torch.nn.BatchNorm1d(layer.W.shape[1], dtype=torch.float64)
            mods.append(bn)
        if i < len(layers) - 1:
            mods.append(TORCH_ACT[layer.activation.name]())
    return torch.nn.Sequential(*mods)


def torch_closure(
    model: torch.nn.Sequential, trainer: Trainer, opt: torch.optim.Optimizer, l2: float = 0.0
) -> Any:
    lossf = torch.nn.BCEWithLogitsLoss()
    linears = [m for m in model if isinstance(m, torch.nn.Linear)]

    def closure() -> torch.Tensor:
        # the trainer's last batch: the whole set, in the order it drew it (same sums)
        x = torch.from_numpy(trainer._xb)
        y = torch.from_numpy(trainer._yb.astype(np.float64))
        opt.zero_grad()
        loss = lossf(model(x), y)
        if l2:
            loss = loss + 0.5 * l2 * sum((lin.weight**2).sum() for lin in linears)
        loss.backward()
        return loss.detach()  # torch's step takes float() of it: no grad-carrying tensor

    return closure


def flat(model: torch.nn.Sequential) -> np.ndarray:
    """θ in the engine's order: W (in, out), b per layer."""
    out = []
    for m in model:
        if isinstance(m, torch.nn.Linear):
            out += [m.weight.detach().numpy().T.ravel(), m.bias.detach().numpy().ravel()]
        elif isinstance(m, torch.nn.BatchNorm1d):
            out += [m.weight.detach().numpy(), m.bias.detach().numpy()]
    return np.concatenate(out)


def run_both(optimizer: dict[str, Any], l2: float = 0.0, **over: Any) -> tuple[Any, ...]:
    reg = {"kind": "l2", "rate": l2} if l2 else {"kind": "none", "rate": 0.0}
    trainer = Trainer(_config(optimizer, regularization=reg, **over))
    model = torch_model(trainer)
    opt = torch.optim.LBFGS(model.parameters(), **trainer.optimizer.hparams)
    closure = torch_closure(model, trainer, opt, l2)
    ours, theirs = [], []
    for _ in range(STEPS):
        rec = trainer.step(1)[0]
        ours.append((rec["loss"] + rec["penalty"], trainer.net.theta.copy(), rec["n_evals"]))
        before = opt.state[opt._params[0]].get("func_evals", 0)
        loss = float(opt.step(closure))
        evals = opt.state[opt._params[0]]["func_evals"] - before
        theirs.append((loss, flat(model), evals))
    return trainer, model, ours, theirs


def assert_same(ours: list[Any], theirs: list[Any]) -> None:
    for k, ((f, theta, n), (tf, ttheta, tn)) in enumerate(zip(ours, theirs, strict=True)):
        assert f == pytest.approx(tf, rel=1e-8), f"loss at step {k + 1}"
        scale = np.abs(ttheta).max()
        assert np.abs(theta - ttheta).max() <= 1e-8 * scale, f"θ at step {k + 1}"
        assert n == tn, f"evaluations at step {k + 1}"


@pytest.mark.parametrize(
    "optimizer",
    [
        {"name": "lbfgs", "lr": 0.2},
        {"name": "lbfgs", "line_search_fn": "strong_wolfe"},
        {"name": "lbfgs", "line_search_fn": "strong_wolfe", "max_iter": 3, "history_size": 3},
        {"name": "lbfgs", "lr": 0.5, "max_iter": 3, "history_size": 3, "max_eval": 2},
        # a short first trial: the search extrapolates (cubic steps up to 10 t), and runs out of
        # its max_eval − evaluations budget before it brackets
        {"name": "lbfgs", "line_search_fn": "strong_wolfe", "lr": 0.05, "max_iter": 5},
        {
            "name": "lbfgs",
            "line_search_fn": "strong_wolfe",
            "lr": 0.02,
            "max_iter": 4,
            "max_eval": 4,
        },
    ],
    ids=[
        "fixed-step",
        "strong-wolfe",
        "wolfe-small-history",
        "fixed-small",
        "wolfe-extrapolating",
        "wolfe-out-of-evaluations",
    ],
)
def test_lbfgs_matches_torch_step_for_step(optimizer: dict[str, Any]) -> None:
    # With L2: unregularised, the circle is separable, the weights grow without bound on a flat
    # loss and both runs amplify their last-bit differences (of sums taken in another order)
    # about tenfold a step; a regularised minimum is well-conditioned, so the comparison tests
    # the algorithm rather than that amplification.
    _, _, ours, theirs = run_both(optimizer, l2=0.01)
    assert_same(ours, theirs)
    assert ours[-1][0] < ours[0][0]  # it learned: the comparison is not of a stuck run
    assert max(n for *_, n in ours) > 1  # the closure was re-evaluated


def test_lbfgs_with_l2_and_relu_matches_torch() -> None:
    hidden = [{"units": 5, "activation": "relu"}, {"units": 3, "activation": "sigmoid"}]
    _, _, ours, theirs = run_both(
        {"name": "lbfgs", "line_search_fn": "strong_wolfe", "max_iter": 6}, l2=0.01, hidden=hidden
    )
    assert_same(ours, theirs)


def test_lbfgs_with_batchnorm_folds_every_evaluation_as_torch() -> None:
    """torch's closure runs the model in train mode: each evaluation updates the running stats."""
    opt = {"name": "lbfgs", "line_search_fn": "strong_wolfe", "max_iter": 5}
    trainer, model, ours, theirs = run_both(opt, l2=0.01, batchnorm=True)
    assert_same(ours, theirs)
    bn_ours = [la.bn for la in trainer.net.layers if la.bn is not None]
    bn_torch = [m for m in model if isinstance(m, torch.nn.BatchNorm1d)]
    assert len(bn_ours) == len(bn_torch) == 2
    for ours_bn, torch_bn in zip(bn_ours, bn_torch, strict=True):
        for mine, theirs_t in (
            (ours_bn.running_mean, torch_bn.running_mean),
            (ours_bn.running_var, torch_bn.running_var),
        ):
            ref = theirs_t.numpy()
            # batch means cancel to ~1e-4 of the inputs' size: the error is relative to the vector
            assert np.abs(mine - ref).max() <= 1e-8 * np.abs(ref).max()
    # torch folded every closure evaluation, not one per step: so did we
    assert sum(n for *_, n in ours) > STEPS


def test_cubic_minimizer_finds_a_cubic_minimum() -> None:
    # f(x) = (x - 1)² (x + 2) on [0, 3]: minimum at x = 1 (f' = 3x² - 3)
    def f(x: float) -> float:
        return (x - 1.0) ** 2 * (x + 2.0)

    def g(x: float) -> float:
        return 3.0 * x * x - 3.0

    assert cubic_minimizer(0.0, f(0.0), g(0.0), 3.0, f(3.0), g(3.0)) == pytest.approx(1.0)
    assert cubic_minimizer(3.0, f(3.0), g(3.0), 0.0, f(0.0), g(0.0)) == pytest.approx(1.0)
    # slopes 1 and 1 with a secant of 2/3: the cubic has no minimum, so the bounds' midpoint
    assert cubic_minimizer(0.0, 0.0, 1.0, 3.0, 2.0, 1.0, bounds=(0.5, 1.5)) == 1.0


def test_state_round_trips_through_json_and_continues_identically() -> None:
    opt = {"name": "lbfgs", "line_search_fn": "strong_wolfe", "max_iter": 4, "history_size": 3}
    a = Trainer(_config(opt))
    a.step(3)
    b = Trainer.restore(json.loads(json.dumps(a.checkpoint())))
    assert len(b.optimizer.memory["old_dirs"]) == len(a.optimizer.memory["old_dirs"]) > 0
    ra, rb = a.step(3), b.step(3)
    assert [r["loss"] for r in ra] == [r["loss"] for r in rb]
    assert np.array_equal(a.net.theta, b.net.theta)


def test_bad_state_and_hyper_parameters_name_the_field() -> None:
    opt = OPTIMIZERS.create("lbfgs", {})
    with pytest.raises(ValueError, match="history_size"):
        OPTIMIZERS.create("lbfgs", {"history_size": 0})
    with pytest.raises(ValueError, match="line_search_fn"):
        OPTIMIZERS.create("lbfgs", {"line_search_fn": "armijo"})
    state = opt.state_dict()
    state["memory"]["old_dirs"] = [[1.0, float("nan")]]
    state["memory"]["ro"] = [1.0]
    state["memory"]["old_stps"] = [[1.0, 2.0]]
    with pytest.raises(ValueError, match="memory"):
        opt.load_state_dict(state)


@pytest.mark.parametrize(
    ("over", "field"),
    [({"dropout": 0.2}, "dropout"), ({"clip_norm": 1.0}, "clip_norm")],
)
def test_lbfgs_refuses_dropout_and_clipping(over: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError) as err:
        Trainer(_config({"name": "lbfgs"}, **over))
    assert err.value.field == field


def test_phase_stepping_does_the_whole_step_in_the_update_phase() -> None:
    opt = {"name": "lbfgs", "line_search_fn": "strong_wolfe", "max_iter": 4}
    a, b = Trainer(_config(opt)), Trainer(_config(opt))
    a.step(2)
    done = []
    while len(done) < 2:
        r = b.step_phase()
        if r["iteration_done"]:
            done.append(r["phase"])
    assert done == ["update", "update"]
    assert np.array_equal(a.net.theta, b.net.theta)


def test_defaults_are_torchs_signature() -> None:
    sig = inspect.signature(torch.optim.LBFGS)
    torch_defaults = {k: p.default for k, p in sig.parameters.items() if k != "params"}
    assert OPTIMIZERS.defaults("lbfgs") == torch_defaults


def test_a_gradient_within_tolerance_grad_changes_nothing_as_in_torch() -> None:
    trainer, _, ours, theirs = run_both({"name": "lbfgs", "tolerance_grad": 10.0})
    assert_same(ours, theirs)
    assert all(n == 1 for *_, n in ours)  # the trainer's own evaluation only
    assert np.array_equal(ours[-1][1], ours[0][1]) and trainer.optimizer.memory["n_iter"] == 0


def test_a_live_cut_of_history_size_trims_the_memory() -> None:
    t = Trainer(_config({"name": "lbfgs", "max_iter": 5, "history_size": 8}))
    t.step(2)
    assert len(t.optimizer.memory["old_dirs"]) > 3
    t.set_hparams({"optimizer": {"history_size": 3}})
    t.step(1)
    mem = t.optimizer.memory
    assert len(mem["old_dirs"]) == len(mem["old_stps"]) == len(mem["ro"]) <= 3
