"""The experiment config: one JSON-safe dict that names everything a run is made of.

``normalize_config`` validates a user's (possibly partial) config, fills every default, and
returns a new dict whose keys always appear in the same order, so a config round-trips
through JSON, a URL or a database unchanged. Errors are :class:`ConfigError` (a ``ValueError``)
whose message starts with the dotted path of the bad field, e.g.
``optimizer.lr: optimizer sgd: invalid lr -1.0: must be > 0``.

Changes to a config (a PATCH, a preset under a share link's keys, a live hyper-parameter edit)
all go through :func:`merge_config`; :data:`LIVE_KEYS` are the keys a running trainer takes
without being rebuilt.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from engine.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS, OUTPUT_ACTIVATIONS
from engine.datasets import DATASETS, csv_to_inline, make_dataset
from engine.hessian import unsupported
from engine.initializers import INITIALIZERS
from engine.losses import LOSSES
from engine.optim import OPTIMIZERS, SCHEDULES
from engine.registry import Param, check_params

# Defaults that follow the task when the user does not choose (PyTorch's usual pairings).
TASK_DEFAULTS = {
    "binary": ("sigmoid", "bce"),
    "multiclass": ("softmax", "ce"),
    "regression": ("linear", "mse"),
}
REGULARIZATION_KINDS = ("none", "l1", "l2")
MAX_LAYERS_HARD = 32  # the app applies its own, smaller limits; this only stops absurd configs
MAX_UNITS_HARD = 4096
# what a trainer can change while it runs: nothing here changes the model's shape or the data
LIVE_KEYS = ("optimizer", "schedule", "regularization", "clip_norm", "batch_size", "probe")

TOP_PARAMS = (
    Param("batchnorm", False, kind="bool"),
    Param("dropout", 0.0, low=0.0, high=1.0, high_open=True),
    Param("clip_norm", None, low=0.0, low_open=True, nullable=True),
    Param("batch_size", 10, kind="int", low=1),
    Param("seed", 0, kind="int", low=0, high=2**32 - 1),
    Param("probe", 0, kind="int", low=0),
)


class ConfigError(ValueError):
    """A bad config value; ``field`` is the dotted path of the offending key."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


def component_params(section: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of a normalized ``{"name": .., **params}`` section, without its name."""
    return {k: v for k, v in section.items() if k != "name"}


def _named(section: str, value: Any, default_name: str) -> tuple[str, dict[str, Any]]:
    """Split ``{"name": n, **params}`` (or a bare name string) into (name, params)."""
    if value is None:
        return default_name, {}
    if isinstance(value, str):
        return value, {}
    if not isinstance(value, Mapping):
        raise ConfigError(section, f"expected an object with a 'name', got {value!r}")
    params = dict(value)
    return params.pop("name", default_name), params


def _component(section: str, registry: Any, value: Any, default_name: str) -> dict[str, Any]:
    """Validate a registry pick ``{"name": .., **params}``; errors name ``section.param``."""
    name, params = _named(section, value, default_name)
    try:
        cls = registry.lookup(name)
    except ValueError as exc:
        raise ConfigError(f"{section}.name", str(exc)) from None
    try:
        checked = check_params(f"{registry.kind} {name}", cls.params, params)
        cls(**checked)  # constructors check combinations (e.g. nesterov needs momentum)
    except ValueError as exc:
        bad = _named_key(params, str(exc))
        raise ConfigError(f"{section}.{bad}" if bad else section, str(exc)) from None
    return {"name": name, **checked}


def dataset_error(dataset: Mapping[str, Any], exc: ValueError) -> ConfigError:
    """A data set's error as ``dataset.<the parameter it names>`` (or ``dataset``)."""
    if isinstance(exc, ConfigError):
        return exc
    bad = _named_key([k for k in dataset if k != "name"], str(exc))
    return ConfigError(f"dataset.{bad}" if bad else "dataset", str(exc))


def _named_key(keys: Any, message: str) -> str | None:
    """The key of ``keys`` that ``message`` names first ('unknown parameter 'x'; expected one of
    [...]' names x, though the list after it names the others too)."""
    found = []
    for k in keys:
        at = [i for i in (message.find(repr(k)), message.find(f" {k} ")) if i >= 0]
        if at:
            found.append((min(at), k))
    return str(min(found)[1]) if found else None


def _hidden(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return [{"units": 4, "activation": "tanh"}, {"units": 2, "activation": "tanh"}]
    if not isinstance(value, list):
        raise ConfigError("hidden", f"expected a list of layers, got {value!r}")
    if len(value) > MAX_LAYERS_HARD:
        raise ConfigError("hidden", f"{len(value)} layers is more than {MAX_LAYERS_HARD}")
    layers = []
    for i, layer in enumerate(value):
        field = f"hidden.{i}"
        if isinstance(layer, int) and not isinstance(layer, bool):
            layer = {"units": layer}
        if not isinstance(layer, Mapping):
            raise ConfigError(field, f"expected {{'units': n, 'activation': name}}, got {layer!r}")
        unknown = set(layer) - {"units", "activation", "activation_params"}
        if unknown:
            raise ConfigError(f"{field}.{sorted(unknown)[0]}", "unknown key")
        units = layer.get("units", 4)
        if (
            isinstance(units, bool)
            or not isinstance(units, int)
            or not 1 <= units <= MAX_UNITS_HARD
        ):
            raise ConfigError(
                f"{field}.units", f"invalid units {units!r}: must be an integer 1..{MAX_UNITS_HARD}"
            )
        act = layer.get("activation", "tanh")
        if act not in HIDDEN_ACTIVATIONS:
            raise ConfigError(
                f"{field}.activation",
                f"unknown activation {act!r}; choose one of {list(HIDDEN_ACTIVATIONS)}",
            )
        act_params = layer.get("activation_params") or {}
        try:
            act_params = check_params(
                f"activation {act}", ACTIVATIONS.lookup(act).params, act_params
            )
        except ValueError as exc:
            bad = _named_key(act_params if isinstance(act_params, Mapping) else [], str(exc))
            where = f"{field}.activation_params" + (f".{bad}" if bad else "")
            raise ConfigError(where, str(exc)) from None
        layers.append({"units": units, "activation": act, "activation_params": act_params})
    return layers


def _regularization(value: Any) -> dict[str, Any]:
    value = dict(value or {})
    unknown = set(value) - {"kind", "rate"}
    if unknown:
        raise ConfigError(f"regularization.{sorted(unknown)[0]}", "unknown key")
    kind = value.get("kind", "none")
    if kind not in REGULARIZATION_KINDS:
        raise ConfigError(
            "regularization.kind",
            f"invalid kind {kind!r}; choose one of {list(REGULARIZATION_KINDS)}",
        )
    try:
        rate = Param("rate", 0.0, low=0.0, high=10.0).check(
            "regularization", value.get("rate", 0.0)
        )
    except ValueError as exc:
        raise ConfigError("regularization.rate", str(exc)) from None
    return {"kind": kind, "rate": rate}


def dataset_task(dataset_spec: Mapping[str, Any]) -> str:
    """The task of a dataset spec without building it (inline data is inferred when built)."""
    name = dataset_spec.get("name")
    if name in ("inline", "csv"):
        return make_dataset(dict(dataset_spec)).task
    return str(DATASETS.lookup(name).task)


def _merged_section(base: Any, value: Any) -> Any:
    """``value`` over ``base``: an object merges one level into the object it replaces when it
    keeps the name (``{"lr": 0.1}`` over ``{"name": "sgd", "lr": 0.03, ...}``), and replaces it
    when it names another (another optimizer starts from its own defaults, not the old one's
    values); anything else simply replaces ``base``."""
    if (
        isinstance(value, Mapping)
        and isinstance(base, Mapping)
        and value.get("name", base.get("name")) == base.get("name")
    ):
        return {**base, **value}
    return value


def changes_task(config: Mapping[str, Any], changes: Mapping[str, Any]) -> bool:
    """Does ``changes`` switch to data of another task (binary, multiclass, regression)?"""
    if "dataset" not in changes:
        return False
    try:
        new = _merged_section(config["dataset"], changes["dataset"])
        return dataset_task(config["dataset"]) != dataset_task(new)
    except (ValueError, TypeError, KeyError, AttributeError):
        return False  # a bad dataset: check_config names the field


def merge_config(config: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``changes`` over ``config``, as a new (partial or full) config; neither input changes.

    Each key of ``changes`` replaces the config's, except that an object section keeping its
    name merges one level (see :func:`_merged_section`): ``{"optimizer": {"lr": 0.1}}`` changes
    the rate alone. When the data set changes to another task (say regression after
    classification), the loss and output activation are dropped unless ``changes`` names them,
    so they follow the new data as they do when a config is first normalized.
    """
    merged = copy.deepcopy(dict(config))
    for key, value in changes.items():
        merged[key] = _merged_section(merged.get(key), copy.deepcopy(value))
    if changes_task(config, changes):
        for key in ("loss", "output_activation"):
            if key not in changes:
                merged.pop(key, None)
    return merged


def normalize_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``config`` and return it complete, with defaults filled, JSON-safe."""
    config = copy.deepcopy(dict(config or {}))
    known = {
        "dataset",
        "hidden",
        "output_activation",
        "loss",
        "init",
        "regularization",
        "optimizer",
        "schedule",
    } | {p.name for p in TOP_PARAMS}
    unknown = sorted(set(config) - known)
    if unknown:
        raise ConfigError(unknown[0], f"unknown config key; expected one of {sorted(known)}")
    dataset = config.get("dataset") or {"name": "circle"}
    if isinstance(dataset, str):
        dataset = {"name": dataset}
    if not isinstance(dataset, Mapping):
        raise ConfigError("dataset", f"expected an object with a 'name', got {dataset!r}")
    try:
        if dataset.get("name") == "csv":  # a user's file is kept as the inline table it gives
            dataset = csv_to_inline(dataset)
        task = dataset_task(dataset)
    except ValueError as exc:
        raise dataset_error(dataset, exc) from None
    out_act_default, loss_default = TASK_DEFAULTS[task]
    out: dict[str, Any] = {"dataset": dict(dataset), "hidden": _hidden(config.get("hidden"))}
    out_act = config.get("output_activation", out_act_default)
    if out_act not in OUTPUT_ACTIVATIONS:
        raise ConfigError(
            "output_activation",
            f"unknown output activation {out_act!r}; choose one of {list(OUTPUT_ACTIVATIONS)}",
        )
    out["output_activation"] = out_act
    out["loss"] = _component("loss", LOSSES, config.get("loss"), loss_default)
    loss_cls = LOSSES.lookup(out["loss"]["name"])
    if loss_cls.task != task and not (loss_cls.task == "regression" and task == "binary"):
        raise ConfigError(
            "loss.name",
            f"loss {loss_cls.name} is for {loss_cls.task} data, "
            f"but dataset {dataset.get('name')!r} is {task}",
        )
    if loss_cls.requires_output and loss_cls.requires_output != out_act:
        raise ConfigError(
            "output_activation",
            f"loss {loss_cls.name} works on logits and needs output activation "
            f"{loss_cls.requires_output!r}, not {out_act!r}",
        )
    if task == "multiclass" and out_act != "softmax":
        raise ConfigError(
            "output_activation",
            f"multi-class data needs output activation 'softmax', not {out_act!r}",
        )
    out["init"] = _component("init", INITIALIZERS, config.get("init"), "xavier_uniform")
    out["regularization"] = _regularization(config.get("regularization"))
    out["optimizer"] = _component("optimizer", OPTIMIZERS, config.get("optimizer"), "sgd")
    out["schedule"] = _component("schedule", SCHEDULES, config.get("schedule"), "constant")
    for param in TOP_PARAMS:
        try:
            out[param.name] = param.check("config", config.get(param.name, param.default))
        except ValueError as exc:
            raise ConfigError(param.name, str(exc)) from None
    _check_second_order(out)
    return out


def _check_second_order(out: dict[str, Any]) -> None:
    """What lbfgs and newton cannot work with, named by the config key at fault.

    Both evaluate the batch's loss several times in one step: dropout would draw another mask
    each time (another function), and clipping would hand the line search or the Newton solve
    a gradient that is not the loss's. Newton also needs every part's second derivative."""
    cls = OPTIMIZERS.lookup(out["optimizer"]["name"])
    if not cls.second_order:
        return
    name = cls.name
    if out["dropout"] > 0:
        raise ConfigError(
            "dropout",
            f"optimizer {name} evaluates the loss several times per step and dropout draws a "
            f"new mask each time; use dropout 0 with {name}",
        )
    if out["clip_norm"] is not None:
        raise ConfigError(
            "clip_norm",
            f"optimizer {name} needs the loss's own gradient; use clip_norm null with {name}",
        )
    if cls.needs_hessian:
        bad = unsupported(
            [ACTIVATIONS.lookup(h["activation"]) for h in out["hidden"]],
            ACTIVATIONS.lookup(out["output_activation"]),
            LOSSES.lookup(out["loss"]["name"]),
            out["batchnorm"],
            out["dropout"],
        )
        if bad is not None:
            raise ConfigError(bad[0], f"optimizer {name}: {bad[1]}")
