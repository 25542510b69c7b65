"""The page with lbfgs and newton: the optimizer menu offers both, their parameters get the
right controls, the counters line says how ill-conditioned the problem is, and the phase panel's
update shows their formulas — in English and in Korean (the page renders one language)."""

from __future__ import annotations

from typing import Any

from app.page import controls, explain_view, frames, i18n, words
from app.page.draw.palette import fmt
from app.page.templating import ENV, render_block
from engine.inspect import readouts
from engine.inspect.update_rule import last_update
from engine.trainer import Trainer
from tests.conftest import ALL_TRAIN

SMALL: dict[str, Any] = {
    "dataset": {"name": "circle", "n_samples": 30, "seed": 1, "split": ALL_TRAIN},
    "hidden": [{"units": 3, "activation": "tanh"}],
    "batch_size": 30,
}


def _controls(optimizer: dict[str, Any], lang: str = "en") -> str:
    config = controls.normalized({**SMALL, "optimizer": optimizer})
    with i18n.using(lang):
        context = controls.page_context(None, config, set())
        return ENV.get_template("regions/train_controls.html").render(context, lang=lang)


def test_the_optimizer_menu_offers_both() -> None:
    html = _controls({"name": "sgd"})
    assert '<option value="lbfgs" >L-BFGS</option>' in html
    assert '<option value="newton" >Newton (damped)</option>' in html
    assert '<option value="newton" >뉴턴법 (댐핑)</option>' in _controls({"name": "sgd"}, "ko")


def test_lbfgs_parameters_get_a_choice_menu_and_integer_fields() -> None:
    html = _controls({"name": "lbfgs", "max_iter": 7})
    # line_search_fn: a menu with "none" (sent as null) and strong_wolfe
    assert (
        'id="opt-line_search_fn" name="config.optimizer.line_search_fn" data-encode="nullable"'
        in html
    )
    assert '<option value="" selected>none</option><option value="strong_wolfe" >' in html
    # max_iter an integer; max_eval empty (its default, max_iter·5/4) and sent as null if emptied
    assert 'name="config.optimizer.max_iter" data-type="int" value="7"' in html
    assert (
        'name="config.optimizer.max_eval" data-encode="nullable" data-type="int" value=""' in html
    )
    assert '<label for="opt-max_iter">max iter</label>' in html
    assert 'value="None"' not in html
    ko = _controls({"name": "lbfgs", "max_iter": 7}, "ko")
    assert '<label for="opt-max_iter">최대 반복</label>' in ko
    assert '<option value="strong_wolfe" >강한 울프 조건</option>' in ko


def test_newton_counters_say_how_ill_conditioned_in_both_languages() -> None:
    t = Trainer({**SMALL, "optimizer": {"name": "newton"}})
    t.step(2)
    snap = readouts.snapshot(t)
    said = words.counters(snap)
    info = snap["second_order"]
    assert said["condition"] == fmt(info["condition"])
    with i18n.using("en"):
        html = render_block("counters", {"regions": {"counters": said}})
    with i18n.using("ko"):
        ko = render_block("counters", {"regions": {"counters": said}})
    assert "how ill-conditioned this problem is" in html and "이 문제가 얼마나 나쁜 조건인지" in ko
    for page in (html, ko):
        assert f'<b id="condition">{said["condition"]}</b>' in page
        assert f'<b id="n-evals">{info["n_evals"]}</b>' in page
        assert f"{said['eig_min']} … {said['eig_max']}" in page
    sgd = Trainer(SMALL)
    sgd.step(1)
    plain = render_block(
        "counters", {"regions": {"counters": words.counters(readouts.snapshot(sgd))}}
    )
    assert "ill-conditioned" not in plain and "n-evals" not in plain


def test_update_panel_numbers_for_the_second_order_rules() -> None:
    for optimizer in ({"name": "newton", "damping": 0.5}, {"name": "lbfgs", "max_iter": 3}):
        t = Trainer({**SMALL, "optimizer": optimizer})
        t.step(1)
        u = last_update(t, 0, 0, 0)
        assert u["available"] and u["known"]
        w_old = u["numbers"]["w_old"]
        assert u["w_new"] == w_old + u["numbers"]["step"] == u["w"]
        assert u["numbers"]["n_evals"] == t.optimizer.last_info["n_evals"]
        if optimizer["name"] == "newton":
            assert u["numbers"]["damping"] == 0.5


def test_phase_panel_shows_the_second_order_update() -> None:
    for optimizer, formula in (
        ({"name": "newton"}, "<mi>λ</mi><mi>I</mi>"),
        ({"name": "lbfgs"}, "<mo>∑</mo>"),
    ):
        t = Trainer({**SMALL, "optimizer": optimizer})
        while not t.step_phase()["iteration_done"]:
            pass
        frame = frames.build(t, 0, frames.Look(edge=(0, 1, 0)), False)
        panel = explain_view.phase_panel(frame.extras["explain"], frame.snap)
        assert 'data-stage="update"' in panel and formula in panel, optimizer
        assert "loss evaluations" in panel and "✓" in panel
        with i18n.using("ko"):
            ko = explain_view.phase_panel(frame.extras["explain"], frame.snap)
        assert "손실 평가" in ko and formula in ko
