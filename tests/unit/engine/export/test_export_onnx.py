"""The ONNX export, run with onnxruntime, predicts what the engine predicts on the test rows:
to 1e-10 in float64, to 1e-5 in float32 (exact GELU: Erf has no double kernel)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from exporttools import CASES, rel_error, trained

from engine.export import export
from engine.export.onnx_graph import onnx_bytes, onnx_model
from engine.export.snapshot import ExportError, snapshot


def _run(data: bytes, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    kind = session.get_inputs()[0].type
    dtype = np.float64 if kind == "tensor(double)" else np.float32
    out: np.ndarray = session.run(None, {"x": x.astype(dtype)})[0]
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_onnx_predicts_what_the_engine_predicts(name: str) -> None:
    trainer = trained(name)
    data = export(trainer, "onnx")[2]
    meta = {p.key: p.value for p in onnx.load_from_string(data).metadata_props}
    x = trainer.data.x_test
    got, want = _run(data, x), trainer.net.predictions(x)
    assert got.shape == want.shape
    uses_erf = any(
        h["activation"] == "gelu" and h["activation_params"]["approximate"] == "none"
        for h in trainer.config["hidden"]
    )
    assert meta["dtype"] == ("float32" if uses_erf else "float64")
    assert rel_error([got], [want]) < (1e-5 if uses_erf else 1e-10)
    assert meta["task"] == trainer.data.task


def test_batch_norm_runs_in_eval_mode_with_the_running_statistics() -> None:
    trainer = trained("sgd-momentum-wd-bn-multi")
    model = onnx_model(snapshot(trainer))
    assert [n.op_type for n in model.graph.node].count("BatchNormalization") == 2
    # one row alone gives the same answer as within a batch: no batch statistics are used
    x = trainer.data.x_test
    one = _run(model.SerializeToString(), x[:1])
    assert rel_error([one], [_run(model.SerializeToString(), x)[:1]]) < 1e-12


def test_unknown_activation_is_refused_naming_the_field() -> None:
    snap = snapshot(trained("sgd-binary"))
    snap.layers[0].activation = "thresholded_relu"
    with pytest.raises(ExportError) as err:
        onnx_bytes(snap)
    assert err.value.field == "hidden.0.activation" and "thresholded_relu" in str(err.value)
