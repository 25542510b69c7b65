"""The counters' words: the iterations-per-epoch formula agrees with what the trainer does,
also after a live batch-size change mid-epoch (it said "× 3 epochs = 300 iterations" beside
"iteration 6")."""

from __future__ import annotations

import re

from app.page import controls, words
from app.page.templating import render_block
from engine.inspect import readouts
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN, small_config


def said(t: Trainer) -> tuple[int, int, int, int]:
    """(per epoch, epoch under way, samples used, iterations to go) as the page says them."""
    text = words.counters(readouts.snapshot(t))["ipe_formula"]
    m = re.fullmatch(
        r"⌈\d+ / \d+⌉ = (\d+) per epoch; epoch (\d+): (\d+) of \d+ samples used, "
        r"(\d+) iterations to go",
        text,
    )
    assert m, text
    return (int(m[1]), int(m[2]), int(m[3]), int(m[4]))


def test_the_formula_counts_the_iterations_the_epoch_really_has_left() -> None:
    t = Trainer(
        small_config(
            dataset={"name": "circle", "n_samples": 100, "seed": 0, "split": ALL_TRAIN},
            batch_size=30,
        )
    )
    assert said(t) == (4, 1, 0, 4)
    t.step(2)
    assert said(t) == (4, 1, 60, 2)
    t.set_hparams({"batch_size": 7})  # live, mid-epoch
    per_epoch, epoch, used, left = said(t)
    assert (per_epoch, epoch, used) == (15, 1, 60)
    # the independent count: step until the epoch really ends
    steps = 0
    while t.epoch == 0:
        t.step(1)
        steps += 1
    assert steps == left == 6  # ⌈40 / 7⌉
    assert said(t) == (15, 2, 0, 15)
    assert t.iteration == 8  # 2 + 6: not "1 epoch × 15"


def test_the_rate_slider_says_when_a_rate_is_past_its_ends() -> None:
    """The number box takes any rate; the slider stops at 1e-5 and 10 and says so."""
    for lr, past in ((100.0, "above"), (10.0, ""), (0.03, ""), (1e-5, ""), (1e-6, "below")):
        config = controls.normalized({"optimizer": {"name": "sgd", "lr": lr}})
        html = render_block("train_controls", controls.page_context(None, config, set()))
        assert f'data-past="{past}"' in html, (lr, past)
