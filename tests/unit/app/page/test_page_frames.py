"""Page frames (app/page/frames.py): made where the trainer is, small whatever the net's size,
drawn the same as from the trainer itself; their heatmaps only when asked for; and the feed
(app/page/feed.py) that renders them once per session."""

from __future__ import annotations

import pickle
import re
import threading
import time
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from app.page import feed as page_feed
from app.page import frames, i18n, regions, words
from app.page.draw import charts, network, views
from app.streaming.page_sse import data_lines
from engine.inspect import readouts
from engine.trainer import Trainer
from tests.conftest import small_config


class FakeSession:
    """What the feed reads of a session: its lock, trainer, hub, config and public view."""

    def __init__(self, trainer: Trainer, status: str = "paused") -> None:
        self.id = "s1"
        self.lock = threading.Lock()
        self.generation = 0
        self.status = status
        self.trainer = trainer
        self.remote = None
        self.page = None
        self.hub = SimpleNamespace(
            last_seq=0, rewinds=0, read_ring=lambda cursor, n: [], wake=lambda: None
        )

    @property
    def config(self) -> dict[str, Any]:
        return self.trainer.config

    written: str | None = None  # the status as last written (None: what is in memory)

    @property
    def shown(self) -> tuple[Any, ...]:
        """(status, reason, counters, config) as last written."""
        return (self.written or self.status, None, {}, self.config)

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
    """Loads the fake session's trainer; a store with no history."""

    def __init__(self) -> None:
        self.loads = 0
        self.store = SimpleNamespace(
            history=lambda *a: [], metrics_between=lambda *a: []
        )

    def load(self, session: FakeSession) -> Trainer:
        self.loads += 1
        return session.trainer


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts decision-surface computations (engine.inspect.decision, as app/page/frames.py
    calls it)."""
    calls: list[int] = []
    real = frames.decision_surface

    def counting(trainer: Trainer, *args: Any, **kw: Any) -> Any:
        calls.append(1)
        return real(trainer, *args, **kw)

    monkeypatch.setattr(frames, "decision_surface", counting)
    return calls


def shown(feed: page_feed.PageFeed) -> dict[str, str]:
    return feed.html()


@pytest.mark.parametrize("view_name", network.VIEWS)
@pytest.mark.parametrize(
    "config",
    [
        small_config(optimizer={"name": "adam", "lr": 0.01}),
        small_config(
            dataset={"name": "digits"},
            hidden=[{"units": 32}, {"units": 16}],
            optimizer={"name": "sgd", "lr": 0.1, "momentum": 0.9},
        ),
    ],
    ids=["circle", "digits"],
)
def test_a_frame_draws_the_network_as_the_whole_snapshot_does(
    config: dict[str, Any], view_name: str
) -> None:
    """A frame keeps only the units the drawing shows (and the largest magnitudes over all of
    them): the markup is the one the whole snapshot gives, in every view, pending layers
    included, and a frame of a 2,600-weight net stays a few kB."""
    t = Trainer(config)
    t.step(3)
    for _ in range(2):  # forward through the first layer: later layers pending
        t.step_phase()
    snap = readouts.snapshot(t, frozenset({"gradients", "updates", "probe", "optimizer"}))
    names, inputs, classes = frames.labels(t.data)
    look = frames.Look(view=view_name, view_marker=frames.phase_marker(snap, 0))
    frame = frames.build(t, 0, look, pictures=False)
    shown_view = view_name if view_name in views.available(t.config["optimizer"]) else "weights"
    whole = network.draw(
        network.prepare(
            snap, names, shown_view, snap["probe"],
            frames.computed_layers(snap, shown_view), inputs, classes,
        ),
        "/s.png", 16,
    )  # fmt: skip
    assert network.draw(frame.drawing, "/s.png", 16) == whole
    assert len(frame.encode()) < 6000
    assert pickle.loads(frame.encode()).drawing == frame.drawing


def test_pictures_only_when_asked(counted: list[int]) -> None:
    t = Trainer(small_config())
    frame = frames.build(t, 0, frames.Look(), pictures=False)
    assert frame.plane and frame.images is None and not counted
    frame = frames.build(t, 0, frames.Look(), pictures=True)
    assert frame.images is not None and set(frame.images) == {"decision", "sprite"}
    assert len(counted) == 1
    assert frame.images["decision"].startswith(b"\x89PNG")


def test_the_feed_keeps_the_last_pictures_between_frames(counted: list[int]) -> None:
    session, manager = FakeSession(Trainer(small_config()), "running"), Manager()
    feed = page_feed.PageFeed("s1")
    data = session.trainer.data
    feed.show(frames.build(session.trainer, 0, feed.look(), True), session, manager.store, data)
    out = shown(feed)
    assert feed.image_no == 1
    assert 'id="decision"' in out["output"] and "sprite.png?v=1" in out["network"]
    session.trainer.step(1)
    seen = feed.version
    feed.show(frames.build(session.trainer, 0, feed.look(), False), session, manager.store, data)
    version, changed = feed.since(seen)
    names = [name for name, _ in changed]
    assert "network" in names and "output" not in names  # the old pictures stay
    network_data = dict(changed)["network"]
    assert feed.image_no == 1 and b"sprite.png?v=1" in network_data
    assert network_data == data_lines(shown(feed)["network"])  # encoded once, for the stream
    assert version > seen and feed.since(version) == (version, [])


def test_pictures_due_while_running_at_most_every_image_seconds() -> None:
    feed = page_feed.PageFeed("s1")
    assert feed.pictures_due(running=True)
    feed.image_at = time.monotonic()
    assert not feed.pictures_due(running=True)
    assert feed.pictures_due(running=False), "a paused session always gets fresh pictures"
    feed.image_at -= page_feed.IMAGE_SECONDS
    assert feed.pictures_due(running=True)


def test_a_local_session_is_drawn_again_only_when_something_changed(counted: list[int]) -> None:
    session, manager = FakeSession(Trainer(small_config())), Manager()
    feed = page_feed.feed_of(session)
    assert feed.refresh_local(session, manager) and len(counted) == 1
    version = feed.version
    assert feed.refresh_local(session, manager)
    assert feed.version == version and len(counted) == 1  # nothing new: nothing drawn
    session.trainer.step(2)
    session.hub.last_seq = 2
    feed.refresh_local(session, manager)
    assert feed.version > version and len(counted) == 2
    session.remote = object()  # trained in a worker: its frames come from there
    assert not feed.refresh_local(session, manager)


def test_a_run_end_is_drawn_again_once_it_is_written(counted: list[int]) -> None:
    """A run ends: its status is set in memory, then written. A redraw in between draws what
    the page may say (the written status: running); the write must bring another redraw, or
    the page keeps "running" over a diverged run (it did, at a paced speed)."""
    session, manager = FakeSession(Trainer(small_config()), "running"), Manager()
    feed = page_feed.feed_of(session)
    feed.refresh_local(session, manager)
    session.status, session.written = "diverged", "running"  # ended; not written yet
    session.public = lambda: {**FakeSession.public(session), "status": session.written}
    feed.refresh_local(session, manager)
    assert 'data-status="running"' in shown(feed)["status"]
    session.written = None  # written: public() now says diverged
    del session.public
    session.hub.wake()
    feed.refresh_local(session, manager)
    assert 'data-status="diverged"' in shown(feed)["status"]


def test_data_without_a_plane_has_no_surface(counted: list[int]) -> None:
    config = small_config(dataset={"name": "diabetes"}, hidden=[{"units": 3}])
    session = FakeSession(Trainer(config))
    frame = frames.build(session.trainer, 0, frames.Look(), pictures=True)
    assert not frame.plane and not counted
    feed = page_feed.PageFeed("s1")
    feed.show(frame, session, Manager().store, session.trainer.data)
    assert 'id="decision"' not in shown(feed)["output"] and "<svg" in shown(feed)["output"]


def test_test_set_predictions_only_with_the_pictures() -> None:
    """Data without a plane (regression here): the predicted-vs-true picture costs a forward
    pass over the test set, so it is computed and sent with the heatmaps, not every frame."""
    config = small_config(dataset={"name": "diabetes"}, hidden=[{"units": 3}])
    t = Trainer(config)
    assert frames.build(t, 0, frames.Look(), pictures=False).pred is None
    pred, true = frames.build(t, 0, frames.Look(), pictures=True).pred
    assert len(pred) == len(true) == t.data.x_test.shape[0]


def test_phase_words_are_said_in_the_pages_language() -> None:
    """Every phase the stepper names (just ran, next, the order list) has its Korean words, and
    the live phase region shows the one language of the page watching it."""
    t = Trainer(small_config())
    session = FakeSession(t)
    frame = frames.build(t, 0, frames.Look(), pictures=False)
    assert words.phase_words(frame.snap) == ("ready", "forward · layer 1")
    with i18n.using("ko"):
        assert words.phase_text("ready") == "준비"
        assert words.phase_text("forward · layer 1") == "순전파 · 은닉층 1"
        assert words.phase_text("backward · output layer") == "역전파 · 출력층"
        order = [words.phase_text(s["name"]) for s in regions.phase_order(frame.snap)]
    assert all(o and not re.search("[a-z]{3}", o) for o in order)  # Korean, no English word
    assert words.phase_text("backward · output layer") == "backward · output layer"
    for _ in range(frame.snap["n_layers"] + 1):  # forward through every layer, then the loss
        t.step_phase()
    feed = page_feed.PageFeed("s1")
    feed.watch("ko", +1)  # a Korean page watches: the frames are rendered in Korean only
    feed.show(frames.build(t, 0, feed.look(), False), session, Manager().store, t.data)
    out = feed.html("ko")["phase"]
    assert ">손실</strong>" in out and "역전파 · 출력층" in out
    text = re.sub(r"<[^>]+>", " ", out)  # what the page shows (data-phase keeps the English)
    assert "loss" not in text and "backward" not in text
    assert feed.view("en").published[1] == {}  # nobody watches in English: nothing drawn
    english = feed.html("en")["phase"]  # asked for: brought up to the last frame
    assert ">loss</strong>" in english and "backward · output" in english
    assert "역전파" not in english


def test_points_stand_out_where_the_network_is_sure() -> None:
    """A trained network's surface at full strength is the points' own colour: it is washed
    toward white so that the points drawn on it stay visible."""
    import io

    from PIL import Image

    from app.page.draw.images import decision_png
    from app.page.draw.palette import class_colour

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
    loss, acc = charts.curves_svg(curves, False)
    assert "polyline" in loss or "circle" in loss
    assert acc == ""
    curves.add({"step": 9, "metrics": {"train": {"loss": 0.4, "accuracy": 0.8}}})
    assert charts.curves_svg(curves, False)[1].startswith('<svg id="acc-chart"')


def test_a_flat_1d_curve_at_a_huge_loss_draws() -> None:
    """A diverged run's losses near 1e100: lo ± 0.5 is lo again, and the y scale divided by 0."""
    from app.page.draw.loss_surface import surface_1d

    svg = surface_1d(
        {
            "alphas": [-1.0, 0.0, 1.0],
            "losses": [1e100, 1e100, 1e100],
            "current": {"loss": 1e100, "slope": 0.0},
            "directions": "weights",
        }
    )
    assert svg.startswith('<svg id="surface-1d"') and "nan" not in svg.lower()


def test_a_workers_late_frame_never_replaces_a_newer_one() -> None:
    """A run's last frame can reach the render thread after the page drew the session here
    (a step by hand, a reset): it is dropped rather than drawn over the newer picture; every
    frame taken, drawn or dropped, is given back to the worker (messages.Drawn) once."""
    t = Trainer(small_config())
    session, store = FakeSession(t), Manager().store
    feed = page_feed.PageFeed("s1")
    given: list[str] = []
    old = frames.build(t, 0, feed.look(), False)
    t.step(3)
    feed.show(frames.build(t, 0, feed.look(), False), session, store, t.data)
    # as a worker sends it
    feed.pending = (pickle.dumps(old), session, store, t.data, [(given.extend, "a")])
    feed.render_pending()
    assert feed.frame is not None and feed.frame.step == 3
    session.generation = 1  # reset: the old generation's frames are stale too
    stale = pickle.dumps(frames.build(t, 0, feed.look(), False))
    feed.pending = (stale, session, store, t.data, [(given.extend, "b")])
    version = feed.version
    feed.render_pending()
    assert feed.version == version
    t.step(1)
    fresh = pickle.dumps(frames.build(t, 1, feed.look(), False))
    feed.pending = (fresh, session, store, t.data, [(given.extend, "c")])
    feed.render_pending()
    assert feed.frame.step == 4 and feed.frame.generation == 1
    # told by the render thread, soon
    deadline = time.monotonic() + 10
    while len(given) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sorted(given) == ["a", "b", "c"]


def test_a_replaced_frame_is_told_with_the_frame_that_replaced_it() -> None:
    """A session waiting its turn holds its worker's page frames back: a frame replaced before
    the render thread got to it is told taken only when its replacement is (one message)."""
    t = Trainer(small_config())
    session, store = FakeSession(t), Manager().store
    feed = page_feed.PageFeed("s1")
    told: list[list[str]] = []
    first = pickle.dumps(frames.build(t, 0, feed.look(), False))
    feed.pending = (first, session, store, t.data, [(told.append, "first")])  # not drawn yet
    t.step(1)
    feed.offer(pickle.dumps(frames.build(t, 0, feed.look(), False)), session, store, t.data,
               (told.append, "second"))  # fmt: skip
    deadline = time.monotonic() + 10
    while not told and time.monotonic() < deadline:
        time.sleep(0.01)
    assert told == [["first", "second"]]
    assert feed.frame is not None and feed.frame.step == 1  # the replacement was drawn
