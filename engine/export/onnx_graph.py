"""A session's inference graph as ONNX: the trained model in eval mode, with its weights.

Per layer: ``u = MatMul(x, W) + b``; batch norm in eval mode with the running statistics
(``BatchNormalization``, epsilon 1e-5); the activation; no dropout (eval mode). The output is
what the page predicts: P(class 1) for binary data, class probabilities, or values.

The graph is float64 where onnxruntime's CPU kernels take doubles. Some activation operators
have no double kernel (LeakyRelu, Elu, Softplus, Erf), so those are written with operators that
do (``LeakyReLU(z) = Max(z, s·z)``, ``ELU = Max(z, 0) + α(Exp(Min(z, 0)) − 1)``, softplus from
``Log``, ``Exp`` and ``Where``); exact GELU needs ``Erf``, so a session using it is written in
float32. The metadata ``dtype`` says which, and ``output`` what the output means.

    data = onnx_bytes(snapshot(trainer))   # bytes of a ModelProto, opset 17
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from engine.export.snapshot import Snapshot, require

OPSET = 17
ACTIVATION_NAMES = (
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "silu",
    "softmax",
)  # fmt: skip
OUTPUT_MEANING = {
    "binary": "P(class 1)",
    "multiclass": "class probabilities",
    "regression": "predicted values (standardised target if the data set standardises it)",
}


class _Graph:
    """Nodes and initializers, with fresh names."""

    def __init__(self, dtype: type[np.floating[Any]]) -> None:
        self.dtype = dtype
        self.nodes: list[onnx.NodeProto] = []
        self.inits: list[onnx.TensorProto] = []
        self.count = 0

    def const(self, name: str, value: Any) -> str:
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype=self.dtype), name))
        return name

    def op(self, op: str, *inputs: str, **attrs: Any) -> str:
        self.count += 1
        out = f"{op.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op, list(inputs), [out], **attrs))
        return out


def _activation(g: _Graph, name: str, p: dict[str, Any], z: str, tag: str) -> str:
    """The activation ``name`` applied to tensor ``z``; returns the output's name."""
    if name == "linear":
        return z
    if name in ("sigmoid", "tanh", "relu"):
        return g.op({"sigmoid": "Sigmoid", "tanh": "Tanh", "relu": "Relu"}[name], z)
    if name == "softmax":
        return g.op("Softmax", z, axis=1)
    if name == "silu":
        return g.op("Mul", z, g.op("Sigmoid", z))
    if name == "leaky_relu":
        return g.op("Max", z, g.op("Mul", z, g.const(f"{tag}_slope", p["negative_slope"])))
    one = g.const(f"{tag}_one", 1.0)
    if name == "gelu":
        half = g.const(f"{tag}_half", 0.5)
        if p["approximate"] == "tanh":
            k = g.const(f"{tag}_k", np.sqrt(2.0 / np.pi))
            c = g.const(f"{tag}_c", 0.044715)
            cube = g.op("Mul", c, g.op("Mul", z, g.op("Mul", z, z)))
            inner = g.op("Tanh", g.op("Mul", k, g.op("Add", z, cube)))
        else:  # float32 graph: Erf has no double kernel
            inner = g.op("Erf", g.op("Mul", z, g.const(f"{tag}_r2", 1.0 / np.sqrt(2.0))))
        return g.op("Mul", g.op("Mul", half, z), g.op("Add", one, inner))
    zero = g.const(f"{tag}_zero", 0.0)
    if name == "elu":
        neg = g.op("Sub", g.op("Exp", g.op("Min", z, zero)), one)
        return g.op(
            "Add", g.op("Max", z, zero), g.op("Mul", g.const(f"{tag}_alpha", p["alpha"]), neg)
        )
    if name == "softplus":
        # log(1 + e^{bz}) / b = (max(bz, 0) + log(1 + e^{-|bz|})) / b, and z above the threshold
        bz = g.op("Mul", z, g.const(f"{tag}_beta", p["beta"]))
        soft = g.op(
            "Add",
            g.op("Max", bz, zero),
            g.op("Log", g.op("Add", one, g.op("Exp", g.op("Neg", g.op("Abs", bz))))),
        )
        soft = g.op("Div", soft, f"{tag}_beta")
        above = g.op("Greater", bz, g.const(f"{tag}_threshold", p["threshold"]))
        return g.op("Where", above, z, soft)
    raise KeyError(name)


def onnx_model(snap: Snapshot) -> onnx.ModelProto:
    """The inference graph (see the module docstring)."""
    for layer in snap.layers:
        require(layer.activation, ACTIVATION_NAMES, layer.field, "onnx")
    needs_erf = any(
        la.activation == "gelu" and la.activation_params.get("approximate") != "tanh"
        for la in snap.layers
    )
    dtype = np.float32 if needs_erf else np.float64
    elem = TensorProto.FLOAT if needs_erf else TensorProto.DOUBLE
    g = _Graph(dtype)
    x = "x"
    for i, layer in enumerate(snap.layers, 1):
        u = g.op("Add", g.op("MatMul", x, g.const(f"W{i}", layer.W)), g.const(f"b{i}", layer.b))
        if layer.gamma is not None:
            u = g.op(
                "BatchNormalization",
                u,
                g.const(f"gamma{i}", layer.gamma),
                g.const(f"beta{i}", layer.beta),
                g.const(f"running_mean{i}", layer.running_mean),
                g.const(f"running_var{i}", layer.running_var),
                epsilon=1e-5,
            )
        x = _activation(g, layer.activation, layer.activation_params, u, f"act{i}")
    g.nodes.append(helper.make_node("Identity", [x], ["y"]))
    n_in, n_out = snap.layers[0].W.shape[0], snap.layers[-1].W.shape[1]
    graph = helper.make_graph(
        g.nodes,
        "backprop_playground",
        [helper.make_tensor_value_info("x", elem, ["N", n_in])],
        [helper.make_tensor_value_info("y", elem, ["N", n_out])],
        g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # opset 17's IR version: readable by older runtimes too
    model.producer_name = "backprop-playground"
    model.doc_string = (
        f"{snap.dataset}: {OUTPUT_MEANING[snap.task]} from inputs x (N, {n_in}), "
        f"after {snap.iteration} training steps; eval mode (running batch-norm statistics)."
    )
    helper.set_model_props(
        model,
        {
            "dtype": "float32" if needs_erf else "float64",
            "dtype_reason": "Erf (exact GELU) has no float64 kernel in onnxruntime"
            if needs_erf
            else "every operator runs in float64",
            "output": OUTPUT_MEANING[snap.task],
            "task": snap.task,
            "step": str(snap.iteration),
        },
    )
    onnx.checker.check_model(model)
    return model


def onnx_bytes(snap: Snapshot) -> bytes:
    return onnx_model(snap).SerializeToString()
