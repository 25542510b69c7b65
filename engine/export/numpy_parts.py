"""The formulas of the NumPy export: each activation, loss and optimizer as source text.

Each entry writes the engine's own formula (engine/activations.py, engine/losses.py,
engine/optim) for NumPy alone, with this session's constants filled in, so the generated file
reads as the page's formulas and computes the engine's numbers (to rounding: sigmoid here is
the two-sided ``exp(-|z|)`` form where the engine calls scipy's ``expit``, GELU's erf is
``math.erf``). A name missing here is refused by the generator (``snapshot.require``).

Activations are ``(forward, backward)`` templates over ``{z}`` (pre-activation), ``{a}`` (the
activation's own output f(z)) and ``{g}`` (dL/da); they give ``a`` and ``dL/dz``.
"""

from __future__ import annotations

from typing import Any


def activation(name: str, p: dict[str, Any]) -> tuple[str, str]:
    """(forward, backward) source templates for activation ``name`` with parameters ``p``."""
    if name == "linear":
        return "{z}", "{g}"
    if name == "sigmoid":
        return "sigmoid({z})", "{g} * {a} * (1.0 - {a})"
    if name == "tanh":
        return "np.tanh({z})", "{g} * (1.0 - {a} * {a})"
    if name == "relu":
        return "np.maximum({z}, 0.0)", "{g} * ({z} > 0.0)"
    if name == "leaky_relu":
        s = repr(p["negative_slope"])
        return f"np.maximum({{z}}, {s} * {{z}})", f"{{g}} * np.where({{z}} > 0.0, 1.0, {s})"
    if name == "elu":
        al = repr(p["alpha"])
        return (
            f"np.maximum({{z}}, 0.0) + {al} * np.expm1(np.minimum({{z}}, 0.0))",
            f"{{g}} * np.where({{z}} > 0.0, 1.0, {{a}} + {al})",
        )
    if name == "softplus":
        b, t = repr(p["beta"]), repr(p["threshold"])
        return (
            f"softplus({{z}}, {b}, {t})",
            f"{{g}} * np.where({b} * {{z}} > {t}, 1.0, sigmoid({b} * {{z}}))",
        )
    if name == "gelu":
        if p["approximate"] == "tanh":
            return "gelu_tanh({z})", "{g} * gelu_tanh_derivative({z})"
        return "gelu({z})", "{g} * gelu_derivative({z})"
    if name == "silu":
        return "{z} * sigmoid({z})", "{g} * sigmoid({z}) * (1.0 + {z} * (1.0 - sigmoid({z})))"
    if name == "softmax":
        return "softmax({z})", "{a} * ({g} - ({g} * {a}).sum(axis=1, keepdims=True))"
    raise KeyError(name)


ACTIVATION_NAMES = (
    "linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "softplus", "gelu", "silu",
    "softmax",
)  # fmt: skip

# helper functions a template above calls, written into the file only when used
HELPERS = {
    "sigmoid": '''\
def sigmoid(z):
    """1 / (1 + exp(-z)), computed from exp(-|z|) so that no exp overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0.0, 1.0 / (1.0 + e), e / (1.0 + e))
''',
    "softplus": '''\
def softplus(z, beta, threshold):
    """log(1 + exp(beta z)) / beta, and z itself where beta z > threshold (as torch)."""
    bz = beta * z
    return np.where(bz > threshold, z, np.logaddexp(0.0, bz) / beta)
''',
    "softmax": '''\
def softmax(z):
    """exp(z_k - max z) / sum_j exp(z_j - max z), per row."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)
''',
    "gelu": '''\
erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(z):
    """z Phi(z), Phi(z) = (1 + erf(z / sqrt 2)) / 2."""
    return 0.5 * z * (1.0 + erf(z / math.sqrt(2.0)))


def gelu_derivative(z):
    """Phi(z) + z phi(z), phi the standard normal density (z clipped where phi is 0 anyway)."""
    zc = np.clip(z, -40.0, 40.0)
    density = np.exp(-0.5 * zc * zc) / math.sqrt(2.0 * math.pi)
    return 0.5 * (1.0 + erf(z / math.sqrt(2.0))) + zc * density
''',
    "gelu_tanh": '''\
C = 0.044715
K = math.sqrt(2.0 / math.pi)


def gelu_tanh(z):
    """z (1 + tanh(u)) / 2, u = sqrt(2/pi) (z + 0.044715 z^3) (torch's approximate="tanh")."""
    zc = np.clip(z, -40.0, 40.0)
    return 0.5 * z * (1.0 + np.tanh(zc * (K + K * C * zc * zc)))


def gelu_tanh_derivative(z):
    """(1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2) / 2, t = tanh(u)."""
    zc = np.clip(z, -40.0, 40.0)
    t = np.tanh(zc * (K + K * C * zc * zc))
    return 0.5 * (1.0 + t) + 0.5 * zc * (1.0 - t * t) * (K + 3.0 * K * C * zc * zc)
''',
}


def helpers_for(name: str, p: dict[str, Any]) -> list[str]:
    """The helper names activation ``name``'s templates call."""
    if name in ("sigmoid", "silu", "softplus"):
        return ["sigmoid"] + (["softplus"] if name == "softplus" else [])
    if name == "gelu":
        return ["gelu_tanh" if p["approximate"] == "tanh" else "gelu"]
    return ["softmax"] if name == "softmax" else []


LOSS_NAMES = ("mse", "mae", "huber", "bce", "ce")


def loss(name: str, p: dict[str, Any]) -> str:
    """``loss_value(out, y)`` and ``loss_grad(out, y)`` (dL/dout) as source."""
    if name == "mse":
        value, grad = (
            "d = out - y\n    return float((d * d).sum()) / d.size",
            ("d = out - y\n    return d * (2.0 / d.size)"),
        )
        doc = "mean squared error: L = mean((out - y)^2), dL/dout = 2 (out - y) / n"
    elif name == "mae":
        value = "d = out - y\n    return float(np.abs(d).sum()) / d.size"
        grad = "return np.sign(out - y) * (1.0 / out.size)"
        doc = "mean absolute error: L = mean|out - y|, dL/dout = sign(out - y) / n"
    elif name == "huber":
        dl = repr(p["delta"])
        value = (
            f"ad = np.abs(out - y)\n    q = np.minimum(ad, {dl})\n"
            "    return float((q * (ad - 0.5 * q)).sum()) / ad.size"
        )
        grad = f"return np.clip(out - y, -{dl}, {dl}) * (1.0 / out.size)"
        doc = f"Huber loss (delta {dl}): d^2/2 if |d| < delta else delta (|d| - delta/2)"
    elif name == "bce":
        value = "return float((np.logaddexp(0.0, out) - out * y).sum()) / out.size"
        grad = "return (sigmoid(out) - y) * (1.0 / out.size)"
        doc = "binary cross-entropy on the logit z: log(1 + e^z) - y z, dL/dz = (sigmoid(z) - y)/n"
    elif name == "ce":
        value = (
            "s = out - out.max(axis=1, keepdims=True)\n    n = len(s)\n"
            "    lse = np.log(np.exp(s).sum(axis=1))\n"
            "    return float((lse - s[np.arange(n), y]).sum()) / n"
        )
        grad = "p = softmax(out)\n    n = len(p)\n    p[np.arange(n), y] -= 1.0\n    return p / n"
        doc = "cross-entropy on the logits z: logsumexp(z) - z[y], dL/dz = (softmax(z) - onehot)/N"
    else:
        raise KeyError(name)
    return (
        f'def loss_value(out, y):\n    """{doc}."""\n    {value}\n\n\n'
        f'def loss_grad(out, y):\n    """dL/dout, the shape of out."""\n    {grad}\n'
    )


def loss_helpers(name: str) -> list[str]:
    return {"bce": ["sigmoid"], "ce": ["softmax"]}.get(name, [])
