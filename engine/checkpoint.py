"""Saving, restoring and editing a trainer.

A checkpoint is a JSON-safe dict holding everything that decides the rest of a run: the config,
every parameter and batch-norm running statistic, the optimizer's state, the RNG's state, the
epoch's shuffle order and position, and the counters. Floats are written as Python floats, whose
``repr`` round-trips float64 exactly, so ``Trainer.restore(t.checkpoint())`` continues
bit-identically. A checkpoint taken between phases restarts the unfinished iteration (no weight
changes before its update phase, and the RNG state at its start is kept when dropout draws).

Live edits: hyper-parameters that do not change the model's shape apply without a reset
(optimizer settings keep the optimizer's state; a different optimizer starts fresh state);
weights can be set by hand, one entry or a whole array.
"""

from __future__ import annotations

import copy
import math
from typing import TYPE_CHECKING, Any

import numpy as np

from engine.config import LIVE_KEYS, ConfigError, component_params, merge_config, normalize_config
from engine.numbers import finite
from engine.optim import OPTIMIZERS, SCHEDULES

if TYPE_CHECKING:
    from engine.trainer import Trainer

VERSION = 1


def save(trainer: Trainer, include_trajectory: bool = False) -> dict[str, Any]:
    rng_state = trainer._iter_rng_state if trainer._cursor else None
    state: dict[str, Any] = {
        "version": VERSION,
        "config": copy.deepcopy(trainer.config),
        "params": [p.tolist() for p in trainer.net.params],
        "running": [
            [la.bn.running_mean.tolist(), la.bn.running_var.tolist()]
            for la in trainer.net.layers
            if la.bn is not None
        ],
        "optimizer": trainer.optimizer.state_dict(),
        "rng": rng_state or trainer.rng.bit_generator.state,
        "perm": trainer._perm.tolist(),
        "pointer": trainer._pointer,
        "iteration": trainer.iteration,
        "epoch": trainer.epoch,
        "samples_seen": trainer.samples_seen,
        "status": trainer.status,
        "divergence": trainer.divergence,
        "loss": finite(trainer.loss),
    }
    if include_trajectory:
        state["trajectory"] = trainer.trajectory.to_dict()
    return state


def load(trainer: Trainer, state: dict[str, Any]) -> None:
    """Overwrite a freshly built trainer (same config) with a checkpoint's state."""
    if state.get("version") != VERSION:
        raise ValueError(f"version: unsupported checkpoint version {state.get('version')!r}")
    params = trainer.net.params
    if len(state["params"]) != len(params):
        raise ValueError("params: checkpoint does not match the config's layers")
    for p, saved in zip(params, state["params"], strict=True):
        arr = np.asarray(saved, dtype=np.float64)
        if arr.shape != p.shape or not np.isfinite(arr).all():
            raise ValueError(f"params: expected finite arrays of shape {p.shape}, got {arr.shape}")
        p[...] = arr
    bns = [la.bn for la in trainer.net.layers if la.bn is not None]
    for bn, (mean, var) in zip(bns, state.get("running", []), strict=True):
        bn.running_mean[...] = mean
        bn.running_var[...] = var
    trainer.optimizer.load_state_dict(state["optimizer"])
    trainer.rng.bit_generator.state = state["rng"]
    n = trainer.n_train
    perm = np.asarray(state["perm"])
    if perm.shape != (n,) or not np.array_equal(np.sort(perm), np.arange(n)):
        raise ValueError(f"perm: expected an ordering of the {n} training rows")
    trainer._perm = perm.astype(np.int64)
    trainer._pointer = _count(state, "pointer", n)
    trainer.iteration = _count(state, "iteration")
    trainer.epoch = _count(state, "epoch")
    trainer.samples_seen = _count(state, "samples_seen")
    status = state.get("status", "ok")
    if status not in ("ok", "diverged"):
        raise ValueError(f"status: expected 'ok' or 'diverged', got {status!r:.40}")
    trainer.status = status
    divergence = state.get("divergence")
    if divergence is not None and not isinstance(divergence, str):
        raise ValueError("divergence: expected a text or null")
    trainer.divergence = divergence
    trainer.loss = state["loss"] if state.get("loss") is not None else math.nan
    if "trajectory" in state:
        trainer.trajectory.load(state["trajectory"])


def _count(state: dict[str, Any], key: str, high: int = 2**53) -> int:
    """A counter from a checkpoint: an integer in [0, high] (JSON-safe, and what SQLite stores)."""
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
        raise ValueError(f"{key}: expected an integer from 0 to {high}, got {value!r:.40}")
    return value


def apply_hparams(trainer: Trainer, changes: dict[str, Any]) -> None:
    """Apply live hyper-parameter changes; anything else needs a new trainer (ValueError)."""
    if not isinstance(changes, dict):
        raise ConfigError("changes", "expected an object")
    other = sorted(set(changes) - set(LIVE_KEYS))
    if other:
        raise ConfigError(other[0], "changing this needs a reset (a new session state)")
    new = normalize_config(merge_config(trainer.config, changes))
    old = trainer.config
    if new["optimizer"] != old["optimizer"]:
        if new["optimizer"]["name"] == old["optimizer"]["name"]:
            trainer.optimizer.set_hparams(component_params(new["optimizer"]))
        else:
            trainer.optimizer = OPTIMIZERS.create(
                new["optimizer"]["name"], component_params(new["optimizer"])
            )
    if new["schedule"] != old["schedule"]:
        trainer.schedule = SCHEDULES.create(
            new["schedule"]["name"], component_params(new["schedule"])
        )
    trainer.net.set_regularization(new["regularization"])
    trainer.config = new
    # the rate the next update uses, shown as the current one (it was the last update's until
    # the next step; recomputed before every update, so resuming is unaffected)
    trainer.lr = trainer.schedule.lr(trainer.optimizer.hparams["lr"], trainer.epoch)


def set_weight(trainer: Trainer, layer: int, param: str, value: Any, index: Any = None) -> None:
    """Set ``layers[layer].param`` (W, b, gamma or beta) entirely, or one entry at ``index``."""
    layers = trainer.net.layers
    if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
        raise ValueError(f"layer: invalid layer {layer!r}: must be 0..{len(layers) - 1}")
    target = dict(zip(("W", "b", "gamma", "beta"), layers[layer].params, strict=False)).get(param)
    if target is None:
        raise ValueError(f"param: invalid param {param!r} for layer {layer}")
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"value: {value!r} is not a number or array of numbers") from None
    if not np.isfinite(arr).all():
        raise ValueError("value: must be finite numbers")
    if index is None:
        if arr.shape != target.shape:
            raise ValueError(
                f"value: shape {list(arr.shape)} does not match {param} shape {list(target.shape)}"
            )
        target[...] = arr
        return
    idx = tuple(index) if isinstance(index, (list, tuple)) else (index,)
    if len(idx) != target.ndim or any(
        isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < n
        for i, n in zip(idx, target.shape, strict=True)
    ):
        raise ValueError(f"index: {list(idx)} is outside {param} of shape {list(target.shape)}")
    if arr.ndim != 0:
        raise ValueError("value: one number expected with an index")
    target[idx] = float(arr)
