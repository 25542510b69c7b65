"""Decision surfaces over the input plane."""

from __future__ import annotations

import numpy as np
import pytest

from engine.inspect.decision import decision_surface, grid_points
from engine.trainer import Trainer
from tests.conftest import small_config


def test_output_grid_matches_pointwise_predictions() -> None:
    t = Trainer(
        small_config(
            dataset={"name": "xor", "n_samples": 80, "seed": 1, "features": ["x1", "x2", "x1*x2"]}
        )
    )
    t.step(50)
    s = decision_surface(t, resolution=9, neuron_resolution=4)
    assert s is not None and s["output"].shape == (9, 9)
    raw = grid_points(t.data.domain, 9)
    # row 0 is the top edge (largest x2), column 0 the left edge (smallest x1)
    assert raw[0, 1] == t.data.domain[3] and raw[0, 0] == t.data.domain[0]
    expected = t.net.predictions(t.data.transform(raw))[:, 0].reshape(9, 9)
    assert np.allclose(s["output"], expected)
    assert [n.shape for n in s["neurons"]] == [(4, 4, 4), (3, 4, 4), (1, 4, 4)]
    assert s["features"].shape == (3, 4, 4)


def test_multiclass_surface_has_class_probabilities() -> None:
    t = Trainer(small_config(dataset={"name": "blobs", "n_samples": 90, "n_classes": 3, "seed": 0}))
    s = decision_surface(t, resolution=5)
    assert s is not None and s["output"].shape == (5, 5, 3)
    assert np.allclose(s["output"].sum(axis=2), 1.0)


def test_not_2d_gives_none_and_bad_resolution_raises() -> None:
    assert decision_surface(Trainer(small_config(dataset={"name": "diabetes"}))) is None
    t = Trainer(small_config())
    with pytest.raises(ValueError, match="resolution"):
        decision_surface(t, resolution=0)
