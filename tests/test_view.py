"""The page's picture of a session (app/render/view.py) and when its heatmaps are redrawn."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from app.render import charts, regions, view
from engine.trainer import Trainer
from tests.conftest import small_config


class FakeSession:
    """What ``view.gather`` reads of a session: its lock, generation and public view."""

    def __init__(self, trainer: Trainer, status: str = "paused") -> None:
        self.lock = threading.Lock()
        self.generation = 0
        self.status = status
        self.trainer = trainer

    def public(self) -> dict[str, Any]:
        t = self.trainer
        return {
            "id": "s1",
            "generation": self.generation,
            "status": self.status,
            "step": t.iteration,
            "config": t.config,
        }


class Manager:
    def __init__(self) -> None:
        self.loads = 0

    def load(self, session: FakeSession, pushed_ok: bool = False) -> Trainer:
        self.loads += 1
        return session.trainer


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts decision-surface computations (engine.inspect.decision, as app/render/view.py
    calls it)."""
    calls: list[int] = []
    real = view.decision_surface

    def counting(trainer: Trainer, *args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(trainer, *args, **kw)

    monkeypatch.setattr(view, "decision_surface", counting)
    return calls


def test_surface_only_when_images_are_redrawn(counted: list[int]) -> None:
    session, manager = FakeSession(Trainer(small_config()), "running"), Manager()
    st = regions.PageState()
    first = view.gather(session, manager, st.data_key, want_images=False)
    assert first.plane and first.images and first.surface is not None, "new data: pictures"
    out = regions.live_regions(first, st, "s1")
    assert len(counted) == 1 and st.image_no == 1
    assert 'id="decision"' in out["output"] and "sprite.png?v=1" in out["network"]

    session.trainer.step(1)
    pic = view.gather(session, manager, st.data_key, want_images=False)
    assert pic.plane and not pic.images and pic.surface is None
    assert len(counted) == 1, "the decision surface was computed for a frame without images"
    out = regions.live_regions(pic, st, "s1")
    assert st.image_no == 1  # the last pictures stay
    assert "decision.png?v=1" in out["output"] and "sprite.png?v=1" in out["network"]

    pic = view.gather(session, manager, st.data_key, want_images=True)
    assert pic.images and pic.surface is not None and len(counted) == 2
    out = regions.live_regions(pic, st, "s1")
    assert st.image_no == 2 and "decision.png?v=2" in out["output"]


def test_images_due_while_running_at_most_every_image_seconds() -> None:
    st = regions.PageState()
    assert regions.images_due(st, "running")
    st.image_at = time.monotonic()
    assert not regions.images_due(st, "running")
    assert regions.images_due(st, "paused"), "a paused session always gets fresh pictures"
    st.image_at -= regions.IMAGE_SECONDS
    assert regions.images_due(st, "running")


def test_data_without_a_plane_has_no_surface(counted: list[int]) -> None:
    config = small_config(dataset={"name": "diabetes"}, hidden=[{"units": 3}])
    session = FakeSession(Trainer(config))
    pic = view.gather(session, Manager(), None, want_images=True)
    assert not pic.plane and pic.surface is None and not counted
    out = regions.live_regions(pic, regions.PageState(), "s1")
    assert 'id="decision"' not in out["output"]


def test_test_set_predictions_only_with_the_pictures() -> None:
    """Data without a plane (regression here): the predicted-vs-true picture costs a forward
    pass over the test set, so it is computed and sent with the heatmaps, not every frame."""
    config = small_config(dataset={"name": "diabetes"}, hidden=[{"units": 3}])
    session = FakeSession(Trainer(config))
    pic = view.gather(session, Manager(), None, want_images=False)
    assert pic.pred is None
    assert "output" not in regions.live_regions(pic, regions.PageState(), "s1")
    pic = view.gather(session, Manager(), None, want_images=True)
    assert pic.pred is not None
    assert "<svg" in regions.live_regions(pic, regions.PageState(), "s1")["output"]


def test_phase_words_have_korean_beside_them() -> None:
    """Every phase the stepper names (just ran, next, the order list) has Korean words, and
    the live phase region shows them next to the English."""
    t = Trainer(small_config())
    session = FakeSession(t)
    pic = view.gather(session, Manager(), None)
    assert view.phase_words(pic.snap) == ("ready", "forward · layer 1")
    assert view.phase_ko("ready") == "준비"
    assert view.phase_ko("forward · layer 1") == "순전파 · 은닉층 1"
    assert view.phase_ko("backward · output layer") == "역전파 · 출력층"
    assert all(view.phase_ko(s["name"]) for s in regions.phase_order(pic.snap))
    for _ in range(len(pic.snap["layers"]) + 1):  # forward through every layer, then the loss
        t.step_phase()
    pic = view.gather(session, Manager(), None)
    out = regions.live_regions(pic, regions.PageState(), "s1")["phase"]
    assert ">loss</strong>" in out and ">손실</span>" in out
    assert "backward · output layer" in out and "역전파 · 출력층" in out


def test_points_stand_out_where_the_network_is_sure() -> None:
    """A trained network's surface at full strength is the points' own colour: it is washed
    toward white so that the points drawn on it stay visible."""
    import io

    from PIL import Image

    from app.render.images import decision_png
    from app.render.palette import class_colour

    for p, k in ((1.0, 1), (0.0, 0)):
        surface = {"output": np.full((4, 4), p), "task": "binary"}
        pixel = Image.open(io.BytesIO(decision_png(surface, discrete=False))).getpixel((1, 1))
        point = bytes.fromhex(class_colour(k)[1:])
        distance = sum((a - b) ** 2 for a, b in zip(pixel, point, strict=True)) ** 0.5
        assert distance > 60, (pixel, class_colour(k))
        assert sum(pixel) > sum(point)  # lighter, the same hue


def test_no_accuracy_chart_for_regression() -> None:
    curves = charts.Curves()
    curves.add({"step": 5, "metrics": {"train": {"loss": 0.5}}})  # regression: no accuracy
    loss, acc = view.curves_svg(curves, view.UiState())
    assert "polyline" in loss or "circle" in loss
    assert acc == ""
    curves.add({"step": 9, "metrics": {"train": {"loss": 0.4, "accuracy": 0.8}}})
    assert view.curves_svg(curves, view.UiState())[1].startswith('<svg id="acc-chart"')


def test_a_flat_1d_curve_at_a_huge_loss_draws() -> None:
    """A diverged run's losses near 1e100: lo ± 0.5 is lo again, and the y scale divided by 0."""
    from app.render.surface import surface_1d

    svg = surface_1d(
        {
            "alphas": [-1.0, 0.0, 1.0],
            "losses": [1e100, 1e100, 1e100],
            "current": {"loss": 1e100, "slope": 0.0},
            "directions": "weights",
        }
    )
    assert svg.startswith('<svg id="surface-1d"') and "nan" not in svg.lower()
