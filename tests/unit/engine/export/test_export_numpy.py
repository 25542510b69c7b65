"""The NumPy export continues a session: run in a subprocess with the project's interpreter,
its next 10 steps give the engine's losses and weights to a relative error of 1e-10."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from exporttools import (
    CASES,
    check_continues,
    engine_next,
    inert_biases,
    rel_error,
    run_files,
    trained,
)

from engine.export import export
from engine.export.numpy_code import numpy_source
from engine.export.snapshot import ExportError, snapshot
from engine.trainer import Trainer


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    folder = tmp_path_factory.mktemp("numpy_exports")
    paths = []
    for name in CASES:
        path = folder / f"{name}.py"
        path.write_bytes(export(trained(name), "numpy")[2])
        paths.append(path)
    return run_files(paths)


@pytest.mark.parametrize("name", list(CASES))
def test_numpy_export_continues_the_session(name: str, runs: dict[str, dict[str, Any]]) -> None:
    trainer = trained(name)
    inert = inert_biases(trainer)
    check_continues(runs[name], engine_next(trainer), inert, 1e-10)
    # the parameters moved: a file that ignored its update would fail above, not pass
    assert rel_error(engine_next(trained(name))["params"], trained(name).net.params) > 1e-6


def test_export_mid_iteration_restarts_the_iteration(tmp_path: Path) -> None:
    """Stopped between phases, the export runs the iteration the session is in, from its start."""
    trainer = trained("adam-amsgrad-bn-dropout-binary")
    for _ in range(4):  # into the forward pass (dropout has drawn from the RNG)
        trainer.step_phase()
    path = tmp_path / "mid.py"
    path.write_text(numpy_source(snapshot(trainer)))
    got = run_files([path])["mid"]
    # the started iteration, then 9 more
    check_continues(got, engine_next(trainer), inert_biases(trainer), 1e-10)


def test_comments_follow_the_language() -> None:
    trainer = trained("sgd-binary")
    ko = export(trainer, "numpy", lang="ko")[2].decode()
    en = export(trainer, "numpy", lang="en")[2].decode()
    assert "순전파" in ko and "순전파" not in en and "Forward pass" in en
    compile(ko, "ko.py", "exec")


def test_weights_round_trip_exactly() -> None:
    """Embedded numbers are the session's bit for bit: written with repr or as raw float64."""
    trainer = Trainer({**CASES["sgd-binary"], "hidden": [{"units": 40}, {"units": 30}]})
    namespace: dict[str, Any] = {"__name__": "exported"}
    exec(compile(numpy_source(snapshot(trainer)), "x.py", "exec"), namespace)
    for got, want in zip(namespace["current_parameters"](), trainer.net.params, strict=True):
        assert got.dtype == np.float64 and np.array_equal(got, want)
    assert np.array_equal(namespace["x_train"], trainer.data.x_train)


def test_unknown_component_is_refused_naming_the_field() -> None:
    snap = snapshot(trained("sgd-binary"))
    snap.layers[1].activation = "prelu"  # a name this generator was not written for
    with pytest.raises(ExportError) as err:
        numpy_source(snap)
    assert err.value.field == "hidden.1.activation" and "prelu" in str(err.value)
    snap = snapshot(trained("sgd-binary"))
    snap.optimizer = "lbfgs"
    with pytest.raises(ExportError) as err:
        numpy_source(snap)
    assert err.value.field == "optimizer.name"
