"""lbfgs and newton on the page: the optimizer menu picks them, their parameters' controls send
what the API takes (a menu for line_search_fn with "none" as null, integers, an emptied
max_eval as null), and after a newton step the counters say how ill-conditioned the problem
is, in English and (on a ?lang=ko page) in Korean."""

from __future__ import annotations

from browsertools import OpenTab
from pagetools import SMALL_NET, choose, config_url, ready, set_input, wait_config
from playwright.sync_api import expect


def test_second_order_controls_and_the_hessian_readout(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    ready(tab)
    choose(page, "select#optimizer", "lbfgs")
    wait_config(tab, lambda c: c["optimizer"]["name"] == "lbfgs", "lbfgs picked")
    expect(page.locator('label[for="opt-line_search_fn"]')).to_have_text("line search")
    choose(page, "select#opt-line_search_fn", "strong_wolfe")
    wait_config(
        tab, lambda c: c["optimizer"]["line_search_fn"] == "strong_wolfe", "strong_wolfe sent"
    )
    set_input(page.locator("#opt-max_iter"), 4)
    wait_config(tab, lambda c: c["optimizer"]["max_iter"] == 4, "max_iter sent as an integer")
    set_input(page.locator("#opt-max_eval"), 6)
    wait_config(tab, lambda c: c["optimizer"]["max_eval"] == 6, "max_eval sent")
    set_input(page.locator("#opt-max_eval"), "")
    wait_config(tab, lambda c: c["optimizer"]["max_eval"] is None, "an emptied max_eval is null")
    choose(page, "select#opt-line_search_fn", "")
    wait_config(tab, lambda c: c["optimizer"]["line_search_fn"] is None, "none is null")
    page.locator("#step").click()
    expect(page.locator("#n-evals")).to_have_text("4")  # a fixed step of max_iter iterations

    choose(page, "select#optimizer", "newton")
    wait_config(tab, lambda c: c["optimizer"]["name"] == "newton", "newton picked")
    page.locator("#step").click()
    readout = page.locator("#hessian-readout")
    expect(readout).to_contain_text("how ill-conditioned this problem is")
    condition = tab.state()["second_order"]["condition"]
    assert condition is not None and condition >= 1.0
    assert float(page.locator("#condition").inner_text()) == float(f"{condition:.4g}")

    newton = {**SMALL_NET, "optimizer": {"name": "newton"}}
    ko = open_tab(config_url(newton) + "&lang=ko", name="korean")
    ready(ko)
    expect(ko.page.locator('label[for="opt-damping"]')).to_have_text("댐핑 λ")
    ko.page.locator("#step").click()
    expect(ko.page.locator("#hessian-readout")).to_contain_text("이 문제가 얼마나 나쁜 조건인지")
