"""Reading a session out: state snapshot, metric history, gradient check, gradient noise,
loss landscape and decision surface. Each takes the session's lock for the engine call (the
engine is not thread-safe) and runs in the thread pool."""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Query, Response

from app.api import gradient_noise as noise
from app.api.deps import ManagerDep, SessionDep, SettingsDep
from app.api.gradcheck import DEFAULT_SAMPLE, checked
from app.api.schemas import View
from app.core.errors import ApiError, engine_error, limit_error
from app.core.jsontext import encode
from engine.inspect import readouts
from engine.inspect.decision import decision_surface
from engine.inspect.gradient_noise import gradient_noise as compute_noise
from engine.inspect.landscape import grid_size
from engine.inspect.landscape import landscape as compute_landscape

router = APIRouter(prefix="/sessions/{session_id}", tags=["readouts"])
ENGINE_ERRORS = (ValueError, TypeError, KeyError, IndexError)


def jsonable(obj: Any) -> Any:
    """NumPy arrays and scalars to lists and floats (non-finite handled by the encoder)."""
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, dict):
        return {k: jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [jsonable(v) for v in obj]
    return obj


@router.get("/state")
def state(
    session: SessionDep,
    manager: ManagerDep,
    include: Annotated[list[View], Query(max_length=7)] = [],  # noqa: B006
) -> dict[str, Any]:
    """Weights and biases per layer, counters, and the views named in ``include``
    (gradients, updates, probe, optimizer, metrics, batchnorm, batch)."""
    with session.lock:
        out: dict[str, Any] = readouts.snapshot(manager.load(session), frozenset(include))
    out["session"] = session.public()
    return out


@router.get("/history")
def history(
    session: SessionDep,
    manager: ManagerDep,
    after: Annotated[int, Query(ge=0, le=2**53, description="Only steps > after.")] = 0,
    limit: Annotated[int, Query(ge=1, le=100_000)] = 10_000,
    points: Annotated[
        int | None, Query(ge=2, le=100_000, description="Downsample to about this many.")
    ] = None,
    metrics: Annotated[bool, Query(description="Only rows with train/val/test metrics.")] = False,
) -> Response:
    """Step records of the current generation (loss, lr, grad_norm; train/val/test metrics on
    the rows that carry them), oldest first. ``next_after`` (null at the end): the ``after``
    that continues a page cut short by ``limit``."""
    store, gen = manager.store, session.generation
    stride = 1
    steps = int(session.counters.get("iteration", 0))  # one row per step of this generation
    if points is not None:
        stride = max(1, math.ceil(steps / points))
    if stride > 1 and not metrics:
        span = (after, steps)
        rows = store.sampled(session.id, gen, session.seq_base, span, stride, limit + 1)
    else:
        rows = store.history(session.id, gen, after, limit + 1, stride, metrics)
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = json.loads(rows[-1])["step"] if more else None
    body = (
        f'{{"session_id":{encode(session.id)},"generation":{gen},"stride":{stride},'
        f'"next_after":{encode(next_after)},"points":[{",".join(rows)}]}}'
    )
    return Response(body, media_type="application/json")


@router.get("/gradcheck")
def gradcheck(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    eps: Annotated[float, Query(gt=0, le=0.01)] = 1e-5,
    sample: Annotated[
        int,
        Query(
            ge=1,
            description=(
                "Entries checked when the net has more than max_gradcheck_params parameters "
                "(a seeded sample; smaller nets are checked whole). At most that limit."
            ),
        ),
    ] = DEFAULT_SAMPLE,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="Seed of the sample.")] = 0,
) -> dict[str, Any]:
    """Central-difference gradient beside backprop's, per parameter entry, with relative
    errors, verdicts, a summary per layer, and the cost of each (2N loss passes vs one
    backward pass, timed). The page's gradient-check panel shows this very result."""
    return checked(session, manager, settings, eps, sample, seed)


@router.get("/gradient-noise")
def gradient_noise(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    batches: Annotated[
        int, Query(ge=1, description="Mini-batches drawn (at most max_noise_batches).")
    ] = 8,
    seed: Annotated[int, Query(ge=0, le=2**32 - 1, description="Seed of the batches.")] = 0,
    cover: Annotated[
        bool, Query(description="Draw the ⌈N/B⌉ batches of one pass instead (covering the data).")
    ] = False,
    include: Annotated[
        list[str], Query(max_length=1, description="vectors: every batch's gradient too.")
    ] = [],  # noqa: B006
) -> dict[str, Any]:
    """The full-batch gradient at the current weights, ``batches`` mini-batch gradients at the
    session's batch size (drawn like the trainer's batches, from ``seed``), each one's cosine
    to the full one and norm ratio, and their spread. With ``cover`` the batches cover the
    training set once, and their size-weighted mean is the full gradient."""
    if any(v != "vectors" for v in include):
        raise ApiError(422, "include: the only choice is 'vectors'", field="include")
    with session.lock:
        t = manager.load(session)
        noise.check_limits(t, settings, batches, cover)
        try:
            result = compute_noise(t, batches, seed, cover)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None
        return noise.answer(t, result, "vectors" in include)


@router.get("/landscape")
def landscape(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    kind: Annotated[str, Query(pattern="^(1d|2d)$")] = "2d",
    directions: Annotated[str, Query(pattern="^(weights|random|pca)$")] = "random",
    seed: Annotated[int, Query(ge=0, le=2**32 - 1)] = 0,
    range_: Annotated[float | None, Query(alias="range", gt=0, le=1e4)] = None,
    resolution: Annotated[int | None, Query(ge=3, le=401)] = None,
    split: Annotated[str, Query(pattern="^(train|val|test)$")] = "train",
    weight: Annotated[
        list[str],
        Query(
            max_length=2,
            description=(
                "With directions=weights: one per axis, as layer:param:index, e.g. 0:W:1,0"
            ),
        ),
    ] = [],  # noqa: B006
) -> dict[str, Any]:
    """The loss along 1-D or 2-D slices through the current weights: chosen weights, random
    filter-normalised directions, or the trajectory's PCA directions."""
    if kind == "2d" and resolution is not None and resolution > settings.max_grid:
        raise limit_error("resolution", "max_grid", resolution, settings.max_grid)
    spec: dict[str, Any] = {
        "kind": kind,
        "directions": directions,
        "seed": seed,
        "range": range_,
        "resolution": resolution,
        "split": split,
    }
    if directions == "weights":
        spec["weights"] = [_parse_weight(w, i) for i, w in enumerate(weight)]
    with session.lock:
        t = manager.load(session)
        work = grid_size(kind, resolution) * t.data.sizes[split] * t.n_params
        if work > settings.max_landscape_work:
            raise limit_error("resolution", "max_landscape_work", work, settings.max_landscape_work)
        try:
            return dict(jsonable(compute_landscape(t, spec)))
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None


def _parse_weight(text: str, i: int) -> dict[str, Any]:
    try:
        layer, param, index = text.split(":")
        return {
            "layer": int(layer),
            "param": param,
            "index": [int(v) for v in index.split(",") if v != ""],
        }
    except ValueError:
        raise ApiError(
            422,
            f"weight.{i}: expected layer:param:index like 0:W:1,0, got {text!r}",
            field=f"weight.{i}",
        ) from None


@router.get("/decision")
def decision(
    session: SessionDep,
    manager: ManagerDep,
    settings: SettingsDep,
    resolution: Annotated[int, Query(ge=2, le=400)] = 100,
    neuron_resolution: Annotated[int, Query(ge=2, le=100)] = 10,
) -> dict[str, Any]:
    """The network's output over the input plane, and every neuron's (2-D data only)."""
    if resolution > settings.max_resolution:
        raise limit_error("resolution", "max_resolution", resolution, settings.max_resolution)
    with session.lock:
        t = manager.load(session)
        try:
            surface = decision_surface(t, resolution, neuron_resolution)
        except ENGINE_ERRORS as exc:
            raise engine_error(exc) from None
    if surface is None:
        raise ApiError(409, "dataset: the decision surface needs 2-D data", field="dataset")
    return dict(jsonable(surface))
