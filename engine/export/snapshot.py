"""What every export reads from a trainer, as plain arrays and names, checked once.

A :class:`Snapshot` is taken at an iteration boundary (a trainer stopped between two phases is
first restored from its checkpoint, which restarts that iteration), so an exported file that runs
the next step runs the step the session runs next. Shapes follow the engine: ``W`` (fan_in,
fan_out), ``b`` (fan_out,), batch norm's ``gamma``, ``beta``, ``running_mean``, ``running_var``
(fan_out,); the optimizer's state is kept per parameter in :attr:`Snapshot.param_names` order.

An export of something a format cannot write (a name the generator does not know, such as a
component added to a registry after it was written) is an :class:`ExportError` naming the config
field, so a new component is a clear refusal rather than a wrong file.
"""

from __future__ import annotations

import base64
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from engine.config import ConfigError

if TYPE_CHECKING:
    from engine.trainer import Trainer

Array = NDArray[np.float64]


class ExportError(ConfigError):
    """A session a format cannot express; ``field`` is the config key at fault."""


@dataclass
class LayerSpec:
    """One dense layer: its numbers, activation, and what follows the product."""

    W: Array
    b: Array
    activation: str
    activation_params: dict[str, Any]
    field: str  # the config key that chose the activation (hidden.0.activation, ...)
    gamma: Array | None = None
    beta: Array | None = None
    running_mean: Array | None = None
    running_var: Array | None = None
    dropout: float = 0.0

    @property
    def batchnorm(self) -> bool:
        return self.gamma is not None


@dataclass
class Snapshot:
    """A session at an iteration boundary (see the module docstring)."""

    config: dict[str, Any]
    layers: list[LayerSpec]
    task: str
    loss: str
    loss_params: dict[str, Any]
    on_logits: bool
    optimizer: str
    hparams: dict[str, Any]  # the optimizer's, ``lr`` being the base rate
    opt_t: int
    opt_state: list[dict[str, Array]]  # per parameter, shaped like it
    schedule: str
    schedule_params: dict[str, Any]
    lr_now: float  # the rate the next update uses
    reg_kind: str
    reg_rate: float
    clip_norm: float | None
    batch_size: int
    rng_state: dict[str, Any]
    perm: NDArray[np.int64]
    pointer: int
    iteration: int
    epoch: int
    x_train: Array
    y_train: NDArray[Any]
    x_test: Array
    y_test: NDArray[Any]
    dataset: str

    @property
    def param_names(self) -> list[str]:
        """W1, b1, [gamma1, beta1], W2, ...: the engine's parameter order, layers from 1."""
        names = []
        for i, layer in enumerate(self.layers, 1):
            names += [f"W{i}", f"b{i}"] + ([f"gamma{i}", f"beta{i}"] if layer.batchnorm else [])
        return names

    @property
    def params(self) -> list[Array]:
        out: list[Array] = []
        for layer in self.layers:
            out += [layer.W, layer.b]
            if layer.gamma is not None and layer.beta is not None:
                out += [layer.gamma, layer.beta]
        return out


def snapshot(trainer: Trainer) -> Snapshot:
    """The trainer's state at its next iteration's start (copies: the trainer is not touched)."""
    from engine.trainer import Trainer  # engine.trainer imports nothing of this package

    if trainer._cursor:  # mid-iteration: the checkpoint restarts the iteration
        trainer = Trainer.restore(trainer.checkpoint())
    cfg = trainer.config
    layers = []
    n_hidden = len(cfg["hidden"])
    for i, layer in enumerate(trainer.net.layers):
        if i < n_hidden:
            act, act_params, field = (
                cfg["hidden"][i]["activation"],
                dict(cfg["hidden"][i].get("activation_params") or {}),
                f"hidden.{i}.activation",
            )
        else:
            act, act_params, field = cfg["output_activation"], {}, "output_activation"
        spec = LayerSpec(layer.W.copy(), layer.b.copy(), act, act_params, field)
        if layer.bn is not None:
            spec.gamma, spec.beta = layer.bn.gamma.copy(), layer.bn.beta.copy()
            spec.running_mean = layer.bn.running_mean.copy()
            spec.running_var = layer.bn.running_var.copy()
        spec.dropout = layer.dropout
        layers.append(spec)
    opt = trainer.optimizer
    data = trainer.data
    return Snapshot(
        config=cfg,
        layers=layers,
        task=data.task,
        loss=cfg["loss"]["name"],
        loss_params={k: v for k, v in cfg["loss"].items() if k != "name"},
        on_logits=trainer.net.loss.on_logits,
        optimizer=opt.name,
        hparams=dict(opt.hparams),
        opt_t=opt.t,
        opt_state=[{k: v.copy() for k, v in s.items()} for s in opt.state]
        or [{} for _ in trainer.net.params],
        schedule=cfg["schedule"]["name"],
        schedule_params={k: v for k, v in cfg["schedule"].items() if k != "name"},
        lr_now=trainer.schedule.lr(opt.hparams["lr"], trainer.epoch),
        reg_kind=trainer.net.reg_kind,
        reg_rate=trainer.net.reg_rate,
        clip_norm=cfg["clip_norm"],
        batch_size=trainer.batch_size,
        rng_state=dict(trainer.rng.bit_generator.state),
        perm=trainer._perm.copy(),
        pointer=trainer._pointer,
        iteration=trainer.iteration,
        epoch=trainer.epoch,
        x_train=data.x_train,
        y_train=data.y_train,
        x_test=data.x_test,
        y_test=data.y_test,
        dataset=data.name,
    )


def require(name: str, known: tuple[str, ...] | list[str], field: str, fmt: str) -> None:
    """ExportError naming ``field`` unless ``name`` is one the ``fmt`` generator writes."""
    if name not in known:
        raise ExportError(
            field, f"the {fmt} export does not know {name!r}; it writes {sorted(known)}"
        )


# ---- numbers as Python source: exact float64 round trips ----------------------------------

LITERAL_MAX = 400  # arrays up to this many numbers are written out; larger ones packed


def array_source(a: NDArray[Any], np_name: str = "np") -> str:
    """Source text that rebuilds ``a`` exactly: ``np.array([...])`` with ``repr`` floats
    (repr round-trips float64), or for large arrays ``unpack("<base64 of zlib of the raw
    little-endian bytes>", dtype, shape)`` (``unpack`` is :data:`UNPACK_SOURCE`)."""
    arr = np.asarray(a)
    kind = "int64" if arr.dtype.kind in "iu" else "float64"
    arr = arr.astype(kind)
    if arr.size <= LITERAL_MAX:
        body = repr(arr.tolist())
        return f"{np_name}.array({body}, dtype={np_name}.{kind})"
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    text = base64.b64encode(zlib.compress(raw, 9)).decode("ascii")
    lines = "\n".join(f'    "{text[i : i + 96]}"' for i in range(0, len(text), 96))
    return f'unpack(\n{lines},\n    "{kind}", {tuple(arr.shape)!r})'


UNPACK_SOURCE = '''\
def unpack(text, dtype, shape):
    """An array from base64 of zlib-compressed little-endian bytes (exact float64/int64)."""
    raw = zlib.decompress(base64.b64decode(text))
    return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).copy()
'''


def rng_state_source(state: dict[str, Any]) -> str:
    """The bit generator's state dict as a literal (PCG64: Python ints, exact)."""
    return repr(state)
