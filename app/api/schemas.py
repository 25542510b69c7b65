"""Request and response models. Static bounds here are hard ceilings for the OpenAPI schema;
the configurable limits (``Settings``) are checked in :mod:`app.core.limits` and the routes.

NaN and Infinity are refused on input (``allow_inf_nan=False``): Python's JSON parser accepts
those literals, and they must never reach the engine or a response.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

VIEWS = ("gradients", "updates", "probe", "optimizer", "metrics", "batchnorm", "batch")
View = Literal["gradients", "updates", "probe", "optimizer", "metrics", "batchnorm", "batch"]
Status = Literal["paused", "running", "diverged", "finished"]


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HiddenLayer(Model):
    units: int = Field(default=4, ge=1, le=4096)
    activation: str = Field(default="tanh", max_length=40)
    activation_params: dict[str, Any] | None = None


class Regularization(Model):
    kind: Literal["none", "l1", "l2"] = "none"
    rate: float = Field(default=0.0, ge=0, le=10)


NULL_MEANS_OFF = frozenset({"clip_norm"})


class SessionConfig(Model):
    """A training config; omitted keys take the engine's defaults (see the catalog routes).

    ``dataset``: ``{"name": "circle", "n_samples": 200, "noise": 0.1, ...}`` or inline
    ``{"name": "inline", "x": [[..], ..], "y": [..]}``. ``optimizer``, ``loss``, ``init``,
    ``schedule``: ``{"name": ..., **params}`` or a bare name.
    """

    dataset: dict[str, Any] | str | None = None
    hidden: list[HiddenLayer | int] | None = Field(default=None, max_length=64)
    output_activation: str | None = Field(default=None, max_length=40)
    loss: dict[str, Any] | str | None = None
    init: dict[str, Any] | str | None = None
    regularization: Regularization | None = None
    optimizer: dict[str, Any] | str | None = None
    schedule: dict[str, Any] | str | None = None
    batchnorm: bool | None = None
    dropout: float | None = Field(default=None, ge=0, lt=1)
    clip_norm: float | None = Field(default=None, gt=0)
    batch_size: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = Field(default=None, ge=0, le=2**32 - 1)
    probe: int | None = Field(default=None, ge=0, le=1_000_000)

    def engine_dict(self) -> dict[str, Any]:
        """Only the keys the caller set (so defaults stay the engine's); null counts as not
        set, except where the engine gives it a meaning (``clip_norm: null`` is off)."""
        out = self.model_dump(exclude_unset=True, exclude_none=True)
        for key in NULL_MEANS_OFF & self.model_fields_set:
            out.setdefault(key, None)
        return out


class SessionCreate(Model):
    config: SessionConfig = Field(default_factory=SessionConfig)
    preset: str | None = Field(
        default=None, max_length=60, description="Start from a named preset."
    )
    name: str | None = Field(default=None, max_length=100)


class RunInfo(BaseModel):
    budget: int
    speed: float | None


class SessionPublic(BaseModel):
    id: str
    name: str
    status: str
    reason: str | None
    created: float
    generation: int
    seq: int = Field(description="Sequence number of the latest step (the stream's event id).")
    step: int
    epoch: int
    samples_seen: int
    iterations_per_epoch: int
    n_params: int
    loss: float | None
    divergence: str | None
    run: RunInfo
    config: dict[str, Any]


class SessionCreated(BaseModel):
    id: str
    owner_token: str = Field(description="Send as `Authorization: Bearer <token>`.")
    session: SessionPublic
    state: dict[str, Any]


class StepRequest(Model):
    """Exactly one of ``count`` (whole iterations), ``unit`` or ``phase``; default one step."""

    count: int | None = Field(default=None, ge=1, le=10_000_000)
    unit: Literal["epoch"] | None = None
    phase: Literal["forward", "loss", "backward", "update", "next"] | None = None
    include: list[View] = Field(default_factory=list, max_length=len(VIEWS))

    @model_validator(mode="after")
    def _one(self) -> StepRequest:
        if sum(v is not None for v in (self.count, self.unit, self.phase)) > 1:
            raise ValueError("give only one of count, unit, phase")
        return self


class StepResult(BaseModel):
    session: SessionPublic
    records: list[dict[str, Any]]
    ran: dict[str, Any] | None
    state: dict[str, Any]


class RunRequest(Model):
    """A budget of ``steps`` iterations or of ``epochs`` (each ⌈n_train / batch_size⌉
    iterations), not both; neither: the server's default budget."""

    steps: int | None = Field(
        default=None, ge=1, le=1_000_000_000, description="Step budget of the run."
    )
    epochs: int | None = Field(
        default=None, ge=1, le=1_000_000, description="Budget in epochs (instead of steps)."
    )
    speed: float | None = Field(
        default=None,
        ge=0.01,
        le=1_000_000,
        description="Steps per second cap (at least one step per 100 s).",
    )

    @model_validator(mode="after")
    def _one_budget(self) -> RunRequest:
        if self.steps is not None and self.epochs is not None:
            raise ValueError("give only one of steps, epochs")
        return self


class PatchRequest(Model):
    """Live changes (optimizer, schedule, regularization, clip_norm, batch_size, probe) apply
    without a reset; any other config key rebuilds the trainer (``reset: true``)."""

    name: str | None = Field(default=None, max_length=100)
    config: SessionConfig = Field(default_factory=SessionConfig)


class ResetRequest(Model):
    """Settings to change before the reset, in the same request (nothing comes between)."""

    config: SessionConfig = Field(default_factory=SessionConfig)


class PatchResult(BaseModel):
    session: SessionPublic
    reset: bool
    changed: list[str]


class WeightEdit(Model):
    layer: int = Field(ge=0, le=4096)
    param: Literal["W", "b", "gamma", "beta", "alpha"]
    value: float | list[float] | list[list[float]]
    index: list[int] | None = Field(default=None, max_length=2)


class ImportRequest(Model):
    format: str = Field(max_length=60)
    checkpoint: dict[str, Any]
    name: str | None = Field(default=None, max_length=100)
    status: str | None = Field(default=None, max_length=20)
