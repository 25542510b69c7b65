"""The optimizer base class and the ``OPTIMIZERS`` registry.

An optimizer is hyper-parameters + per-parameter state + an update that returns the change.
Each one follows the algorithm printed on its torch.optim documentation page, with the same
defaults and the same state names, and is picked by name from :data:`OPTIMIZERS`::

    opt = OPTIMIZERS.create("sgd", {"lr": 0.1, "momentum": 0.9})
    deltas = opt.step(params, grads, lr)   # params updated in place; deltas[i] = p_new - p_old

``params`` and ``grads`` are lists of float64 arrays of matching shapes, e.g. a network's
``[W1 (2, 8), b1 (8,), W2 (8, 8), ...]``. The learning rate is passed to every ``step`` (the
trainer passes the scheduled rate); ``hparams["lr"]`` is the base rate the schedule starts from.

Why flat state: every update rule here is elementwise, so the whole model is updated as one
vector ``θ`` of all parameters concatenated. That is one NumPy call per formula line instead of
one per line *and* per layer, which keeps a step of a small network cheap. ``state[i][key]`` is a
view of parameter ``i``'s slice of that vector, shaped like the parameter (it changes in place
on the next step; copy it to keep it).

The rules themselves live in :mod:`engine.optim.sgd` and :mod:`engine.optim.adaptive`; the
second-order ones, which need the loss itself rather than one gradient, in
:mod:`engine.optim.lbfgs` and :mod:`engine.optim.newton` (on :mod:`engine.optim.second_order`).
The package's ``__init__`` registers all of them in :data:`OPTIMIZERS`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from engine.registry import Param, Registry, check_params

Array = NDArray[np.float64]


class Optimizer:
    """Base class: validated ``hparams``, lazily laid-out flat state, ``step`` and (de)serialising.

    Subclasses declare ``name``, ``params``, ``state_keys`` and implement :meth:`_update`.
    """

    name: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    state_keys: ClassVar[tuple[str, ...]] = ()
    # True for the rules that evaluate the loss again inside a step (engine.optim.second_order)
    second_order: ClassVar[bool] = False

    def __init__(self, **hparams: Any) -> None:
        self.hparams: dict[str, Any] = self._validated(hparams)
        self.t = 0  # steps taken
        self.state: list[dict[str, Array]] = []  # per parameter: views into self._buffers
        self._spans: list[tuple[int, int, tuple[int, ...]]] = []  # (start, stop, shape)
        self._size = 0
        self._buffers: dict[str, Array] = {}  # state key -> flat vector over all parameters

    # -- hyper-parameters -------------------------------------------------------------------
    @classmethod
    def _validated(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        checked = check_params(f"optimizer {cls.name}", cls.params, values)
        cls._check_combination(checked)
        return checked

    @classmethod
    def _check_combination(cls, hp: dict[str, Any]) -> None:
        """Constraints between parameters (ValueError naming the key); none by default."""

    def set_hparams(self, changes: Mapping[str, Any]) -> None:
        """Validate and apply new hyper-parameter values live; the state is kept as it is."""
        self.hparams = self._validated({**self.hparams, **dict(changes)})

    # -- the update -------------------------------------------------------------------------
    def step(self, params: list[Array], grads: list[Array], lr: float) -> list[Array]:
        """One update with learning rate ``lr``: ``params`` change in place, ``grads`` do not.

        Returns ``Δ_i = p_i(new) - p_i(old)`` for each parameter, shaped like it (views of one
        array made for this step, so the caller may keep them).
        """
        if not self._spans:
            self._layout([p.shape for p in params])
        self.t += 1
        old = np.concatenate(params, axis=None)  # a copy: no rule can write into params
        new = self._update(np.concatenate(grads, axis=None), old, lr)
        delta = np.subtract(new, old, out=old)
        deltas = []
        for p, (start, stop, shape) in zip(params, self._spans, strict=True):
            p[...] = new[start:stop].reshape(shape)
            deltas.append(delta[start:stop].reshape(shape))
        return deltas

    def step_flat(
        self, theta: Array, grad: Array, lr: float, shapes: Sequence[tuple[int, ...]]
    ) -> Array | None:
        """One update of the flat parameter vector ``theta`` (in place) from flat ``grad``.

        ``shapes`` lays the flat vector out into parameters (for the readable per-parameter
        state) on the first call. Returns the flat Δ = θ_new − θ_old, or None — leaving
        ``theta``, the state and ``t`` exactly as they were — when the step is not finite,
        so a diverging step never reaches the weights or the optimizer's memory.
        """
        if not self._spans:
            self._layout(shapes)
        saved = {key: buf.copy() for key, buf in self._buffers.items()}
        self.t += 1
        old = theta.copy()
        new = self._update(grad.copy(), old, lr)
        delta = np.subtract(new, old, out=old)
        if not math.isfinite(float(np.vdot(delta, delta))):
            self.t -= 1
            for key in list(self._buffers):
                if key in saved:
                    np.copyto(self._buffers[key], saved[key])
                else:  # created by this step: forget it, as if the step never ran
                    del self._buffers[key]
                    for s in self.state:
                        s.pop(key, None)
            return None
        np.copyto(theta, new)
        return delta

    def _update(self, g: Array, p: Array, lr: float) -> Array:
        """Return the new flat parameters ``θ_t`` from flat ``g`` (a private copy the rule may
        overwrite) and ``p = θ_{t-1}`` (read only); ``self.t`` is already ``t``."""
        raise NotImplementedError

    # -- flat state -------------------------------------------------------------------------
    def _layout(self, shapes: Sequence[tuple[int, ...]]) -> None:
        """Fix the parameter shapes and start with empty state."""
        spans, start = [], 0
        for shape in shapes:
            size = math.prod(shape)
            spans.append((start, start + size, tuple(shape)))
            start += size
        self._spans, self._size = spans, start
        self.state = [{} for _ in spans]
        self._buffers = {}

    def _adopt(self, key: str, flat: Array) -> Array:
        """Make ``flat`` (length = total parameter count) the state ``key`` of every parameter."""
        self._buffers[key] = flat
        for s, (start, stop, shape) in zip(self.state, self._spans, strict=True):
            s[key] = flat[start:stop].reshape(shape)
        return flat

    def __setstate__(self, state: dict[str, Any]) -> None:
        # pickle copies the per-parameter views on their own: re-seat them into the buffers
        self.__dict__.update(state)
        self.state = [{} for _ in self._spans]
        for key, flat in self._buffers.items():
            self._adopt(key, flat)

    def _buffer(self, key: str, fill: float = 0.0) -> Array:
        """The flat state ``key``, created filled with ``fill`` the first time it is needed."""
        flat = self._buffers.get(key)
        if flat is None:
            flat = self._adopt(key, np.full(self._size, fill))
        return flat

    # -- serialising ------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """JSON-safe snapshot: Python floats/ints only, so ``json`` round-trips it exactly."""
        return {
            "name": self.name,
            "hparams": dict(self.hparams),
            "t": self.t,
            "shapes": [list(shape) for _, _, shape in self._spans],
            "state": [{k: v.ravel().tolist() for k, v in s.items()} for s in self.state],
        }

    def load_state_dict(self, d: Mapping[str, Any]) -> None:
        """Restore a :meth:`state_dict`; ValueError naming the bad field, leaving self unchanged."""
        where = f"optimizer {self.name} state_dict"
        if not isinstance(d, Mapping):
            raise ValueError(f"{where}: expected an object, got {type(d).__name__}")
        missing = [k for k in ("name", "hparams", "t", "shapes", "state") if k not in d]
        if missing:
            raise ValueError(f"{where}: missing {missing[0]!r}")
        if d["name"] != self.name:
            raise ValueError(f"{where}: invalid name {d['name']!r}: expected {self.name!r}")
        if not isinstance(d["hparams"], Mapping):
            raise ValueError(f"{where}: invalid hparams {d['hparams']!r}")
        hparams = self._validated(d["hparams"])
        t = d["t"]
        if isinstance(t, bool) or not isinstance(t, int) or t < 0:
            raise ValueError(f"{where}: invalid t {t!r}: must be an integer >= 0")
        shapes = _shapes(where, d["shapes"])
        flats = self._flat_state(where, shapes, d["state"])
        self.hparams, self.t = hparams, t
        self._layout(shapes)
        for key, flat in flats.items():
            self._adopt(key, flat)

    def _flat_state(
        self, where: str, shapes: list[tuple[int, ...]], state: Any
    ) -> dict[str, Array]:
        """Check the per-parameter state lists of a state dict and join each key's pieces."""
        if not isinstance(state, list) or len(state) != len(shapes):
            raise ValueError(f"{where}: invalid state: expected a list of {len(shapes)} objects")
        keys = set(state[0]) if state and isinstance(state[0], Mapping) else set()
        pieces: dict[str, list[Array]] = {k: [] for k in keys}
        for i, (s, shape) in enumerate(zip(state, shapes, strict=True)):
            if not isinstance(s, Mapping) or set(s) != keys:
                raise ValueError(
                    f"{where}: invalid state[{i}]: every parameter needs keys {sorted(keys)}"
                )
            for key in keys:
                if key not in self.state_keys:
                    raise ValueError(
                        f"{where}: unknown state key {key!r}; expected one of "
                        f"{list(self.state_keys)}"
                    )
                try:
                    arr = np.asarray(s[key], dtype=np.float64)
                except (TypeError, ValueError):
                    arr = np.full(1, np.nan)
                if arr.shape != (math.prod(shape),) or not np.isfinite(arr).all():
                    raise ValueError(
                        f"{where}: invalid state[{i}][{key!r}]: expected "
                        f"{math.prod(shape)} finite numbers for shape {shape}"
                    )
                pieces[key].append(arr)
        return {k: np.concatenate(v) for k, v in pieces.items()}


def _shapes(where: str, value: Any) -> list[tuple[int, ...]]:
    ok = isinstance(value, list) and all(
        isinstance(s, list)
        and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in s)
        for s in value
    )
    if not ok:
        raise ValueError(f"{where}: invalid shapes {value!r}: expected lists of integers >= 0")
    return [tuple(s) for s in value]


OPTIMIZERS: Registry[Optimizer] = Registry("optimizer")

# shared by several rules
WEIGHT_DECAY = Param("weight_decay", 0.0, low=0.0, doc="L2 penalty λ, added to the gradient")


def learning_rate(default: float) -> Param:
    """The ``lr`` parameter (γ > 0), with the rule's own torch default."""
    return Param("lr", default, low=0.0, low_open=True, doc="learning rate γ")
