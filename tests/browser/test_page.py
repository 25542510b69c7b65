"""The playground page in Chromium against a real server (issue 4's browser tests).

Selectors come from the page contract (ids and data- attributes); numbers the page shows are
checked against the REST API read with the page's own cookie. Every test also passes the
``open_tab`` checks: no console errors, no CSP violations, at most one EventSource per tab.
"""

from __future__ import annotations

import math
import re
from typing import Any

from browsertools import OpenTab, poll, poll_for
from pagetools import (
    BIASES_JS,
    EDGE_000,
    FALLING_JS,
    FRAME_LIMIT,
    SMALL_NET,
    choose,
    clipped_texts,
    close,
    config,
    config_url,
    edges,
    numbers,
    ready,
    set_input,
    shown_number,
    sse_sizes,
    tooltip_shows,
    use_dataset,
    wait_config,
    wait_edges_match,
)
from playwright.sync_api import expect


def test_training_on_circle_loss_falls_and_edges_change(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    use_dataset(tab, "circle")
    expect(page.locator("svg#network line.edge").first).to_be_attached()
    before = edges(page)
    assert before and all(math.isfinite(float(e["value"])) for e in before)
    # colour by sign: positive and negative weights are drawn in different colours
    pos = {e["stroke"] for e in before if float(e["value"]) > 0}
    neg = {e["stroke"] for e in before if float(e["value"]) < 0}
    assert pos and neg and not pos & neg, f"edge colours by sign: + {pos}, - {neg}"

    # the loss shown before training (or the first one shown) is the reference
    page.evaluate("() => { window.__firstLoss = undefined; }")
    page.locator("#play").click()
    page.wait_for_function(FALLING_JS, arg="#train-loss", timeout=30_000)
    first = page.evaluate("() => window.__firstLoss")
    last = shown_number(page, "#train-loss")
    assert last is not None and last < 0.9 * first, (first, last)

    values = [e["value"] for e in before]
    after = poll_for(
        lambda: edges(page), lambda now: [e["value"] for e in now] != values, what="edges to change"
    )
    assert len(after) == len(before)
    assert any(a["width"] != b["width"] for a, b in zip(after, before, strict=True)), (
        "edge widths (stroke-width) did not change while training"
    )
    ses = tab.session()
    assert ses["status"] in ("running", "finished") and ses["step"] > 0
    iteration = shown_number(page, "#iteration")
    assert iteration is not None and iteration > 0
    # one stream, frames within the budget
    es = tab.eventsources()
    assert es["created"] == 1 and es["open"] == 1, es
    sizes = sse_sizes(tab)
    assert sizes, "no server-sent events arrived while training"
    assert max(sizes.values()) <= FRAME_LIMIT, f"messages over {FRAME_LIMIT} bytes: {sizes}"
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")


def test_phase_stepper_matches_rest_state(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    ready(tab)
    state = tab.state()
    assert [len(layer["W"][0]) for layer in state["layers"]] == [2, 1]
    assert state["phase"]["phase"] == "forward" and state["phase"]["layer"] == 0
    n_layers = len(state["layers"])
    name = page.locator("#phase-name")
    expect(name).to_be_visible()
    expected = [("forward", k) for k in range(n_layers)] + [("loss", None)]
    expected += [("backward", k) for k in reversed(range(n_layers))] + [("update", None)]
    offsets = set()
    gradients: dict[str, Any] = {}
    for phase, layer in expected:
        old = name.inner_text()
        page.locator("#phase-next").click()
        expect(name).not_to_have_text(old)
        expect(name).to_contain_text(phase, ignore_case=True)
        if phase == "update":
            poll(lambda: tab.state()["iteration"] == 1, what="the update applied")
        else:
            poll(
                lambda p=phase, k=layer: (
                    (tab.state()["last_phase"] or {}) == {"phase": p, "layer": k}
                ),
                what=f"API at {phase} {layer}",
            )
        if layer is not None:  # the page names the layer: "output", or one numbering throughout
            text = name.inner_text()
            shown = numbers(text)
            if layer == n_layers - 1 and "output" in text.lower():
                assert not shown, f"{text!r} names the output layer and a number"
            else:
                assert shown, f"no layer number in {text!r}"
                offsets.add(shown[0] - layer)
        if phase == "backward" and layer == 0:
            # every gradient dL/dw is computed: the edges in the gradients view show them
            weights_before = tab.state()
            gradients = tab.state("gradients")
            choose(page, "select#view", "gradients")
            wait_edges_match(page, "dW", gradients)
            tooltip_shows(page, EDGE_000, gradients["layers"][0]["dW"][0][0])
    assert len(offsets) == 1, f"layer numbering in #phase-name is inconsistent: {offsets}"

    after = tab.state()
    changed = [
        a != b
        for la, lb in zip(after["layers"], weights_before["layers"], strict=True)
        for ra, rb in zip(la["W"], lb["W"], strict=True)
        for a, b in zip(ra, rb, strict=True)
    ]
    assert any(changed), "the update did not change any weight"
    choose(page, "select#view", "weights")
    wait_edges_match(page, "W", after)
    tooltip_shows(page, EDGE_000, after["layers"][0]["W"][0][0])
    biases = page.evaluate(BIASES_JS)
    want = {(L, j): v for L, layer in enumerate(after["layers"]) for j, v in enumerate(layer["b"])}
    assert {(b["layer"], b["j"]) for b in biases} == set(want), biases
    for b in biases:
        assert close(float(b["value"]), want[(b["layer"], b["j"])], rel=1e-4), b
    es = tab.eventsources()
    assert es["created"] <= 1, es


def test_learning_rate_change_while_running_applies_without_reset(open_tab: OpenTab) -> None:
    tab = open_tab("/")
    page = tab.page
    ready(tab)
    page.locator("#play").click()
    poll(lambda: tab.session()["status"] == "running", what="running")
    poll(lambda: (shown_number(page, "#iteration") or 0) > 0, what="#iteration to count")
    ses = tab.session()
    generation, lr0 = ses["generation"], ses["config"]["optimizer"]["lr"]
    new_lr = 0.0123 if not close(lr0, 0.0123) else 0.0456
    step_before = ses["step"]
    shown_before = shown_number(page, "#iteration")

    set_input(page.locator("#lr"), new_lr)
    ses = poll_for(
        tab.session,
        lambda s: close(s["config"]["optimizer"]["lr"], new_lr),
        what=f"lr {new_lr} applied",
    )
    assert ses["generation"] == generation, "changing the learning rate reset the session"
    assert ses["status"] == "running"
    assert ses["step"] >= step_before
    # the iteration keeps growing from where it was, on the API and on the page
    poll(lambda: tab.session()["step"] > ses["step"], what="steps after the change")
    poll(
        lambda: (shown_number(page, "#iteration") or 0) > max(shown_before or 0, ses["step"]),
        what="#iteration to keep growing",
    )
    assert tab.session()["generation"] == generation
    assert close(float(page.locator("#lr").input_value()), new_lr)
    # the log-scale slider mirrors the rate, and moving it sets the rate too
    lr_log = page.locator("#lr-log")
    assert close(float(lr_log.input_value()), math.log10(new_lr), abs_=0.05), lr_log.input_value()
    set_input(lr_log, -1.5)
    ses = poll_for(
        tab.session,
        lambda s: close(s["config"]["optimizer"]["lr"], 10**-1.5, rel=0.02),
        what="lr from the log slider",
    )
    assert ses["generation"] == generation and ses["status"] == "running"
    expect(page.locator("#lr")).not_to_have_value(str(new_lr))
    assert close(float(page.locator("#lr").input_value()), 10**-1.5, rel=0.02)
    # the page has the new state once the server redrew the controls from it (their value
    # attribute is the server's rate): a redraw still on its way would replace the field and
    # its note in the middle of the checks below
    poll(
        lambda: close(float(page.locator("#lr").get_attribute("value") or "nan"), 10**-1.5,
                      rel=0.02),
        what="the controls redrawn with the slider's rate",
    )
    # inside the slider's ends nothing is said; a rate typed past an end is said at once
    past = page.locator("#lr-past")
    expect(past).to_have_attribute("data-past", "")
    assert not past.inner_text().strip()
    rate = page.locator("#lr").input_value()
    page.locator("#lr").fill("0.000001")
    expect(past).to_have_attribute("data-past", "below")
    expect(past).to_contain_text("below the slider's start")
    page.locator("#lr").fill(rate)  # as it was: a change event then sends no new rate
    expect(past).to_have_attribute("data-past", "")
    # recent step records carry the new rate
    # (steps reach the history through the database writer, a few milliseconds behind; the
    # step the session was at when the change applied was trained at the old rate, so only
    # the ones after it count: with after=seq-1 a poll that found only that one failed)
    records = poll_for(
        lambda: tab.api(f"/api/sessions/{ses['id']}/history", after=ses["seq"]),
        lambda r: bool(r["points"]),
        what="history after the change",
    )
    assert close(records["points"][-1]["lr"], 10**-1.5, rel=0.02)
    es = tab.eventsources()
    assert es["created"] == 1, es
    page.locator("#pause").click()
    poll(lambda: tab.session()["status"] == "paused", what="paused")


def test_too_large_learning_rate_shows_divergence_without_nan(open_tab: OpenTab) -> None:
    tab = open_tab(config_url({**SMALL_NET, "dataset": {"name": "reg_plane", "n_samples": 200}}))
    page = tab.page
    ready(tab)
    divergence = page.locator("#divergence")
    expect(divergence).to_be_hidden()
    set_input(page.locator("#lr"), 50)
    wait_config(tab, lambda c: c["optimizer"]["lr"] == 50, "lr 50")
    page.locator("#play").click()
    expect(divergence).to_be_visible(timeout=20_000)
    assert tab.session()["status"] == "diverged"
    text = divergence.inner_text()
    assert re.search(r"learning rate", text, re.I), text
    assert len(text.split()) >= 6, f"divergence message too short: {text!r}"
    body = page.evaluate("() => document.body.innerText")
    assert "NaN" not in body
    bad_attrs = page.evaluate(
        """() => Array.from(document.querySelectorAll('*')).flatMap((el) =>
             Array.from(el.attributes).filter((a) => /\\bNaN\\b/.test(a.value))
               .map((a) => `${el.tagName}.${a.name}=${a.value.slice(0, 80)}`))"""
    )
    assert not bad_attrs, bad_attrs
    # the last finite state stays drawn
    shown = edges(page)
    assert shown and all(math.isfinite(float(e["value"])) for e in shown)
    tab.screenshot("desktop-diverged")
    expect(page.locator("#loss-chart polyline.curve-train")).to_be_attached()
    assert not clipped_texts(page, "#curves"), "loss chart labels cut off after divergence"
    # it offers a reset with a smaller rate, one it tried from the same start
    expect(page.locator("#rate-checked")).to_contain_text("without diverging")
    page.locator("#reset-smaller-lr").click()
    expect(divergence).to_be_hidden()
    ses = poll_for(tab.session, lambda s: s["status"] != "diverged", what="reset after divergence")
    assert ses["config"]["optimizer"]["lr"] < 50
    assert close(float(page.locator("#lr").input_value()), ses["config"]["optimizer"]["lr"])
    assert "NaN" not in page.evaluate("() => document.body.innerText")
    # and the offer holds: the first play after the reset trains on (the button sends the
    # rate and the reset in one request, and play waits for its answer)
    poll_for(tab.session, lambda s: s["reason"] == "reset", what="the reset itself")
    page.locator("#play").click()
    poll(lambda: tab.session()["step"] >= 200, what="200 steps at the offered rate")
    assert tab.session()["status"] == "running"
    page.locator("#pause").click()


def test_shared_url_opens_the_same_config(open_tab: OpenTab) -> None:
    tab = open_tab("/", name="sharer")
    page = tab.page
    ready(tab)
    link = page.locator("a#share-link")

    def change(action: Any, check: Any, what: str) -> None:
        href = link.get_attribute("href")
        action()
        wait_config(tab, check, what)
        expect(link).not_to_have_attribute("href", href or "")

    change(lambda: use_dataset(tab, "xor"), lambda c: c["dataset"]["name"] == "xor", "xor")
    change(
        lambda: set_input(
            page.locator("#noise"),
            page.locator("#noise").get_attribute("max")
            and 0.2 * float(page.locator("#noise").get_attribute("max") or 1)
            or 0.2,
        ),
        lambda c: c["dataset"].get("noise", 0) > 0,
        "noise",
    )
    layers = len(config(tab)["hidden"])
    change(
        lambda: page.locator("#add-layer").click(),
        lambda c: len(c["hidden"]) == layers + 1,
        "one more layer",
    )
    change(
        lambda: set_input(page.locator("#lr"), 0.0123),
        lambda c: close(c["optimizer"]["lr"], 0.0123),
        "lr",
    )
    change(lambda: set_input(page.locator("#seed"), 4242), lambda c: c["seed"] == 4242, "seed")
    href = link.get_attribute("href")
    assert href
    original = tab.session()

    other = open_tab(href, name="opener")
    ready(other)
    opened = other.session()
    assert opened["id"] != original["id"], "the shared link reused the sharer's session"
    assert opened["config"] == original["config"]
    for sel in ("#dataset", "#noise", "#lr", "#seed", "#batch-size", "#optimizer"):
        assert other.page.locator(sel).input_value() == page.locator(sel).input_value(), sel
    expect(other.page.locator("svg#network line.edge")).to_have_count(
        page.locator("svg#network line.edge").count()
    )


def test_a_field_being_typed_into_survives_a_config_change_from_elsewhere(
    open_tab: OpenTab,
) -> None:
    """The learner types a batch size; before they leave the field, the config changes
    elsewhere (a script, another tab) and the controls are drawn again. What they typed stays,
    with the focus, and leaving the field applies it on top of the other change."""
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    sid = ready(tab)
    field = page.locator("#batch-size")
    field.fill("7")
    r = tab.context.request.patch(
        f"/api/sessions/{sid}", data={"config": {"optimizer": {"lr": 0.2}}}
    )
    assert r.ok, r.text()
    poll(lambda: close(float(page.locator("#lr").input_value()), 0.2), what="controls redrawn")
    expect(field).to_have_value("7")
    expect(field).to_be_focused()
    field.blur()
    cfg = wait_config(tab, lambda c: c["batch_size"] == 7, "batch size 7")
    assert close(cfg["optimizer"]["lr"], 0.2)
    # with nothing typed, a redraw shows the server's value
    r = tab.context.request.patch(f"/api/sessions/{sid}", data={"config": {"batch_size": 9}})
    assert r.ok, r.text()
    expect(field).to_have_value("9")
    # the learning rate the same way: the log slider beside it follows the typed rate
    lr = page.locator("#lr")
    lr.fill("0.5")
    r = tab.context.request.patch(f"/api/sessions/{sid}", data={"config": {"seed": 31}})
    assert r.ok, r.text()
    poll(lambda: page.locator("#seed").input_value() == "31", what="controls redrawn again")
    expect(lr).to_have_value("0.5")
    assert close(float(page.locator("#lr-log").input_value()), math.log10(0.5), abs_=0.01)
    lr.blur()
    wait_config(tab, lambda c: close(c["optimizer"]["lr"], 0.5) and c["seed"] == 31, "lr 0.5")


def test_redrawn_controls_keep_a_chosen_csv_file_and_the_page_boxes(open_tab: OpenTab) -> None:
    """A config change redraws only the control regions it changes: a CSV file just chosen
    (its column picker showing, the file picker focused) survives a learning-rate change.
    The page's own boxes (show test data, discretize, log scale) come checked after a reload
    when the server draws that way."""
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    sid = ready(tab)
    upload = page.locator("#csv-upload")
    upload.focus()
    upload.set_input_files(
        files=[{"name": "t.csv", "mimeType": "text/csv", "buffer": b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n"}]
    )
    expect(page.locator("#csv-target-box")).to_be_visible()
    r = tab.context.request.patch(
        f"/api/sessions/{sid}", data={"config": {"optimizer": {"lr": 0.2}}}
    )
    assert r.ok, r.text()
    poll(lambda: close(float(page.locator("#lr").input_value()), 0.2), what="controls redrawn")
    expect(page.locator("#csv-target-box")).to_be_visible()
    for box in ("#show-test", "#discretize", "#log-scale"):
        page.locator(box).check()
    poll(lambda: tab.session()["status"] in ("paused", "running"), what="session")
    page.reload()
    ready(tab)
    for box in ("#show-test", "#discretize", "#log-scale"):
        expect(page.locator(box)).to_be_checked()
    # a data change redraws the data controls around the focused file picker: no page error
    # (a file input's value cannot be set back)
    upload.focus()
    upload.set_input_files(
        files=[{"name": "t.csv", "mimeType": "text/csv", "buffer": b"a,b,y\n1,2,0\n3,4,1\n5,6,0\n"}]
    )
    r = tab.context.request.patch(
        f"/api/sessions/{sid}", data={"config": {"dataset": {"noise": 0.17}}}
    )
    assert r.ok, r.text()
    poll(lambda: close(float(page.locator("#noise").input_value()), 0.17), what="data redrawn")
    assert not tab.page_errors, tab.page_errors
