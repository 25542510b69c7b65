"""The chain-rule factors of one weight against the trace, the stored batch gradient and an
independent central difference of the traced example's loss."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from engine.inspect.chain import chain, check_edge, probe_trace
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

CIRCLE = {"name": "circle", "n_samples": 24, "noise": 0.2, "seed": 2, "split": ALL_TRAIN}


def trainer(**overrides: object) -> Trainer:
    config: dict[str, object] = {
        "dataset": CIRCLE,
        "hidden": [{"units": 4, "activation": "tanh"}, {"units": 3, "activation": "sigmoid"}],
        "init": {"name": "normal", "std": 0.8},
        "batch_size": 8,
        "seed": 5,
        "optimizer": {"name": "sgd", "lr": 0.1},
    }
    config.update(overrides)
    return Trainer(config)


def example_loss(t: Trainer, layer: int, i: int, j: int, w: float) -> float:
    """The traced example's loss with W^layer[i, j] set to w (eval mode), restored after."""
    W = t.net.layers[layer].W
    old = float(W[i, j])
    W[i, j] = w
    try:
        index, x, y, _ = probe_trace(t)
        net = t.net
        caches = net.forward(x)
        return net.loss.value(net.loss_input(caches[-1]), y)
    finally:
        W[i, j] = old


def central(t: Trainer, layer: int, i: int, j: int, eps: float = 1e-6) -> float:
    w = float(t.net.layers[layer].W[i, j])
    return (example_loss(t, layer, i, j, w + eps) - example_loss(t, layer, i, j, w - eps)) / (
        2 * eps
    )


def every_edge(t: Trainer) -> list[tuple[int, int, int]]:
    return [
        (lno, i, j)
        for lno, la in enumerate(t.net.layers)
        for i in range(la.W.shape[0])
        for j in range(la.W.shape[1])
    ]


@pytest.mark.parametrize(
    "overrides",
    [
        {},  # bce on logits at the output, two hidden layers
        {"regularization": {"kind": "l2", "rate": 0.05}},
        {"regularization": {"kind": "l1", "rate": 0.02}},
        {"clip_norm": 0.01},
        {"loss": "mse", "output_activation": "sigmoid"},
        {"dropout": 0.3},
        {"batchnorm": True},
    ],
)
def test_product_is_the_examples_gradient_and_the_batch_mean_the_stored_one(overrides):
    t = trainer(**overrides)
    t.config["probe"] = 5
    t.step(3)
    for layer, i, j in every_edge(t):
        c = chain(t, layer, i, j)
        ex, batch = c["example"], c["batch"]
        # the factors' product is the trace's dW and the loss's slope for that one example
        assert ex["product"] == pytest.approx(ex["trace_dW"], rel=1e-10, abs=1e-13)
        assert ex["product"] == pytest.approx(central(t, layer, i, j), rel=1e-5, abs=1e-8)
        if c["form"] == "hidden":
            assert ex["delta_k"] == pytest.approx(ex["f_prime"] * ex["sum_w_delta"], rel=1e-12)
        # the batch: mean of products + penalty, times the clip factor, is the stored dW
        assert batch["available"]
        assert batch["total"] == pytest.approx(batch["stored"], rel=1e-9, abs=1e-13)


def test_batch_mean_is_an_independent_sum_of_per_example_gradients():
    """Each example's own gradient from the trace, averaged over the last batch, is dW."""
    t = trainer(regularization={"kind": "l2", "rate": 0.1})
    t.step(2)
    xb, yb = t._xb, t._yb  # the last batch the trainer used
    assert xb.shape[0] == t.batch_size
    before = copy.deepcopy(t.net)  # the weights that batch saw: θ − Δ
    before.theta -= t.update_flat
    per = [before.trace(xb[n : n + 1], yb[n : n + 1])[0]["dW"] for n in range(xb.shape[0])]
    W_seen = before.layers[0].W
    c = chain(t, 0, 1, 2)
    mean = float(np.mean([p[1, 2] for p in per]))
    assert c["batch"]["mean_product"] == pytest.approx(mean, rel=1e-10)
    assert c["batch"]["penalty"] == pytest.approx(0.1 * W_seen[1, 2], rel=1e-10)


@pytest.mark.parametrize(
    ("dataset", "loss", "output", "form"),
    [
        (CIRCLE, "bce", "sigmoid", "logits"),
        (CIRCLE, "mse", "tanh", "output"),
        (
            {"name": "blobs", "n_samples": 30, "seed": 1, "split": ALL_TRAIN},
            "ce",
            "softmax",
            "logits",
        ),
    ],
)
def test_output_layer_forms(dataset, loss, output, form):
    t = trainer(dataset=dataset, loss=loss, output_activation=output)
    t.step(2)
    out = len(t.net.layers) - 1
    for j in range(t.net.layers[out].W.shape[1]):
        c = chain(t, out, 1, j)
        ex = c["example"]
        assert c["form"] == form
        assert ex["product"] == pytest.approx(central(t, out, 1, j), rel=1e-5, abs=1e-8)
        if form == "logits":  # δ = ŷ − y on the example's own (mean over one) loss
            scale = 1.0 if loss == "ce" else 1.0 / t.net.layers[out].W.shape[1]
            assert ex["delta_k"] == pytest.approx((ex["yhat"] - ex["y"]) * scale, rel=1e-12)
        if form == "output":
            assert ex["delta_k"] == pytest.approx(ex["f_prime"] * ex["dL_dyhat"], rel=1e-12)


def test_batch_numbers_wait_for_the_layers_backward_pass():
    t = trainer()
    t.step(1)
    assert chain(t, 0, 0, 0)["batch"]["available"]
    t.step_phase()  # forward 0 of the next batch replaced layer 0's input
    assert not chain(t, 0, 0, 0)["batch"]["available"]
    while not (t.last_phase and t.last_phase["phase"] == "backward" and t.last_phase["layer"] == 0):
        t.step_phase()
    c = chain(t, 0, 0, 0)
    assert c["batch"]["available"]
    assert c["batch"]["total"] == pytest.approx(c["batch"]["stored"], rel=1e-10)


def test_a_fresh_trainer_has_no_batch_and_edges_are_checked():
    t = trainer()
    assert not chain(t)["batch"]["available"]
    assert check_edge(t, None, None, None) == (2, 0, 0)
    for args, field in (
        ((3, 0, 0), "layer"),
        ((0, 2, 0), "i"),
        ((0, 0, 4), "j"),
        ((-1, 0, 0), "layer"),
    ):
        with pytest.raises(ValueError, match=f"^{field}: .* outside 0\\.\\."):
            chain(t, *args)


def test_a_restored_trainer_has_no_batch_until_it_steps():
    t = trainer()
    t.step(2)
    back = Trainer.restore(t.checkpoint())
    c = chain(back, 0, 0, 0)
    assert not c["batch"]["available"] and c["batch"]["why"] == "none"
    assert c["example"]["product"] == pytest.approx(chain(t, 0, 0, 0)["example"]["product"])
