"""The multilayer perceptron: a stack of :class:`~engine.layers.Layer` plus its loss.

Shapes: inputs ``x`` (N, F); hidden layer ``i`` has ``units_i`` neurons; the output layer has K
units (1 for binary and regression, K classes for multi-class). The loss is applied to the
output layer's pre-activation ``z`` (logits) for ``bce``/``ce`` — PyTorch's numerically stable
``BCEWithLogitsLoss``/``CrossEntropyLoss`` — and to its activation ``a`` otherwise.

Regularization acts on weights, never biases:  L1 = λ Σ|w|  (∂ = λ sign w),
L2 = (λ/2) Σ w²  (∂ = λ w).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.activations import get_activation
from engine.config import component_params
from engine.initializers import INITIALIZERS
from engine.layers import Cache, Layer
from engine.losses import LOSSES, Loss

Array = NDArray[np.float64]


class Network:
    """Layers built from a normalized config (see :mod:`engine.config`)."""

    def __init__(self, config: dict[str, Any], n_in: int, n_out: int, rng: np.random.Generator):
        init = INITIALIZERS.create(config["init"]["name"], component_params(config["init"]))
        sizes = [n_in] + [h["units"] for h in config["hidden"]] + [n_out]
        self.layers: list[Layer] = []
        for i, fan_out in enumerate(sizes[1:]):
            hidden = i < len(config["hidden"])
            if hidden:
                spec = config["hidden"][i]
                act = get_activation(spec["activation"], spec.get("activation_params"))
            else:
                act = get_activation(config["output_activation"])
            W, b = init(sizes[i], fan_out, rng)
            self.layers.append(
                Layer(
                    np.ascontiguousarray(W, dtype=np.float64),
                    np.ascontiguousarray(b, dtype=np.float64),
                    act,
                    batchnorm=hidden and config["batchnorm"],
                    dropout=config["dropout"] if hidden else 0.0,
                )
            )
        self.loss: Loss = LOSSES.create(config["loss"]["name"], component_params(config["loss"]))
        self.sizes = sizes
        self.set_regularization(config["regularization"])
        self._flatten()

    def _flatten(self) -> None:
        """Re-seat every parameter and gradient as a view into one flat vector.

        ``theta`` (P,) and ``grad`` (P,) hold W₀, b₀, [γ₀, β₀], [α₀], W₁, … in order, so the
        optimizer, the gradient norm, divergence checks and the trajectory each touch one array
        per step instead of one per parameter.
        """
        params = self.params
        self.shapes = [p.shape for p in params]
        self.theta = np.concatenate([p.ravel() for p in params])
        self.grad = np.zeros_like(self.theta)
        self._seat()

    def _seat(self) -> None:
        """Point every layer's parameter and gradient arrays into ``theta`` and ``grad``."""
        offset = 0
        for layer in self.layers:
            views: list[tuple[Array, Array]] = []
            for p in layer.params:
                views.append(
                    (
                        self.theta[offset : offset + p.size].reshape(p.shape),
                        self.grad[offset : offset + p.size].reshape(p.shape),
                    )
                )
                offset += p.size
            (layer.W, layer.dW), (layer.b, layer.db) = views[:2]
            if layer.bn is not None:
                (layer.bn.gamma, layer.bn.dgamma), (layer.bn.beta, layer.bn.dbeta) = views[2:4]
            act: Any = layer.activation
            if act.learned:
                act.alpha, act.dalpha = views[-1]

    def __setstate__(self, state: dict[str, Any]) -> None:
        # pickle copies each view on its own: re-seat them into the unpickled flat vectors
        self.__dict__.update(state)
        self._seat()

    def unflatten(self, flat: Array) -> list[Array]:
        """Views of a flat (P,) vector shaped like :attr:`params`."""
        out, offset = [], 0
        for shape in self.shapes:
            size = math.prod(shape)  # not np.prod: ~1 us a call, and this runs every step
            out.append(flat[offset : offset + size].reshape(shape))
            offset += size
        return out

    # ---- state: the numbers a checkpoint keeps, and hand edits -------------------------------

    def state(self) -> dict[str, Any]:
        """JSON-safe parameters (``params``, in :attr:`params` order) and batch-norm running
        statistics (``running``: [mean, var] per batch-norm layer)."""
        return {
            "params": [p.tolist() for p in self.params],
            "running": [
                [la.bn.running_mean.tolist(), la.bn.running_var.tolist()]
                for la in self.layers
                if la.bn is not None
            ],
        }

    def load_state(self, params: Any, running: Any) -> None:
        """Take the numbers of a :meth:`state`; ValueError naming ``params`` or ``running``."""
        if not isinstance(params, list) or len(params) != len(self.shapes):
            raise ValueError("params: checkpoint does not match the config's layers")
        arrays = [
            _saved_array("params", saved, shape)
            for saved, shape in zip(params, self.shapes, strict=True)
        ]
        bns = [la.bn for la in self.layers if la.bn is not None]
        if not isinstance(running, list) or len(running) != len(bns):
            raise ValueError(f"running: expected [mean, var] for each of {len(bns)} batch norms")
        stats = [
            [_saved_array("running", s, bn.running_mean.shape, finite=False) for s in pair]
            for bn, pair in zip(bns, running, strict=True)
        ]
        for p, arr in zip(self.params, arrays, strict=True):
            p[...] = arr
        for bn, (mean, var) in zip(bns, stats, strict=True):
            bn.running_mean[...] = mean
            bn.running_var[...] = var

    def set_weight(self, layer: int, param: str, value: Any, index: Any = None) -> None:
        """Set ``layers[layer].param`` (W, b, gamma, beta or alpha) entirely, or one entry at
        ``index``."""
        layers = self.layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
            raise ValueError(f"layer: invalid layer {layer!r}: must be 0..{len(layers) - 1}")
        la = layers[layer]
        target = dict(zip(la.param_names, la.params, strict=True)).get(param)
        if target is None:
            raise ValueError(f"param: invalid param {param!r} for layer {layer}")
        arr = _as_floats("value", value)
        if not np.isfinite(arr).all():
            raise ValueError("value: must be finite numbers")
        if index is None:
            if arr.shape != target.shape:
                raise ValueError(
                    f"value: shape {list(arr.shape)} does not match {param} shape "
                    f"{list(target.shape)}"
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

    def set_regularization(self, reg: dict[str, Any]) -> None:
        self.reg_kind: str = reg["kind"] if reg["rate"] > 0 else "none"
        self.reg_rate: float = reg["rate"]

    @property
    def params(self) -> list[Array]:
        return [p for layer in self.layers for p in layer.params]

    @property
    def grads(self) -> list[Array]:
        return [g for layer in self.layers for g in layer.grads]

    @property
    def n_params(self) -> int:
        return sum(p.size for p in self.params)

    def loss_input(self, cache: Cache) -> Array:
        """What the loss reads from the output layer's pass: logits z or activation a."""
        return cache.z if self.loss.on_logits else cache.a

    def output_delta(self, cache: Cache, y: Array) -> Array:
        """δ_L = dL/dz (N, K) of the output layer's pass ``cache`` against targets ``y``:
        the loss's own gradient on logits, else f'(z) ⊙ dL/da."""
        if self.loss.on_logits:
            return self.loss.grad(cache.z, y)
        return self.layers[-1].delta_from(cache, self.loss.grad(cache.a, y))

    def penalty(self) -> float:
        """λ Σ|w| or (λ/2) Σ w² over every weight matrix (biases excluded)."""
        if self.reg_kind == "l1":
            return self.reg_rate * sum(float(np.abs(layer.W).sum()) for layer in self.layers)
        if self.reg_kind == "l2":
            return 0.5 * self.reg_rate * sum(float(np.vdot(la.W, la.W)) for la in self.layers)
        return 0.0

    def add_penalty_grad(self, W: Array, dW: Array) -> None:
        """dW += ∂penalty/∂W: λ W (L2) or λ sign W (L1), for one layer's W after its backward."""
        if self.reg_kind == "l2":
            dW += self.reg_rate * W
        elif self.reg_kind == "l1":
            dW += self.reg_rate * np.sign(W)

    # ---- whole passes: never touch the layers' recorded arrays -------------------------------

    def forward(
        self, x: Array, train: bool = False, rng: np.random.Generator | None = None
    ) -> list[Cache]:
        """Every layer's pass over ``x`` (N, F), first to last (eval mode by default: running
        batch-norm statistics, no dropout)."""
        caches = []
        for layer in self.layers:
            cache = layer.forward(x, train, rng)
            caches.append(cache)
            x = cache.a
        return caches

    def backward(
        self, caches: list[Cache], y: Array, penalty: bool = False
    ) -> list[tuple[Array, list[Array]]]:
        """(δ, gradients parallel to ``layer.params``) per layer, from the loss on the passes
        ``caches`` against ``y``, in new arrays; with ``penalty`` the regularization's gradient
        is added to each dW."""
        layers = self.layers
        out: list[tuple[Array, list[Array]]] = [(np.empty(0), [])] * len(layers)
        delta = self.output_delta(caches[-1], y)
        for i in range(len(layers) - 1, -1, -1):
            grads = [np.empty_like(p) for p in layers[i].params]
            grad_x = layers[i].backward(caches[i], delta, grads, i > 0)
            if penalty:
                self.add_penalty_grad(layers[i].W, grads[0])
            out[i] = (delta, grads)
            if grad_x is not None:
                delta = layers[i - 1].delta_from(caches[i - 1], grad_x)
        return out

    def evaluate(self, x: Array) -> list[tuple[Array, Array]]:
        """Eval-mode forward (running batch-norm stats, no dropout): [(z_i, a_i)] per layer."""
        return [(cache.z, cache.a) for cache in self.forward(x)]

    def data_loss(self, x: Array, y: Array) -> float:
        """Eval-mode data loss on a whole set (no penalty)."""
        return self.loss.value(self.loss_input(self.forward(x)[-1]), y)

    def trace(self, x: Array, y: Array) -> list[dict[str, Array]]:
        """Eval-mode forward and backward of a few examples, for the probe view.

        Returns per layer {x, z, a, delta, dW, db} (+ dgamma, dbeta with batch norm, dalpha
        with PReLU): the
        gradient of the mean loss over ``x``; for one example, dW[j, k] = x[j] · delta[k].
        """
        caches = self.forward(x)
        records = []
        passes = zip(self.layers, caches, self.backward(caches, y), strict=True)
        for layer, cache, (delta, grads) in passes:
            record = {"x": cache.x, "z": cache.z, "a": cache.a, "delta": delta}
            record.update(zip(["d" + n for n in layer.param_names], grads, strict=True))
            records.append(record)
        return records

    def predictions(self, x: Array) -> Array:
        """What the model predicts: P(class 1) (binary), class probabilities, or values."""
        z, a = self.evaluate(x)[-1]
        return a


def _saved_array(field: str, saved: Any, shape: tuple[int, ...], finite: bool = True) -> Array:
    """``saved`` as a float64 array of ``shape`` (with finite entries if ``finite``: running
    statistics may hold what a batch's overflow left, and are taken as they are), or ValueError
    naming ``field``."""
    arr = _as_floats(field, saved)
    if arr.shape != shape or (finite and not np.isfinite(arr).all()):
        kind = "finite arrays" if finite else "arrays"
        raise ValueError(f"{field}: expected {kind} of shape {shape}, got {arr.shape}")
    return arr


def _as_floats(field: str, value: Any) -> Array:
    """``value`` as a float64 array, or ValueError naming ``field`` and the value."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: {value!r:.60} is not a number or array of numbers") from None
