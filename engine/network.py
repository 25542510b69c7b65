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
from engine.layers import PARAM_NAMES, Layer
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

        ``theta`` (P,) and ``grad`` (P,) hold W₀, b₀, [γ₀, β₀], W₁, … in order, so the optimizer,
        the gradient norm, divergence checks and the trajectory each touch one array per step
        instead of one per parameter.
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
                (layer.bn.gamma, layer.bn.dgamma), (layer.bn.beta, layer.bn.dbeta) = views[2:]

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
        """Set ``layers[layer].param`` (W, b, gamma or beta) entirely, or one entry at ``index``."""
        layers = self.layers
        if isinstance(layer, bool) or not isinstance(layer, int) or not 0 <= layer < len(layers):
            raise ValueError(f"layer: invalid layer {layer!r}: must be 0..{len(layers) - 1}")
        target = dict(zip(PARAM_NAMES, layers[layer].params, strict=False)).get(param)
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

    def loss_input(self, layer: Layer) -> Array:
        """What the loss reads from the output layer: logits z or activation a."""
        return layer.z if self.loss.on_logits else layer.a

    def output_delta(self, y: Array) -> Array:
        """δ_L = dL/dz of the output layer for the last forward pass."""
        out = self.layers[-1]
        if self.loss.on_logits:
            return self.loss.grad(out.z, y)
        return out.activation.backward(out.z, out.f, self.loss.grad(out.a, y))

    def penalty(self) -> float:
        """λ Σ|w| or (λ/2) Σ w² over every weight matrix (biases excluded)."""
        if self.reg_kind == "l1":
            return self.reg_rate * sum(float(np.abs(layer.W).sum()) for layer in self.layers)
        if self.reg_kind == "l2":
            return 0.5 * self.reg_rate * sum(float(np.vdot(la.W, la.W)) for la in self.layers)
        return 0.0

    def add_penalty_grad(self, layer: Layer) -> None:
        """dW += ∂penalty/∂W for one layer (after its backward pass)."""
        if self.reg_kind == "l2":
            layer.dW += self.reg_rate * layer.W
        elif self.reg_kind == "l1":
            layer.dW += self.reg_rate * np.sign(layer.W)

    # ---- pure evaluation: never touches the layers' recorded arrays -------------------------

    def evaluate(self, x: Array) -> list[tuple[Array, Array]]:
        """Eval-mode forward (running batch-norm stats, no dropout): [(z_i, a_i)] per layer."""
        out = []
        for layer in self.layers:
            u = x @ layer.W + layer.b
            if layer.bn is not None:
                bn = layer.bn
                u = (u - bn.running_mean) / np.sqrt(bn.running_var + bn.eps) * bn.gamma + bn.beta
            x = layer.activation.forward(u)
            out.append((u, x))
        return out

    def data_loss(self, x: Array, y: Array) -> float:
        """Eval-mode data loss on a whole set (no penalty)."""
        z, a = self.evaluate(x)[-1]
        return self.loss.value(z if self.loss.on_logits else a, y)

    def trace(self, x: Array, y: Array) -> list[dict[str, Array]]:
        """Eval-mode forward and backward of a few examples, for the probe view.

        Returns per layer {x, z, a, delta, dW, db} (+ dgamma, dbeta with batch norm): the
        gradient of the mean loss over ``x``; for one example, dW[j, k] = x[j] · delta[k].
        """
        layers = self.layers
        forward = self.evaluate(x)
        inputs = [x] + [a for _, a in forward[:-1]]
        z_out, a_out = forward[-1]
        if self.loss.on_logits:
            delta = self.loss.grad(z_out, y)
        else:
            delta = layers[-1].activation.backward(z_out, a_out, self.loss.grad(a_out, y))
        records: list[dict[str, Array]] = [{} for _ in layers]
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            z, a = forward[i]
            grad_u = delta
            record = {"x": inputs[i], "z": z, "a": a, "delta": delta}
            if layer.bn is not None:
                bn = layer.bn
                inv_std = 1.0 / np.sqrt(bn.running_var + bn.eps)
                u_hat = (inputs[i] @ layer.W + layer.b - bn.running_mean) * inv_std
                record["dgamma"] = np.sum(delta * u_hat, axis=0)
                record["dbeta"] = delta.sum(axis=0)
                grad_u = delta * bn.gamma * inv_std
            record["dW"] = inputs[i].T @ grad_u
            record["db"] = grad_u.sum(axis=0)
            records[i] = record
            if i > 0:
                pz, pa = forward[i - 1]
                delta = layers[i - 1].activation.backward(pz, pa, grad_u @ layer.W.T)
        return records

    def predictions(self, x: Array) -> Array:
        """What the model predicts: P(class 1) (binary), class probabilities, or values."""
        z, a = self.evaluate(x)[-1]
        return a


def _saved_array(field: str, saved: Any, shape: tuple[int, ...], finite: bool = True) -> Array:
    """``saved`` as a float64 array of ``shape`` (with finite entries if ``finite``: running
    statistics may hold what a batch's overflow left, and are taken as they are), or ValueError
    naming ``field``."""
    try:
        arr = np.asarray(saved, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{field}: expected arrays of numbers") from None
    if arr.shape != shape or (finite and not np.isfinite(arr).all()):
        kind = "finite arrays" if finite else "arrays"
        raise ValueError(f"{field}: expected {kind} of shape {shape}, got {arr.shape}")
    return arr
