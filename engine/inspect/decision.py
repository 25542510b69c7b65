"""Decision surfaces: what the network outputs, and what each neuron computes, over the plane.

For 2-D data the raw input domain [x1min, x1max] × [x2min, x2max] is sampled on an R × R grid
(row r ↔ x2 from high to low, like an image; column c ↔ x1 from low to high), passed through
the dataset's feature map and standardisation, and evaluated in one vectorised eval-mode
forward pass. TensorFlow Playground draws 100 × 100 for the output and 10 × 10 per neuron.

Returned arrays are float64 NumPy arrays (callers encode them as images or lists); values are
clipped to finite numbers so nothing non-finite leaves the engine.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from engine.trainer import Trainer

Array = NDArray[np.float64]
MAX_RESOLUTION = 400


def grid_points(domain: tuple[float, float, float, float], resolution: int) -> Array:
    """Raw points (R·R, 2), row-major with x2 descending (image order)."""
    x1min, x1max, x2min, x2max = domain
    x1 = np.linspace(x1min, x1max, resolution)
    x2 = np.linspace(x2max, x2min, resolution)
    g1, g2 = np.meshgrid(x1, x2)
    return np.column_stack([g1.ravel(), g2.ravel()])


def _check_resolution(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 2 <= value <= MAX_RESOLUTION:
        raise ValueError(
            f"{name}: invalid {name} {value!r}: must be an integer 2..{MAX_RESOLUTION}"
        )
    return value


def decision_surface(
    trainer: Trainer, resolution: int = 100, neuron_resolution: int = 10
) -> dict[str, Any] | None:
    """Output over the plane (R, R) — P(class 1), class probabilities (R, R, K) or values —
    and every neuron's activation (r, r) per layer; None when the data is not 2-D."""
    data = trainer.data
    if data.domain is None:
        return None
    resolution = _check_resolution("resolution", resolution)
    neuron_resolution = _check_resolution("neuron_resolution", neuron_resolution)
    net = trainer.net
    out = net.evaluate(data.transform(grid_points(data.domain, resolution)))[-1][1]
    out = np.nan_to_num(out, nan=0.0, posinf=1e300, neginf=-1e300)
    shape = (resolution, resolution) + ((-1,) if data.task == "multiclass" else ())
    output: Array = (out if data.task == "multiclass" else out[:, 0]).reshape(shape)
    small = data.transform(grid_points(data.domain, neuron_resolution))
    neurons = []
    for _, a in net.evaluate(small):
        a = np.nan_to_num(a, nan=0.0, posinf=1e300, neginf=-1e300)
        neurons.append(a.T.reshape(-1, neuron_resolution, neuron_resolution))
    # the input features themselves, as Playground draws them on the input nodes
    features = small.T.reshape(-1, neuron_resolution, neuron_resolution)
    return {
        "task": data.task,
        "domain": list(data.domain),
        "resolution": resolution,
        "neuron_resolution": neuron_resolution,
        "output": output,
        "neurons": neurons,
        "features": features,
    }
