"""The PyTorch export continues a session: run with torch (CPU, float64) in one subprocess, its
next 10 steps give the engine's losses and weights to a relative error of 1e-8, starting from
the optimizer state it was given (torch's own optimizer classes and ``load_state_dict``)."""

from __future__ import annotations

from typing import Any

import pytest
from exporttools import (
    CASES,
    check_continues,
    engine_next,
    inert_biases,
    run_files,
    trained,
)

from engine.export import export
from engine.export.pytorch_code import pytorch_source
from engine.export.snapshot import ExportError, snapshot
from engine.trainer import Trainer

pytestmark = pytest.mark.slow  # one torch import, about 2 s


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("torch_exports")
    paths = []
    for name in CASES:
        path = folder / f"{name}.py"
        path.write_bytes(export(trained(name), "pytorch")[2])
        paths.append(path)
    # the same session before any step: torch starts its own optimizer state
    fresh = folder / "fresh.py"
    fresh.write_text(pytorch_source(snapshot(trained_fresh())))
    return run_files([*paths, fresh])


def trained_fresh() -> Trainer:
    return Trainer(CASES["adam-amsgrad-bn-dropout-binary"])


@pytest.mark.parametrize("name", list(CASES))
def test_pytorch_export_continues_the_session(name: str, runs: dict[str, dict[str, Any]]) -> None:
    trainer = trained(name)
    inert = inert_biases(trainer)
    check_continues(runs[name], engine_next(trainer), inert, 1e-8)


def test_pytorch_export_of_a_new_session(runs: dict[str, dict[str, Any]]) -> None:
    trainer = trained_fresh()
    check_continues(runs["fresh"], engine_next(trainer), inert_biases(trainer), 1e-8)


def test_optimizer_state_is_what_continues() -> None:
    """The file loads the state: without it (a fresh Adam), the steps differ."""
    text = export(trained("adam-amsgrad-bn-dropout-binary"), "pytorch")[2].decode()
    assert "optimizer.load_state_dict(saved)" in text
    assert '"exp_avg":' in text and '"max_exp_avg_sq":' in text and '"step": 7.0' in text
    assert "nn.BatchNorm1d(5)" in text and "SameMaskDropout(0.2)" in text
    assert "nn.BCEWithLogitsLoss()" in text and "torch.optim.Adam(" in text


def test_unknown_loss_is_refused_naming_the_field() -> None:
    snap = snapshot(trained("sgd-binary"))
    snap.loss = "rmse"
    with pytest.raises(ExportError) as err:
        pytorch_source(snap)
    assert err.value.field == "loss.name" and "rmse" in str(err.value)
