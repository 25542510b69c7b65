"""The trainer: counting, phases, learning, divergence, determinism and checkpoints."""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from engine.inspect import readouts
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN, XOR_POINTS, small_config


@pytest.mark.parametrize(
    ("n", "batch", "epochs", "iterations"), [(100, 50, 100, 200), (1000, 25, 100, 4000)]
)
def test_counting_iterations_per_epoch(n: int, batch: int, epochs: int, iterations: int) -> None:
    t = Trainer(
        small_config(
            dataset={"name": "gaussians", "n_samples": n, "seed": 0, "split": ALL_TRAIN},
            hidden=[{"units": 2, "activation": "tanh"}],
            batch_size=batch,
        )
    )
    assert t.iterations_per_epoch == math.ceil(n / batch)
    for _ in range(epochs):
        t.step_epoch()
    assert (t.iteration, t.epoch, t.samples_seen) == (iterations, epochs, n * epochs)


def test_partial_last_batch_and_full_batch() -> None:
    t = Trainer(
        small_config(
            dataset={"name": "circle", "n_samples": 105, "seed": 0, "split": ALL_TRAIN},
            batch_size=10,
        )
    )
    assert t.iterations_per_epoch == 11
    t.step_epoch()
    assert (t.iteration, t.epoch, t.samples_seen) == (11, 1, 105)
    full = Trainer(small_config(batch_size=10_000))
    assert full.batch_size == full.n_train and full.iterations_per_epoch == 1


def test_each_epoch_sees_every_example_once() -> None:
    t = Trainer(small_config(batch_size=7))
    seen = []
    for _ in range(t.iterations_per_epoch):
        t.step_phase()  # forward 0 draws the batch
        seen.append(t._xb.copy())
        t.step(1)
    rows = np.concatenate(seen)
    assert rows.shape == t.data.x_train.shape
    assert sorted(map(tuple, rows)) == sorted(map(tuple, t.data.x_train))


def test_phase_order_and_equivalence_with_step() -> None:
    stepped, plain = Trainer(small_config()), Trainer(small_config())
    names = []
    while True:
        info = stepped.step_phase()
        names.append((info["phase"], info["layer"]))
        if info["iteration_done"]:
            break
    assert names == [
        ("forward", 0),
        ("forward", 1),
        ("forward", 2),
        ("loss", None),
        ("backward", 2),
        ("backward", 1),
        ("backward", 0),
        ("update", None),
    ]
    plain.step(1)
    for a, b in zip(stepped.net.params, plain.net.params, strict=True):
        assert np.array_equal(a, b)


def test_weights_change_only_in_the_update_phase() -> None:
    t = Trainer(small_config())
    before = [p.copy() for p in t.net.params]
    for _ in range(7):
        t.step_phase()
        assert all(np.array_equal(a, b) for a, b in zip(before, t.net.params, strict=True))
    assert t.phase["phase"] == "update"
    t.step_phase()
    assert any(not np.array_equal(a, b) for a, b in zip(before, t.net.params, strict=True))


def test_numbers_readable_after_backward_phase() -> None:
    t = Trainer(small_config())
    for _ in range(5):  # forward ×3, loss, backward of the output layer
        t.step_phase()
    out = t.net.layers[-1]
    # output layer: δ = (σ(z) − y)/N for BCE on logits, and dW = aᵀ δ
    expected_delta = (1 / (1 + np.exp(-out.z)) - t._yb) / t._yb.shape[0]
    assert np.allclose(out.delta, expected_delta, rtol=1e-12)
    assert np.allclose(out.dW, t.net.layers[-2].a.T @ expected_delta, rtol=1e-12)
    snap = readouts.snapshot(t, {"gradients", "batch", "probe"})
    assert snap["last_phase"] == {"phase": "backward", "layer": 2}
    assert snap["layers"][2]["dW"] == out.dW.tolist()


def test_probe_chain_rule_matches_its_own_gradient() -> None:
    t = Trainer(small_config(probe=5))
    t.step(3)
    probe = readouts.snapshot(t, {"probe"})["probe"]
    assert probe["index"] == 5
    out = probe["layers"][-1]
    hidden = probe["layers"][-2]
    # dL/dw_jk = a_j (input to the edge) · δ_k, with δ_k = dL/da_k · f'(z_k)
    for j, a_j in enumerate(hidden["a"]):
        assert out["dW"][j][0] == pytest.approx(a_j * out["delta"][0], rel=1e-12)


def test_xor_needs_a_hidden_layer() -> None:
    flat = Trainer(
        {
            "dataset": XOR_POINTS,
            "hidden": [],
            "optimizer": {"name": "adam", "lr": 0.05},
            "batch_size": 4,
        }
    )
    flat.step(2000)
    assert readouts.metrics(flat)["train"]["accuracy"] <= 0.75
    deep = Trainer(
        {
            "dataset": XOR_POINTS,
            "hidden": [{"units": 4, "activation": "tanh"}],
            "optimizer": {"name": "adam", "lr": 0.05},
            "batch_size": 4,
            "seed": 1,
        }
    )
    deep.step(2000)
    assert readouts.metrics(deep)["train"]["accuracy"] == 1.0


def test_divergence_keeps_finite_weights() -> None:
    t = Trainer(
        small_config(
            optimizer={"name": "sgd", "lr": 1e3},
            dataset={"name": "reg_plane", "n_samples": 100, "seed": 0, "split": ALL_TRAIN},
            hidden=[{"units": 4, "activation": "relu"}],
        )
    )
    records = t.step(500)
    assert t.status == "diverged"
    assert "learning rate" in (t.divergence or "")
    assert all(np.isfinite(p).all() for p in t.net.params)
    assert all(math.isfinite(r["loss"]) for r in records)
    assert t.step(5) == []  # a diverged run stays stopped
    views = {"gradients", "updates", "probe", "optimizer", "metrics"}
    text = json.dumps(readouts.snapshot(t, views), allow_nan=False)
    assert "NaN" not in text and "Infinity" not in text


def test_same_seed_bit_identical() -> None:
    a, b = Trainer(small_config(dropout=0.2)), Trainer(small_config(dropout=0.2))
    ra, rb = a.step(60), b.step(60)
    assert ra == rb
    assert all(np.array_equal(p, q) for p, q in zip(a.net.params, b.net.params, strict=True))
    c = Trainer(small_config(seed=8))
    assert not np.array_equal(c.net.params[0], a.net.params[0])


RESUME_CASES = [
    {},
    {
        "dropout": 0.3,
        "batchnorm": True,
        "optimizer": {"name": "adam", "lr": 0.01, "amsgrad": True},
    },
    {
        "optimizer": {"name": "rmsprop", "lr": 0.01, "momentum": 0.9, "centered": True},
        "regularization": {"kind": "l2", "rate": 0.01},
        "schedule": {"name": "step", "step_size": 2},
    },
    {  # PReLU's α: in the checkpoint's params and in Adam's state beside W and b
        "hidden": [
            {"units": 4, "activation": "prelu", "activation_params": {"num_parameters": "unit"}},
            {"units": 3, "activation": "prelu"},
        ],
        "dropout": 0.2,
        "batchnorm": True,
        "optimizer": {"name": "adam", "lr": 0.01, "weight_decay": 0.01},
    },
]


@pytest.mark.parametrize("extra", RESUME_CASES)
def test_checkpoint_resume_bit_identical(extra: dict) -> None:
    config = small_config(**extra)
    straight = Trainer(config)
    straight.step(37)
    resumed_from = Trainer(config)
    resumed_from.step(20)
    for _ in range(3):  # a checkpoint between phases restarts the unfinished iteration
        resumed_from.step_phase()
    saved = json.loads(json.dumps(resumed_from.checkpoint(), allow_nan=False))
    resumed = Trainer.restore(saved)
    resumed.step(17)
    for p, q in zip(straight.net.params, resumed.net.params, strict=True):
        assert np.array_equal(p, q)
    assert straight.optimizer.state_dict() == resumed.optimizer.state_dict()
    assert (resumed.iteration, resumed.epoch, resumed.samples_seen) == (
        straight.iteration,
        straight.epoch,
        straight.samples_seen,
    )
    assert straight.step(5) == resumed.step(5)


@pytest.mark.parametrize("extra", RESUME_CASES)
def test_pickled_trainer_continues_bit_identically(extra: dict) -> None:
    """A trainer moved to another process (pickled mid-iteration) goes on as if it never moved."""
    config = small_config(**extra)
    straight, moved = Trainer(config), Trainer(config)
    for t in (straight, moved):
        t.step(20)
        for _ in range(3):
            t.step_phase()
    moved = pickle.loads(pickle.dumps(moved))
    assert moved.phase == straight.phase
    assert straight.step(17) == moved.step(17)
    assert np.array_equal(straight.net.theta, moved.net.theta)
    assert straight.optimizer.state_dict() == moved.optimizer.state_dict()
    # the layers' arrays are views into the flat vectors again, not copies
    moved.net.theta[0] += 1.0
    assert moved.net.layers[0].W.flat[0] == moved.net.theta[0]
    assert np.shares_memory(moved.net.layers[-1].db, moved.net.grad)


def test_live_learning_rate_change_keeps_weights_and_state() -> None:
    t = Trainer(small_config(optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9}))
    t.step(10)
    weights = [p.copy() for p in t.net.params]
    buf = t.optimizer.state[0]["momentum_buffer"].copy()
    t.set_hparams({"optimizer": {"lr": 0.01}})
    assert t.iteration == 10
    assert all(np.array_equal(a, b) for a, b in zip(weights, t.net.params, strict=True))
    assert np.array_equal(t.optimizer.state[0]["momentum_buffer"], buf)
    assert t.lr == 0.01  # the rate shown before the next step is the one it will use
    assert t.step(1)[0]["lr"] == 0.01
    t.set_hparams({"schedule": {"name": "step", "step_size": 1, "gamma": 0.5}})
    assert t.lr == 0.01 * 0.5**t.epoch
    t.set_hparams({"optimizer": {"name": "adam"}})
    assert t.optimizer.name == "adam" and t.config["optimizer"]["lr"] == 1e-3
    with pytest.raises(ValueError, match="hidden"):
        t.set_hparams({"hidden": [3]})
    with pytest.raises(ValueError, match="lr"):
        t.set_hparams({"optimizer": {"lr": -1}})


def test_set_weight_by_hand() -> None:
    t = Trainer(small_config())
    t.net.set_weight(1, "W", 0.25, (2, 1))
    assert t.net.layers[1].W[2, 1] == 0.25
    t.net.set_weight(0, "b", [1.0, 2.0, 3.0, 4.0])
    assert t.net.layers[0].b.tolist() == [1.0, 2.0, 3.0, 4.0]
    for args, field in [
        ((5, "W", 1.0, (0, 0)), "layer"),
        ((0, "Q", 1.0, (0, 0)), "param"),
        ((0, "W", 1.0, (9, 0)), "index"),
        ((0, "b", [1.0], None), "value"),
        ((0, "W", float("nan"), (0, 0)), "value"),
    ]:
        with pytest.raises(ValueError, match=field):
            t.net.set_weight(*args)


def test_metrics_per_split() -> None:
    t = Trainer(small_config())
    m = readouts.metrics(t)
    assert set(m) == {"train", "val", "test"}
    assert 0.0 <= m["test"]["accuracy"] <= 1.0 and m["train"]["loss"] > 0
    reg = Trainer(small_config(regularization={"kind": "l1", "rate": 0.01}))
    penalty = 0.01 * sum(np.abs(layer.W).sum() for layer in reg.net.layers)
    assert readouts.metrics(reg)["train"]["penalty"] == pytest.approx(penalty)
