"""Gradient flow: per-layer ‖dW‖ and saturation of the last step, against independent sums,
and the vanishing-gradient picture of the vanishing-sigmoid preset against ReLU with He init."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from app.sessions.presets import preset_config
from engine.activations import get_activation
from engine.inspect.flow import SATURATION_RATIO, flow, max_slope, saturation
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

# first/last layer norm after 200 steps, measured over seeds 0-2 (branch i12-gradients):
# sigmoid 8.7e-5 … 7.6e-4, ReLU + He normal 0.71 … 6.1: the bounds leave an order of magnitude
SIGMOID_BOUND, RELU_BOUND = 1e-2, 1e-1


def tiny(activation: str, **over: object) -> Trainer:
    config = {
        "dataset": {"name": "circle", "n_samples": 16, "noise": 0.2, "seed": 2, "split": ALL_TRAIN},
        "hidden": [{"units": 5, "activation": activation}, {"units": 4, "activation": activation}],
        "init": {"name": "normal", "std": 2.0},  # large weights: many saturated units
        "batch_size": 8,
        "seed": 3,
        **over,
    }
    return Trainer(config)


def test_norms_are_the_stored_gradients_norms() -> None:
    t = tiny("tanh")
    t.step(3)
    out = flow(t)
    assert len(out["grad_norm"]) == len(t.net.layers) == 3
    for g, layer in zip(out["grad_norm"], t.net.layers, strict=True):
        assert g == pytest.approx(math.sqrt(sum(float(v) ** 2 for v in layer.dW.ravel())), 1e-12)
        assert g == np.linalg.norm(layer.dW)


def hand_count(activation: str, z: np.ndarray) -> int:
    """f′ below 0.1 × its largest value, each written out by hand."""
    n = 0
    for v in z.ravel():
        if activation == "relu":
            slope, peak = (1.0 if v > 0 else 0.0), 1.0  # torch: ReLU′(0) = 0
        elif activation == "sigmoid":
            s = 1.0 / (1.0 + math.exp(-v))
            slope, peak = s * (1.0 - s), 0.25
        else:  # tanh
            slope, peak = 1.0 - math.tanh(v) ** 2, 1.0
        n += slope < 0.1 * peak
    return n


@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_saturation_is_a_hand_count(activation: str) -> None:
    t = tiny(activation)
    t.step(1)
    before = [(layer.W.copy(), layer.b.copy()) for layer in t.net.layers]  # the last step's
    t.step(1)
    out = flow(t)
    x = t.net.layers[0].cache.x  # the last batch
    for i, (W, b) in enumerate(before[:-1]):
        z = x @ W + b  # the pre-activation, recomputed with the weights the step saw
        share = hand_count(activation, z) / z.size
        assert out["saturation"][i] == pytest.approx(share, abs=1e-12)
        x = {"relu": np.maximum(z, 0), "sigmoid": 1 / (1 + np.exp(-z)), "tanh": np.tanh(z)}[
            activation
        ]
    assert sum(out["saturation"][:-1]) > 0  # large weights: some units are saturated
    assert out["saturation"][-1] is None  # bce on logits: no f′ on the output's path


def test_largest_slopes_and_threshold() -> None:
    assert max_slope(get_activation("sigmoid")) == 0.25
    assert max_slope(get_activation("tanh")) == 1.0
    assert max_slope(get_activation("relu")) == 1.0
    assert max_slope(get_activation("elu", {"alpha": 2.0})) == 2.0
    # GELU's largest slope, 1 + (z φ(z) − Φ(z) … ) maximised: 1.1289 at z ≈ 1.414 (known value)
    assert max_slope(get_activation("gelu")) == pytest.approx(1.12899, abs=1e-4)
    relu = get_activation("relu")
    z = np.array([[-1.0, 0.0, 0.5, 2.0]])
    assert saturation(relu, z, relu.forward(z)) == 0.5 and SATURATION_RATIO == 0.1
    assert max_slope(get_activation("thresholded_relu", {"theta": 2.0})) == 1.0
    # PReLU's slopes are 1 and its learned α: the peak follows α as it trains
    prelu: Any = get_activation("prelu", {"num_parameters": "unit", "init": 0.05})
    prelu.bind(4)
    assert max_slope(prelu) == 1.0
    assert saturation(prelu, z, prelu.forward(z)) == 0.5  # α = 0.05 < 0.1: z ≤ 0 saturated
    prelu.alpha[...] = [0.5, 0.5, 3.0, 0.5]
    assert max_slope(prelu) == 3.0  # threshold 0.3: slopes 0.5, 0.5, 1, 1 are all above it
    assert saturation(prelu, z, prelu.forward(z)) == 0.0


def vanishing(activation: str, init: str | None, seed: int) -> float:
    config = preset_config("vanishing-sigmoid")
    assert config is not None
    config["hidden"] = [{**h, "activation": activation} for h in config["hidden"]]
    if init:
        config["init"] = {"name": init}
    config["seed"] = seed
    t = Trainer(config)
    t.step(200)
    norms = flow(t)["grad_norm"]
    return float(norms[0] / norms[-1])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vanishing_sigmoid_vs_relu_he(seed: int) -> None:
    assert vanishing("sigmoid", None, seed) < SIGMOID_BOUND
    assert vanishing("relu", "he_normal", seed) > RELU_BOUND
