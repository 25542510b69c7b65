"""The counters regions through their stencils (app/page/stencil.py ``flat``) are the
templates' own markup, byte for byte: step after step, for every optimizer's counters (newton's
Hessian sentence, whose numbers come in another order in Korean), in both languages, with
values a template escapes and values it tests."""

from __future__ import annotations

from typing import Any

import pytest

from app.page import i18n, regions, stencil, words
from app.page.templating import render_block
from engine.inspect import readouts
from engine.trainer import Trainer
from tests.conftest import small_config


def by_template(region: str, counters: dict[str, str]) -> str:
    return render_block(region, {"regions": {"counters": counters}})


@pytest.mark.parametrize("optimizer", [{"name": "sgd", "lr": 0.1}, {"name": "newton"},
                                       {"name": "lbfgs"}])  # fmt: skip
@pytest.mark.parametrize("lang", ["en", "ko"])
def test_counters_frame_after_frame_are_the_templates(optimizer: dict[str, Any], lang: str) -> None:
    t = Trainer({**small_config(), "optimizer": optimizer})
    with i18n.using(lang):
        for _ in range(4):
            t.step(1)
            said = words.counters(readouts.snapshot(t))
            for region in ("counters", "epoch_formula"):
                assert regions.counters_html(region, said) == by_template(region, said)


def test_values_are_escaped_and_empty_ones_are_the_shape() -> None:
    said = words.counters(readouts.snapshot(Trainer(small_config())))
    with i18n.using("en"):
        odd = {**said, "batch_loss": "<b>&</b>", "lr": "", "n_evals": "3"}
        assert regions.counters_html("counters", odd) == by_template("counters", odd)
        assert "&lt;b&gt;&amp;&lt;/b&gt;" in regions.counters_html("counters", odd)
        # an empty value the template tests (n_evals) and one it defaults ("lr or —")
        emptied = {**odd, "n_evals": "", "lr": "0.1"}
        assert regions.counters_html("counters", emptied) == by_template("counters", emptied)
        assert "n-evals" not in regions.counters_html("counters", emptied)


def test_a_stencil_is_cut_at_every_mark() -> None:
    s = stencil.Stencil("a" + stencil.MARK % 1 + "b" + stencil.MARK % 0)
    assert s.fill(["X", "Y"]) == "aYbX"
