"""The explain regions (app/page/explain_view.py): frames carry the engine's numbers for the
page's selected weight, the fragments write each number under its REST key with its full value,
nothing non-finite reaches the page, and frames stay small."""

from __future__ import annotations

import pickle
import re

import pytest
from test_page_frames import FakeSession, Manager

from app.page import explain_view, frames
from app.page import feed as page_feed
from app.sessions.presets import preset_config
from engine.inspect.chain import chain
from engine.inspect.phase_numbers import phase_numbers
from engine.trainer import Trainer
from tests.conftest import small_config

NUMBER_TAG = re.compile(r'data-n="([^"]+)" data-value="([^"]*)"')


def at_path(body: dict, key: str) -> object:
    node: object = body
    for part in key.split("."):
        node = node[int(part)] if isinstance(node, list) else node[part]  # type: ignore[index]
    return node


def written(html: str) -> dict[str, float | None]:
    return {k: (float(v) if v else None) for k, v in NUMBER_TAG.findall(html)}


def stepped(t: Trainer, phases: int) -> Trainer:
    for _ in range(phases):
        t.step_phase()
    return t


@pytest.mark.parametrize("phases", range(0, 14))
def test_every_number_written_is_the_engines(phases: int) -> None:
    t = stepped(Trainer(small_config(optimizer={"name": "adam", "lr": 0.01})), phases)
    edge = (0, 1, 0)
    frame = frames.build(t, 0, frames.Look(edge=edge), False)
    ex = frame.extras["explain"]
    assert ex["chain"] == chain(t, *edge)
    assert ex["phase_numbers"] == phase_numbers(t, *edge)
    panel = explain_view.phase_panel(ex, frame.snap)
    rule = explain_view.chain_rule(ex)
    for html, body in ((panel, ex["phase_numbers"]), (rule, ex["chain"])):
        numbers = written(html)
        assert numbers
        for key, value in numbers.items():
            assert value == at_path(body, key), key
        assert "nan" not in html.lower().replace("nanum", "")
    stage = explain_view.stage_of(frame.snap)[0]
    assert f'data-stage="{stage}"' in panel
    assert "<math" in panel and "<math" in rule


def test_a_former_nets_edge_falls_back_to_the_output_weight() -> None:
    t = Trainer(small_config())
    frame = frames.build(t, 0, frames.Look(edge=(7, 40, 40)), False)
    c = frame.extras["explain"]["chain"]
    assert (c["layer"], c["i"], c["j"]) == (len(t.net.layers) - 1, 0, 0)


def test_the_feed_renders_the_explain_regions_and_the_probe_ring() -> None:
    t = Trainer(small_config())
    t.step(2)
    session = FakeSession(t)
    feed = page_feed.feed_of(session)
    feed.refresh_local(session, Manager())
    html = feed.html()
    assert {"phase-panel", "chain-rule", "probe-mark"} <= set(html)
    index = t.config["probe"] % t.n_train
    assert f'data-index="{index}"' in html["probe-mark"]
    assert "probe-ring" in html["probe-mark"]  # 2-D data: the ring is drawn
    # a new probe moves the ring; the points are not drawn again
    before = dict(feed.published[1])
    t.config["probe"] = index + 1
    feed.refresh_local(session, Manager())
    after = feed.published[1]
    assert f'data-index="{index + 1}"' in after["probe-mark"][1]
    assert after["points"][0] == before["points"][0]


def test_a_running_sessions_panels_are_redrawn_five_times_a_second_at_most() -> None:
    """While a run streams, frames come 30 a second; the explain panels (the dearest regions)
    take one in EXPLAIN_SECONDS. Paused, every frame that changes them draws them."""
    t = Trainer(small_config())
    feed = page_feed.PageFeed("s")
    memo: dict[str, object] = {}

    def due(name: str, key: object) -> bool:
        if memo.get(name) == key:
            return False
        memo[name] = key
        return True

    drawn = []
    for _ in range(3):  # three frames of new numbers, well within EXPLAIN_SECONDS
        t.step(1)
        frame = frames.build(t, 0, frames.Look(), False)
        drawn.append("phase-panel" in explain_view.render(frame, feed, due, memo, running=True))
    assert drawn == [True, False, False]
    t.step(1)
    frame = frames.build(t, 0, frames.Look(), False)
    assert "phase-panel" in explain_view.render(frame, feed, due, memo, running=False)


@pytest.mark.parametrize("preset", ["digits-mlp", "circle-playground"])
def test_frames_stay_small(preset: str) -> None:
    config = preset_config(preset)
    assert config is not None
    t = Trainer(config)
    t.step(2)
    frame = frames.build(t, 0, frames.Look(edge=(0, 3, 5)), False)
    assert len(pickle.dumps(frame.extras["explain"])) < 4096
    assert len(frame.encode()) < 16 * 1024


def test_a_diverged_run_writes_no_non_finite_number() -> None:
    t = Trainer(
        {
            "dataset": {"name": "reg_plane", "n_samples": 200, "noise": 0.0},
            "hidden": [{"units": 8, "activation": "relu"}],
            "optimizer": {"name": "sgd", "lr": 10.0},
            "batch_size": 10,
        }
    )
    t.step(50)
    assert t.status == "diverged"
    frame = frames.build(t, 0, frames.Look(), False)
    ex = frame.extras["explain"]
    for html in (explain_view.phase_panel(ex, frame.snap), explain_view.chain_rule(ex)):
        assert not re.search(r"\b(nan|inf|infinity)\b", html, re.IGNORECASE)


def test_regression_names_the_target_in_the_datas_units() -> None:
    t = Trainer(
        small_config(
            dataset={
                "name": "reg_plane",
                "n_samples": 60,
                "noise": 0.1,
                "seed": 1,
                "standardize_target": True,
            }
        )
    )
    t.step(1)
    data = t.data
    index = t.config["probe"] % t.n_train
    assert data.target_std != 1.0  # the engine trains on the standardised target
    original = float(data.y_train[index, 0]) * data.target_std + data.target_mean
    frame = frames.build(t, 0, frames.Look(), False)
    ex = frame.extras["explain"]
    assert ex["probe"]["y_original"] == pytest.approx(original, rel=1e-12)
    raw = {"train": data.raw_train}
    mark = explain_view.probe_mark(
        index, (raw, {"train": data.y_train}, data.domain), "regression", ex["probe"]["y_original"]
    )
    assert f"y = {explain_view.fmt(original, 3)}" in mark
    assert "standardised" in explain_view.phase_panel(ex, frame.snap)
