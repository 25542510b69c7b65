"""GET /api/sessions/{id}/export?format=…: the session as a JSON document (the default), a
NumPy file, a PyTorch file or an ONNX graph, through the real app; unknown formats and
languages are 422s naming the field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from apptools import FAST, ApiClient, make_settings
from exporttools import STEPS, rel_error, run_files

from engine.trainer import Trainer


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path_factory.mktemp("export")))
    yield client
    client.close()


@pytest.fixture(scope="module")
def session(api: ApiClient) -> tuple[str, dict[str, str]]:
    config = {**FAST, "optimizer": {"name": "adam", "lr": 0.01}, "dropout": 0.1}
    sid, auth = api.create(config=config)
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 13}, headers=auth).is_success
    return sid, auth


def _continued(api: ApiClient, sid: str, auth: dict[str, str]) -> Trainer:
    """The session's own trainer, restored from its JSON export (bit-identical)."""
    document = api.get(f"/api/sessions/{sid}/export", headers=auth).json()
    assert document["format"] == "backprop-playground/session-1"
    return Trainer.restore(document["checkpoint"])


def test_numpy_file_continues_the_session(
    api: ApiClient, session: tuple[str, dict[str, str]], tmp_path: Path
) -> None:
    sid, auth = session
    r = api.get(f"/api/sessions/{sid}/export?format=numpy", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/x-python")
    disposition = r.headers["content-disposition"]
    assert disposition.startswith("attachment;") and disposition.endswith('_numpy.py"')
    path = tmp_path / "exported.py"
    path.write_bytes(r.content)
    got = run_files([path])["exported"]
    trainer = _continued(api, sid, auth)
    assert trainer.iteration == 13
    want = [rec["loss"] for rec in trainer.step(STEPS)]
    assert rel_error([got["losses"]], [want]) < 1e-10
    assert rel_error(got["params"], trainer.net.params) < 1e-10


def test_pytorch_file_in_korean(api: ApiClient, session: tuple[str, dict[str, str]]) -> None:
    sid, auth = session
    r = api.get(f"/api/sessions/{sid}/export?format=pytorch&lang=ko", headers=auth)
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('_torch.py"')
    text = r.text
    assert "torch.optim.Adam(" in text and "SameMaskDropout(0.1)" in text and "학습" in text
    compile(text, "exported.py", "exec")


def test_onnx_graph_predicts_the_session(
    api: ApiClient, session: tuple[str, dict[str, str]]
) -> None:
    sid, auth = session
    r = api.get(f"/api/sessions/{sid}/export?format=onnx", headers=auth)
    assert r.status_code == 200 and r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].endswith('.onnx"')
    trainer = _continued(api, sid, auth)
    x = trainer.data.x_test
    runtime = ort.InferenceSession(r.content, providers=["CPUExecutionProvider"])
    got = runtime.run(None, {"x": x.astype(np.float64)})[0]
    assert rel_error([got], [trainer.net.predictions(x)]) < 1e-10


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("format=keras", "format", ["'keras'", "numpy", "pytorch", "onnx", "json"]),
        ("format=numpy&lang=fr", "lang", ["'fr'", "en", "ko"]),
    ],
)
def test_bad_requests_name_the_field(
    api: ApiClient, session: tuple[str, dict[str, str]], query: str, field: str, words: list[str]
) -> None:
    sid, auth = session
    r = api.get(f"/api/sessions/{sid}/export?{query}", headers=auth)
    assert r.status_code == 422 and r.json()["field"] == field
    assert all(w in r.json()["detail"] for w in words)


def test_another_owner_gets_404(api: ApiClient, session: tuple[str, dict[str, str]]) -> None:
    sid, _ = session
    _, other = api.create()
    assert api.get(f"/api/sessions/{sid}/export?format=numpy", headers=other).status_code == 404


@pytest.mark.parametrize(
    ("changes", "field", "formats"),
    [
        ({"hidden": [{"units": 3, "activation": "prelu"}]}, "hidden.0.activation",
         ("numpy", "pytorch", "onnx")),
        ({"hidden": [{"units": 3, "activation": "thresholded_relu"}]}, "hidden.0.activation",
         ("numpy", "pytorch", "onnx")),
        ({"loss": {"name": "rmse"}, "output_activation": "sigmoid"}, "loss.name",
         ("numpy", "pytorch")),
        ({"optimizer": {"name": "lbfgs"}}, "optimizer.name", ("numpy", "pytorch")),
    ],
)
def test_a_part_a_format_does_not_write_is_refused_by_field(
    api: ApiClient, changes: dict, field: str, formats: tuple[str, ...]
) -> None:
    """The engine's newer parts the code exports do not write yet: a 422 naming the config
    field and what the format writes, never a wrong file."""
    sid, h = api.create({**FAST, **changes})
    for fmt in formats:
        r = api.get(f"/api/sessions/{sid}/export?format={fmt}", headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, (fmt, r.text)
        assert f"the {fmt} export does not know" in r.json()["detail"]
