"""Config validation: defaults follow the task, and every bad value is named."""

from __future__ import annotations

import json
import math

import pytest

from engine.config import ConfigError, merge_config, normalize_config
from tests.conftest import small_config

NAN = math.nan


def test_defaults_follow_the_task() -> None:
    binary = normalize_config({})
    assert (binary["output_activation"], binary["loss"]["name"]) == ("sigmoid", "bce")
    multi = normalize_config({"dataset": {"name": "blobs", "n_classes": 4}})
    assert (multi["output_activation"], multi["loss"]["name"]) == ("softmax", "ce")
    reg = normalize_config({"dataset": "reg_plane"})
    assert (reg["output_activation"], reg["loss"]["name"]) == ("linear", "mse")
    assert binary["optimizer"] == {
        "name": "sgd",
        "lr": 1e-3,
        "momentum": 0.0,
        "dampening": 0.0,
        "weight_decay": 0.0,
        "nesterov": False,
    } | {
        k: v
        for k, v in binary["optimizer"].items()
        if k not in {"name", "lr", "momentum", "dampening", "weight_decay", "nesterov"}
    }


def test_normalized_config_is_stable_and_json_safe() -> None:
    once = normalize_config(small_config())
    assert normalize_config(json.loads(json.dumps(once))) == once


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bogus": 1}, "bogus"),
        ({"dataset": {"name": "nope"}}, "dataset"),
        ({"hidden": [{"units": 0}]}, "hidden.0.units"),
        ({"hidden": [{"units": 2, "activation": "softmax"}]}, "hidden.0.activation"),
        (
            {
                "hidden": [
                    {
                        "units": 2,
                        "activation": "leaky_relu",
                        "activation_params": {"negative_slope": -1},
                    }
                ]
            },
            "hidden.0.activation_params.negative_slope",
        ),
        (
            {"hidden": [{"activation": "prelu", "activation_params": {"init": math.inf}}]},
            "hidden.0.activation_params.init",
        ),
        (
            {"hidden": [{"activation": "prelu", "activation_params": {"num_parameters": 3}}]},
            "hidden.0.activation_params.num_parameters",
        ),
        (
            {"hidden": [{"activation": "thresholded_relu", "activation_params": {"theta": -1}}]},
            "hidden.0.activation_params.theta",
        ),
        (
            {"hidden": [{"activation": "thresholded_relu", "activation_params": {"theta": NAN}}]},
            "hidden.0.activation_params.theta",
        ),
        ({"hidden": "wide"}, "hidden"),
        ({"output_activation": "relu"}, "output_activation"),
        ({"loss": "ce"}, "loss.name"),
        ({"loss": {"name": "huber", "delta": 0}}, "loss.delta"),
        ({"output_activation": "linear"}, "output_activation"),
        ({"init": "magic"}, "init.name"),
        ({"optimizer": {"name": "sgd", "lr": -1}}, "optimizer.lr"),
        # the unknown key, not the first listed key the message goes on to name
        ({"optimizer": {"name": "sgd", "lr": 0.1, "bogus": 1}}, "optimizer.bogus"),
        ({"optimizer": {"name": "sgd", "lr": 0.1, "nesterov": True}}, "optimizer.nesterov"),
        ({"optimizer": {"name": "adam", "beta1": 1.5}}, "optimizer.beta1"),
        ({"optimizer": {"name": "rmsprop", "centred": True}}, "optimizer.centred"),
        ({"schedule": {"name": "step", "gamma": -2}}, "schedule.gamma"),
        ({"regularization": {"kind": "l3"}}, "regularization.kind"),
        ({"regularization": {"kind": "l2", "rate": -1}}, "regularization.rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 2.5}, "batch_size"),
        ({"dropout": 1.0}, "dropout"),
        ({"clip_norm": 0}, "clip_norm"),
        ({"seed": -1}, "seed"),
    ],
)
def test_bad_values_name_their_field(change: dict, field: str) -> None:
    with pytest.raises(ConfigError) as err:
        normalize_config(small_config(**change))
    assert err.value.field == field
    assert str(err.value).startswith(field)


@pytest.mark.parametrize(
    ("dataset", "field"),
    [
        ({"name": "circle", "n_samples": -5}, "dataset.n_samples"),
        ({"name": "circle", "n_samples": 100, "noise": -1}, "dataset.noise"),
    ],
)
def test_data_set_errors_name_the_parameter(dataset: dict, field: str) -> None:
    """Data set parameters are checked when the data is made (in the trainer)."""
    from engine.trainer import Trainer

    with pytest.raises(ConfigError) as err:
        Trainer(small_config(dataset=dataset))
    assert err.value.field == field


def test_merge_config_merges_a_named_section_one_level() -> None:
    base = normalize_config(small_config(optimizer={"name": "sgd", "lr": 0.03, "momentum": 0.9}))
    merged = merge_config(base, {"optimizer": {"lr": 0.1}, "batch_size": 5})
    assert merged["optimizer"] == {**base["optimizer"], "lr": 0.1}
    assert merged["batch_size"] == 5
    assert base["optimizer"]["lr"] == 0.03  # the input is not changed


def test_merge_config_replaces_a_section_that_names_another() -> None:
    base = normalize_config(small_config(optimizer={"name": "sgd", "momentum": 0.9}))
    merged = merge_config(base, {"optimizer": {"name": "adam", "lr": 0.01}})
    assert merged["optimizer"] == {"name": "adam", "lr": 0.01}  # no sgd momentum left over
    assert merge_config(base, {"hidden": [3]})["hidden"] == [3]


def test_merge_config_drops_loss_and_output_for_data_of_another_task() -> None:
    base = normalize_config(small_config())  # binary: sigmoid + bce
    merged = merge_config(base, {"dataset": {"name": "reg_plane", "n_samples": 50}})
    assert "loss" not in merged and "output_activation" not in merged
    assert normalize_config(merged)["loss"]["name"] == "mse"
    kept = merge_config(base, {"dataset": {"name": "xor"}, "loss": {"name": "mse"}})
    assert kept["loss"] == {"name": "mse"} and "output_activation" in kept
