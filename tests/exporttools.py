"""Helpers for the export tests: sessions to export, and their exported files run elsewhere.

``CASES`` are small sessions covering every optimizer (with their options), batch norm and
dropout, the three tasks, every activation and loss, penalties, clipping and the schedules. A
case is trained ``WARMUP`` steps (past an epoch's end, so the reshuffle and the RNG state matter),
exported, and then both the engine and the exported file run ``STEPS`` more.

``run_files`` runs many exported files in one subprocess with the project's interpreter (one
torch import for all), each ``train(STEPS)``-ed, and returns per file its losses, parameters
(the page's layout) and eval-mode predictions on the test rows, through JSON (``repr`` floats,
exact).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

from engine.trainer import Trainer

WARMUP = 7
STEPS = 10

SPLIT = {"train": 0.7, "val": 0.0, "test": 0.3}
BINARY = {"name": "circle", "n_samples": 60, "noise": 0.1, "seed": 3, "split": SPLIT}
MULTI = {"name": "blobs", "n_samples": 60, "n_classes": 3, "seed": 2, "split": SPLIT}
REGRESSION = {"name": "reg_plane", "n_samples": 60, "seed": 4, "split": SPLIT}


def _case(dataset: dict[str, Any], optimizer: dict[str, Any], **more: Any) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "hidden": [{"units": 5, "activation": "tanh"}, {"units": 3, "activation": "relu"}],
        "optimizer": optimizer,
        "batch_size": 16,
        "seed": 5,
        **more,
    }


BN_DROP = {"batchnorm": True, "dropout": 0.2}
CASES: dict[str, dict[str, Any]] = {
    "sgd-binary": _case(BINARY, {"name": "sgd", "lr": 0.2}),
    "sgd-momentum-wd-bn-multi": _case(
        MULTI, {"name": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.1,
                "weight_decay": 0.01}, batchnorm=True),
    "sgd-nesterov-regression": _case(
        REGRESSION, {"name": "sgd", "lr": 0.02, "momentum": 0.9, "nesterov": True},
        regularization={"kind": "l2", "rate": 0.01}, loss={"name": "mae"}),
    "adagrad-bn-dropout-multi": _case(
        MULTI, {"name": "adagrad", "lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.001,
                "initial_accumulator_value": 0.1}, **BN_DROP),
    "adagrad-regression": _case(
        REGRESSION, {"name": "adagrad", "lr": 0.05}, clip_norm=0.5,
        schedule={"name": "exponential", "gamma": 0.9}),
    "rmsprop-centered-momentum-bn-binary": _case(
        BINARY, {"name": "rmsprop", "lr": 0.01, "momentum": 0.5, "centered": True,
                 "weight_decay": 0.01}, **BN_DROP, schedule={"name": "cosine", "t_max": 3}),
    "rmsprop-multi": _case(
        MULTI, {"name": "rmsprop", "lr": 0.005},
        hidden=[{"units": 4, "activation": "elu"}, {"units": 4, "activation": "leaky_relu"}]),
    "adam-amsgrad-bn-dropout-binary": _case(
        BINARY, {"name": "adam", "lr": 0.01, "amsgrad": True, "weight_decay": 0.01},
        **BN_DROP, regularization={"kind": "l1", "rate": 0.001}, clip_norm=1.0,
        schedule={"name": "step", "step_size": 1, "gamma": 0.8}),
    "adam-regression-gelu-tanh": _case(
        REGRESSION, {"name": "adam", "lr": 0.01}, loss={"name": "huber", "delta": 0.5},
        hidden=[{"units": 4, "activation": "gelu", "activation_params": {"approximate": "tanh"}},
                {"units": 3, "activation": "softplus", "activation_params": {"beta": 2.0}}]),
    "adamw-bn-multi-gelu-silu": _case(
        MULTI, {"name": "adamw", "lr": 0.01, "weight_decay": 0.05}, batchnorm=True,
        hidden=[{"units": 4, "activation": "gelu"}, {"units": 3, "activation": "silu"}]),
    "adamw-binary-mse-on-sigmoid": _case(
        BINARY, {"name": "adamw", "lr": 0.02, "amsgrad": True}, loss={"name": "mse"},
        hidden=[{"units": 4, "activation": "sigmoid"}, {"units": 3, "activation": "linear"}]),
}  # fmt: skip


def trained(name: str) -> Trainer:
    """Case ``name`` after its warm-up steps: the session that is exported."""
    trainer = Trainer(CASES[name])
    trainer.step(WARMUP)
    assert trainer.status == "ok"
    return trainer


def engine_next(trainer: Trainer) -> dict[str, Any]:
    """What the engine does next: its test predictions now, then STEPS losses, and the
    parameters, running statistics and test predictions after them."""
    before = trainer.net.predictions(trainer.data.x_test)
    records = trainer.step(STEPS)
    assert trainer.status == "ok" and len(records) == STEPS
    bns = [la.bn for la in trainer.net.layers if la.bn is not None]
    return {
        "before": before,
        "losses": np.array([r["loss"] for r in records]),
        "params": [p.copy() for p in trainer.net.params],
        "running": [s.copy() for bn in bns for s in (bn.running_mean, bn.running_var)],
        "predict": trainer.net.predictions(trainer.data.x_test),
    }


def check_continues(got: dict[str, Any], want: dict[str, Any], inert: list[bool], tol: float):
    """An exported file's run against the engine's (see :func:`inert_biases` for what the
    comparison leaves out after training, and why)."""
    assert rel_error([got["before"]], [want["before"]]) < tol  # eval mode, at the export
    assert rel_error([got["losses"]], [want["losses"]]) < tol
    keep = [not flag for flag in inert]
    assert (
        rel_error(
            [p for p, k in zip(got["params"], keep, strict=True) if k],
            [p for p, k in zip(want["params"], keep, strict=True) if k],
        )
        < tol
    )
    assert len(got["running"]) == len(want["running"])
    if any(inert):  # the variances: the bias a batch norm follows cannot move them
        assert rel_error(got["running"][1::2], want["running"][1::2]) < tol
    else:
        if got["running"]:
            assert rel_error(got["running"], want["running"]) < tol
        assert rel_error([got["predict"]], [want["predict"]]) < tol


_RUNNER = """
import importlib.util, json, sys
out = {}
for path in sys.argv[2:]:
    spec = importlib.util.spec_from_file_location("exported", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    before = module.predict(module.x_test).tolist()
    losses = module.train(int(sys.argv[1]))
    out[path] = {
        "before": before,
        "losses": losses,
        "running": [r.tolist() for r in module.running_statistics()],
        "params": [p.tolist() for p in module.current_parameters()],
        "predict": module.predict(module.x_test).tolist(),
    }
print(json.dumps(out))
"""


def run_files(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """Run every exported file in one subprocess (see the module docstring)."""
    done = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(STEPS), *map(str, paths)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, dict[str, Any]] = json.loads(done.stdout)
    return {Path(k).stem: v for k, v in result.items()}


def rel_error(got: Any, want: Any) -> float:
    """‖got − want‖ / ‖want‖ over all the numbers."""
    g = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in got])
    w = np.concatenate([np.ravel(np.asarray(a, dtype=np.float64)) for a in want])
    assert g.shape == w.shape
    return float(np.linalg.norm(g - w) / np.linalg.norm(w))


def inert_biases(trainer: Trainer) -> list[bool]:
    """Per parameter: is it the bias b of a layer followed by batch norm? Batch norm subtracts
    the batch mean, so dL/db is zero but for rounding, and an adaptive rule divides that noise
    (~1e-17) by its own size: such a bias wanders by rounding noise, in the engine and in any
    re-computation alike, each its own noise. It changes no train-mode output (the batch mean
    takes it away) but it does enter the running mean, and so eval-mode outputs after training.
    So the tests compare every other parameter, the losses, the running variances, and the
    eval-mode outputs at the export, before any step; eval-mode outputs after training only
    without batch norm. SGD moves such a bias by lr times the noise: nothing to leave out."""
    if trainer.optimizer.name == "sgd":
        return [False] * len(trainer.net.params)
    flags: list[bool] = []
    for layer in trainer.net.layers:
        flags += [False, layer.bn is not None] + ([False, False] if layer.bn else [])
    return flags
