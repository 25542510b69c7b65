"""PReLU's learned α in every view of a trainer: the snapshot, the optimizer's state, hand
edits, the loss landscape (α moves along a direction like any weight) and the chain rule."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.inspect import chain, readouts
from engine.inspect.landscape import Slice
from engine.trainer import Trainer
from tests.conftest import small_config

HIDDEN = [
    {"units": 4, "activation": "prelu", "activation_params": {"num_parameters": "unit"}},
    {"units": 3, "activation": "prelu", "activation_params": {"init": -0.2}},
]


@pytest.fixture(scope="module")
def trained() -> Trainer:
    t = Trainer(small_config(hidden=HIDDEN, optimizer={"name": "adam", "lr": 0.02}))
    t.step(30)
    return t


def test_snapshot_reports_alpha_its_gradient_update_and_optimizer_state(trained: Trainer) -> None:
    views = {"gradients", "updates", "optimizer"}
    snap = json.loads(json.dumps(readouts.snapshot(trained, views), allow_nan=False))
    layers = trained.net.layers
    for entry, layer in zip(snap["layers"][:2], layers[:2], strict=True):
        act = layer.activation
        assert entry["activation"] == "prelu"
        assert entry["alpha"] == act.alpha.tolist()  # type: ignore[attr-defined]
        assert entry["dalpha"] == act.dalpha.tolist()  # type: ignore[attr-defined]
        assert len(entry["dalpha_update"]) == act.alpha.size  # type: ignore[attr-defined]
    assert "alpha" not in snap["layers"][2]  # the output layer has none
    assert [len(e["alpha"]) for e in snap["layers"][:2]] == [4, 1]
    opt = snap["optimizer"]["layers"]
    assert set(opt[0]) == {"W", "b", "alpha"} and set(opt[2]) == {"W", "b"}
    assert set(opt[0]["alpha"]) == {"exp_avg", "exp_avg_sq"}
    # the update reported is the one applied: α moved from its init by the sum of them
    assert not np.allclose(layers[0].activation.alpha, 0.25)  # type: ignore[attr-defined]


def test_set_weight_reaches_alpha() -> None:
    t = Trainer(small_config(hidden=HIDDEN))
    t.net.set_weight(0, "alpha", 0.5, [2])
    t.net.set_weight(1, "alpha", [0.125])
    alphas = [la.activation.alpha.tolist() for la in t.net.layers[:2]]  # type: ignore[attr-defined]
    assert alphas == [[0.25, 0.25, 0.5, 0.25], [0.125]]
    assert t.net.theta[t.net.n_params - 4 - 1] == 0.125  # α₁ sits in θ, after W₁ and b₁
    with pytest.raises(ValueError, match="^param: invalid param 'alpha' for layer 2"):
        t.net.set_weight(2, "alpha", 1.0)


def naive_loss(t: Trainer, s: Slice, a: float, b: float) -> float:
    """Move the real network's parameters (α too) and evaluate the loss the plain way."""
    params = t.net.params
    saved = [p.copy() for p in params]
    d1 = [q for layer in s.d1_layers for q in layer]
    d2 = [q for layer in (s.d2_layers or s.d1_layers) for q in layer]
    try:
        for p, p0, u, v in zip(params, saved, d1, d2, strict=True):
            p[...] = p0 + a * u + b * v
        return t.net.data_loss(s.x, s.y)
    finally:
        for p, p0 in zip(params, saved, strict=True):
            p[...] = p0


@pytest.mark.parametrize(
    "weights",
    [
        [{"layer": 0, "param": "alpha", "index": [1]}, {"layer": 1, "param": "alpha"}],
        [{"layer": 0, "param": "W", "index": [0, 1]}, {"layer": 1, "param": "alpha"}],
    ],
)
def test_landscape_moves_alpha_along_its_direction(trained: Trainer, weights: list) -> None:
    s = Slice(trained, {"kind": "2d", "directions": "weights", "resolution": 5, "weights": weights})
    result = s.compute()
    alpha1 = trained.net.layers[1].activation.alpha  # type: ignore[attr-defined]
    assert result["values"][-1] == alpha1[0]
    grid = np.array(result["losses"])
    flat = np.ptp(grid, axis=0).max()
    assert flat > 1e-6  # the loss changes along α: the landscape does not hold α fixed
    for r in (0, 4):
        for c in (0, 2, 4):
            expected = naive_loss(trained, s, result["alphas"][c], result["betas"][r])
            assert grid[r, c] == pytest.approx(expected, rel=1e-10)


def test_landscape_slope_along_alpha_is_dL_dalpha(trained: Trainer) -> None:
    w = {"layer": 0, "param": "alpha", "index": [3]}
    result = Slice(
        trained,
        {"kind": "1d", "directions": "weights", "weights": [w], "resolution": 201, "range": 0.2},
    ).compute()
    alphas, losses = np.array(result["alphas"]), np.array(result["losses"])
    mid = len(alphas) // 2
    h = alphas[mid + 1] - alphas[mid]
    central = (losses[mid + 1] - losses[mid - 1]) / (2 * h)
    assert result["current"]["slope"] == pytest.approx(central, rel=1e-3, abs=1e-9)


def test_chain_rule_f_prime_is_alpha_below_zero(trained: Trainer) -> None:
    _, _, _, records = chain.probe_trace(trained)
    z = records[0]["z"][0]
    alpha = trained.net.layers[0].activation.alpha  # type: ignore[attr-defined]
    seen = set()
    for j in range(4):
        out = chain.chain(trained, 0, 0, j)
        ex = out["example"]
        expected = 1.0 if z[j] > 0 else float(alpha[j])
        assert ex["f_prime"] == expected
        assert ex["product"] == pytest.approx(ex["trace_dW"], rel=1e-12, abs=1e-15)
        seen.add(z[j] > 0)
    assert seen == {True, False}  # the probe's units sit on both sides of the kink
