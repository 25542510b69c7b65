"""Size limits on what a caller may build: checked before any large allocation (promise 13).

The engine validates meaning (``normalize_config``); these checks bound cost with the limits
from :class:`~app.settings.Settings`. Each failure is a 422 (413 for bodies) naming the field
and the limit, e.g. ``{"field": "hidden.0.units", "limit": "max_units", "max": 256}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.errors import ApiError, engine_error, limit_error
from app.core.settings import Settings
from engine.datasets import TableLimit, csv_to_inline
from engine.optim import OPTIMIZERS
from engine.trainer import Trainer


def check_config(config: Mapping[str, Any], settings: Settings) -> None:
    """Limits that can be checked on the raw config, before any data or weights exist."""
    hidden = config.get("hidden")
    if isinstance(hidden, list):
        if len(hidden) > settings.max_hidden_layers:
            raise limit_error(
                "hidden", "max_hidden_layers", len(hidden), settings.max_hidden_layers
            )
        for i, layer in enumerate(hidden):
            units = layer.get("units") if isinstance(layer, Mapping) else layer
            if isinstance(units, int) and units > settings.max_units:
                raise limit_error(f"hidden.{i}.units", "max_units", units, settings.max_units)
    dataset = config.get("dataset")
    if isinstance(dataset, Mapping):
        n = dataset.get("n_samples")
        if isinstance(n, int | float) and n > settings.max_rows:
            raise limit_error("dataset.n_samples", "max_rows", n, settings.max_rows)
        x = dataset.get("x")
        if isinstance(x, list):
            if len(x) > settings.max_rows:
                raise limit_error("dataset.x", "max_rows", len(x), settings.max_rows)
            width = max((len(r) for r in x if isinstance(r, list)), default=0)
            if width > settings.max_cols:
                raise limit_error("dataset.x", "max_cols", width, settings.max_cols)
        features = dataset.get("features")
        if isinstance(features, list) and len(features) > settings.max_cols:
            raise limit_error("dataset.features", "max_cols", len(features), settings.max_cols)
    batch = config.get("batch_size")
    if isinstance(batch, int) and batch > settings.max_rows:
        raise limit_error("batch_size", "max_rows", batch, settings.max_rows)


def check_built(trainer: Any, settings: Settings) -> None:
    """Limits known only once the data and network exist (real-data sets, parameter count)."""
    rows = sum(int(getattr(trainer.data, f"x_{s}").shape[0]) for s in ("train", "val", "test"))
    if rows > settings.max_rows:
        raise limit_error("dataset", "max_rows", rows, settings.max_rows)
    cols = int(trainer.data.x_train.shape[1])
    if cols > settings.max_cols:
        raise limit_error("dataset", "max_cols", cols, settings.max_cols)
    if trainer.n_params > settings.max_params:
        raise limit_error("hidden", "max_params", trainer.n_params, settings.max_params)
    check_optimizer(trainer.config, trainer.n_params, settings)


def check_optimizer(config: Mapping[str, Any], n_params: int, settings: Settings) -> None:
    """Second-order optimizers on a net of ``n_params`` parameters (a live switch is checked
    here too): newton builds and solves a P × P Hessian every step, at most
    ``newton_max_params``; lbfgs keeps 2 × history_size vectors of P numbers, which every
    checkpoint and replay keyframe carries, at most ``max_lbfgs_memory`` numbers."""
    optimizer = config.get("optimizer")
    if isinstance(optimizer, str):
        optimizer = {"name": optimizer}
    if not isinstance(optimizer, Mapping):
        return  # the engine names what is wrong with it
    name = optimizer.get("name")
    if name == "newton" and n_params > settings.newton_max_params:
        raise limit_error(
            "optimizer.name", "newton_max_params", n_params, settings.newton_max_params
        )
    history = optimizer.get("history_size", OPTIMIZERS.defaults("lbfgs")["history_size"])
    if name == "lbfgs" and isinstance(history, int) and not isinstance(history, bool):
        kept = 2 * history * n_params
        if kept > settings.max_lbfgs_memory:
            raise limit_error(
                "optimizer.history_size", "max_lbfgs_memory", kept, settings.max_lbfgs_memory
            )


def table_limit_error(exc: Any, field: str, settings: Settings) -> ApiError:
    """422 for an ``engine.datasets.TableLimit`` raised while reading a CSV file with
    :func:`csv_limits`, naming the service's limit."""
    if exc.limit == "max_cols":
        most = settings.max_cols
        detail = (
            f"{field}: the file has more than {most + 1} columns; the limit is "
            f"max_cols={most} input columns plus the target"
        )
        return ApiError(422, detail, field=field, limit="max_cols", maximum=most)
    most = settings.max_rows
    detail = f"{field}: the file has more than {most} data rows; the limit is max_rows={most}"
    return ApiError(422, detail, field=field, limit="max_rows", maximum=most)


def csv_limits(settings: Settings) -> dict[str, int]:
    """The ``max_rows`` / ``max_cols`` keywords of the engine's CSV readers for this service
    (the engine counts the file's columns, the service its input columns)."""
    return {"max_rows": settings.max_rows, "max_cols": settings.max_cols + 1}


def expand_csv(config: Mapping[str, Any], settings: Settings) -> Mapping[str, Any]:
    """``config`` with a ``csv`` dataset read into the inline table it gives, within the
    service's row and column limits; other configs unchanged."""
    dataset = config.get("dataset")
    if not isinstance(dataset, Mapping) or dataset.get("name") != "csv":
        return config
    try:
        inline = csv_to_inline(dataset, **csv_limits(settings))
    except TableLimit as exc:
        raise table_limit_error(exc, "dataset.text", settings) from None
    except ValueError as exc:
        message = str(exc)
        key = message.split(":", 1)[0]
        field = f"dataset.{key}" if key in ("text", "target") else "dataset"
        if message.startswith("CSV:"):
            field = "dataset.text"
        raise ApiError(422, f"dataset: {message}", field=field) from None
    return {**config, "dataset": inline}


def build_trainer(config: Mapping[str, Any], settings: Settings) -> Any:
    """A new Trainer for a user config, or a 422 naming the bad field or the limit."""
    config = expand_csv(config, settings)
    check_config(config, settings)
    try:
        trainer = Trainer(dict(config))
    except ApiError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError) as exc:
        # bad user input reaching the engine; the message names the field
        raise engine_error(exc) from None
    check_built(trainer, settings)
    return trainer


def restore_trainer(state: Mapping[str, Any], settings: Settings) -> Any:
    """A Trainer from an imported checkpoint, with the same limits as a new one."""
    config = state.get("config")
    if not isinstance(config, Mapping):
        raise ApiError(
            422, "checkpoint.config: missing or not an object", field="checkpoint.config"
        )
    check_config(config, settings)
    try:
        trainer = Trainer.restore(dict(state))
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, AttributeError) as exc:
        raise engine_error(exc, "checkpoint") from None
    check_built(trainer, settings)
    return trainer
