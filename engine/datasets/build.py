"""``make_dataset(spec)``: validate a spec, generate, shuffle, split, expand and standardise.

The pipeline, with one ``rng = np.random.default_rng(seed)`` threaded through it so that the
same spec always gives bit-identical arrays:

    raw x (N, D), targets t (N,)          generator (registered set) or inline rows
    train / val / test index sets         seeded permutation, sizes from split.split_sizes
    mean, std                             of expand(raw_train) when standardize is true
    x_part = (expand(raw_part) - mean) / std      the same map as Dataset.transform
    y_part (regression, standardize_target)       (t - t_mean) / t_std with train statistics

Every key is validated; an unknown or inapplicable key raises a ValueError naming it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.datasets.csvtable import load_csv
from engine.datasets.dataset import Dataset, make_inputs
from engine.datasets.features import check_features, expand
from engine.datasets.generators import (
    DATASETS,
    SEED,
    SHUFFLE,
    STANDARDIZE,
    STANDARDIZE_TARGET,
    Source,
)
from engine.datasets.split import check_split, fit_standardizer, split_indices
from engine.datasets.tabular import MAX_COLS, MAX_ROWS, check_x, check_y, resolve_task

COMMON_KEYS = (
    "name", "seed", "split", "shuffle", "standardize", "features", "standardize_target"
)
INLINE_KEYS = ("x", "y", "task", "input_names", "target_name")
CSV_KEYS = ("text", "target", "task")
INLINE_STANDARDIZE = True  # user tables come in arbitrary units


def make_dataset(spec: Mapping[str, Any]) -> Dataset:
    """Build the dataset described by ``spec`` (see the package docstring for the keys)."""
    if not isinstance(spec, Mapping):
        raise ValueError(f"dataset spec: expected an object with a 'name', got {spec!r:.60}")
    name = spec.get("name")
    if name == "inline":
        return _inline(spec)
    if name == "csv":
        return _inline(csv_to_inline(spec))
    cls = DATASETS.lookup(name)
    owner = f"dataset {name}"
    own = [p.name for p in cls.params]
    _reject_unknown(spec, owner, [*COMMON_KEYS, *own])
    gen = DATASETS.create(name, {k: spec[k] for k in own if k in spec})
    why_not_2d = "" if cls.is_2d else f"{name!r} has {cls.n_inputs} inputs, not 2-D points"
    common = _common(
        spec, owner, cls.task, why_not_2d, cls.standardize_default, cls.standardize_target_default
    )
    rng = np.random.default_rng(common["seed"])
    source = gen.generate(rng)
    return _assemble({"name": name, **gen.config, **common}, cls.task, gen.n_classes(), source, rng)


def _reject_unknown(spec: Mapping[str, Any], owner: str, known: Sequence[str]) -> None:
    unknown = sorted(str(k) for k in spec if k not in known)
    if unknown:
        raise ValueError(f"{owner}: unknown key {unknown[0]!r}; expected one of {sorted(known)}")


def _common(
    spec: Mapping[str, Any],
    owner: str,
    task: str,
    why_not_2d: str,
    standardize_default: bool,
    standardize_target_default: bool,
) -> dict[str, Any]:
    """Validate the keys every spec shares; ``why_not_2d`` is "" for 2-D sets."""
    out: dict[str, Any] = {
        "seed": SEED.check(owner, spec.get("seed", SEED.default)),
        "split": check_split(spec.get("split")),
        "standardize": STANDARDIZE.check(owner, spec.get("standardize", standardize_default)),
    }
    if not SHUFFLE.check(owner, spec.get("shuffle", True)):
        out["shuffle"] = False  # written only when off: every existing spec stays as it was
    features = spec.get("features")
    if not why_not_2d:
        out["features"] = list(check_features(features))
    elif features is not None:
        raise ValueError(f"features: feature expansion needs 2-D points; {why_not_2d}")
    flag = spec.get("standardize_target")
    if task == "regression":
        default = standardize_target_default
        out["standardize_target"] = STANDARDIZE_TARGET.check(
            owner, default if flag is None else flag
        )
    elif flag is not None:
        raise ValueError(
            f"standardize_target: only a regression target can be standardised; "
            f"this dataset's task is {task!r}"
        )
    return out


def _assemble(
    spec: dict[str, Any], task: str, n_classes: int, source: Source, rng: np.random.Generator
) -> Dataset:
    """Split ``source`` and build the Dataset; ``spec`` is the complete normalised spec."""
    raw = np.ascontiguousarray(source.x, dtype=np.float64)
    parts = split_indices(len(raw), spec["split"], rng, spec.get("shuffle", True))
    raws = [raw[idx] for idx in parts]  # fancy indexing: new contiguous arrays
    features = tuple(spec["features"]) if "features" in spec else None

    mean = std = None
    if spec["standardize"]:
        mean, std = fit_standardizer(expand(raws[0], features) if features else raws[0])
    xs = [make_inputs(r, features, mean, std) for r in raws]

    t = source.t
    y: NDArray[Any] = t.astype(np.int64) if task == "multiclass" else t.astype(np.float64)[:, None]
    ys = [y[idx] for idx in parts]
    t_mean, t_std = 0.0, 1.0
    if spec.get("standardize_target"):
        m, s = fit_standardizer(ys[0])
        t_mean, t_std = float(m[0]), float(s[0])
        ys = [(part - t_mean) / t_std for part in ys]

    two_d = source.domain is not None
    return Dataset(
        name=spec["name"],
        task=task,
        n_classes=n_classes,
        feature_names=list(features) if features else list(source.input_names),
        x_train=xs[0],
        y_train=ys[0],
        x_val=xs[1],
        y_val=ys[1],
        x_test=xs[2],
        y_test=ys[2],
        raw_train=raws[0] if two_d else None,
        raw_val=raws[1] if two_d else None,
        raw_test=raws[2] if two_d else None,
        domain=source.domain,
        input_names=list(source.input_names),
        target_name=source.target_name,
        class_names=source.class_names,
        image_shape=source.image_shape,
        features=features,
        mean=mean,
        std=std,
        target_mean=t_mean,
        target_std=t_std,
        spec=spec,
    )


# --------------------------------------------------------------------------- inline tables


def _inline(spec: Mapping[str, Any]) -> Dataset:
    """User data: {"name": "inline", "x": rows, "y": labels, "task": optional, ...}."""
    owner = "dataset inline"
    _reject_unknown(spec, owner, [*COMMON_KEYS, *INLINE_KEYS])
    x = check_x(spec.get("x"))
    labels = check_y(spec.get("y"), len(x))
    task, t, class_names = resolve_task(labels, spec.get("task"))
    d = x.shape[1]
    input_names = _input_names(spec.get("input_names"), d)
    target_name = spec.get("target_name", "y")
    if not isinstance(target_name, str) or not target_name.strip():
        raise ValueError(f"target_name: expected a non-empty text, got {target_name!r:.60}")
    why_not_2d = "" if d == 2 else f"the inline x has {d} columns"
    common = _common(spec, owner, task, why_not_2d, INLINE_STANDARDIZE, True)
    rng = np.random.default_rng(common["seed"])
    source = Source(
        x=x,
        t=t,
        input_names=input_names,
        target_name=target_name,
        class_names=class_names,
        domain=_extent(x) if d == 2 else None,
    )
    n_classes = {"binary": 2, "multiclass": len(class_names or ())}.get(task, 0)
    normalised = {
        "name": "inline",
        "x": x,
        "y": labels,
        "task": task,
        "input_names": input_names,
        "target_name": target_name,
        **common,
    }
    return _assemble(normalised, task, n_classes, source, rng)


def csv_to_inline(
    spec: Mapping[str, Any], *, max_rows: int = MAX_ROWS, max_cols: int = MAX_COLS
) -> dict[str, Any]:
    """A ``csv`` spec as the equivalent ``inline`` one (JSON lists), parsed by ``load_csv``.

    ``{"name": "csv", "text": <the file's text>, "target": name or index (default: the last
    column), "task": optional, **common keys}`` becomes ``{"name": "inline", "x", "y",
    "input_names", "target_name", "task"?, **common keys}``: the data set is built, stored and
    exported as inline data; the text is not kept. ``max_cols`` counts the file's columns,
    target included.
    """
    if not isinstance(spec, Mapping):
        raise ValueError(f"dataset spec: expected an object with a 'name', got {spec!r:.60}")
    _reject_unknown(spec, "dataset csv", [*COMMON_KEYS, *CSV_KEYS])
    text = spec.get("text")
    if not isinstance(text, str):
        raise ValueError(f"text: expected the CSV file's text, got {text!r:.60}")
    x, y, names = load_csv(text, spec.get("target"), max_rows=max_rows, max_cols=max_cols)
    return {
        "name": "inline",
        "x": x.tolist(),
        "y": y.tolist(),
        "input_names": names[:-1],
        "target_name": names[-1],
        **{k: v for k, v in spec.items() if k not in ("name", "text", "target")},
    }


def _input_names(value: Any, d: int) -> list[str]:
    if value is None:
        return [f"x{j + 1}" for j in range(d)]
    if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != d:
        raise ValueError(f"input_names: expected a list of {d} names, got {value!r:.60}")
    names = list(value)
    for j, name in enumerate(names):
        if not isinstance(name, str) or not name.strip():
            raise ValueError(f"input_names[{j}]: expected a non-empty text, got {name!r:.60}")
        if names.index(name) != j:
            raise ValueError(f"input_names[{j}]: {name!r} is used twice")
    return names


def _extent(x: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """Plotting box of 2-D points: their bounding box padded by 5 % (1 if a side is flat)."""
    lo, hi = x.min(axis=0), x.max(axis=0)
    pad = np.where(hi > lo, 0.05 * (hi - lo), 1.0)
    return (
        float(lo[0] - pad[0]),
        float(hi[0] + pad[0]),
        float(lo[1] - pad[1]),
        float(hi[1] + pad[1]),
    )
