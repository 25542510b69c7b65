"""What the page tells a learner about their own actions: the weight editor offers the weight
(not the number the view shows), a refused change is said and undone on screen, stepping by
hand waits for a pause, the phase stepper's button sits beside the drawing, hidden tools and
classroom-hidden panels leave no trace. From a fresh-eyes review of the page."""

from __future__ import annotations

import re

from browsertools import OpenTab, Tab, poll
from pagetools import (
    EDGE_000,
    EDGE_MIDDLE_JS,
    SMALL_NET,
    choose,
    config_url,
    ready,
    set_input,
    wait_config,
)
from playwright.sync_api import APIResponse, Locator, Page, Route, expect


def small_net(open_tab: OpenTab) -> tuple[Tab, Page]:
    """A tab on a fresh 2-2-1 session, its network drawn."""
    tab = open_tab(config_url(SMALL_NET))
    ready(tab)
    return tab, tab.page


def expected_refusal(tab: Tab) -> None:
    """Chromium logs every 4xx as a console error; wait for this one, then leave it out."""
    poll(lambda: any("status of 422" in m for m in tab.console_errors), what="the 422 logged")
    # (htmx logs its own line about it too)
    tab.console_errors[:] = [m for m in tab.console_errors if "422" not in m]


def test_weight_editor_offers_the_weight_in_every_view(open_tab: OpenTab) -> None:
    tab, page = small_net(open_tab)
    page.locator("#step-epoch").click()
    poll(lambda: tab.session()["step"] > 0, what="one epoch")
    choose(page, "select#view", "gradients")
    expect(page.locator("svg#network")).to_have_attribute("data-view", "gradients")
    state = tab.state("gradients")
    weight, grad = state["layers"][0]["W"][0][0], state["layers"][0]["dW"][0][0]
    assert weight != grad
    page.locator(EDGE_000).dispatch_event("click")  # a level line: Playwright sees no box
    editor = page.locator("#weight-input")
    expect(editor).to_be_visible()
    expect(editor).to_have_value(str(weight))  # in full, from the API: not the gradient shown
    page.locator("#weight-cancel").click()
    expect(page.locator("#weight-editor")).to_be_hidden()


def first_frame(tab: Tab) -> None:
    """The stream's first frame has landed (it sends the controls again, replacing them)."""
    poll(lambda: any(n == "share" for n, _, _ in tab.sse), what="the stream's first frame")


def refused_batch_size(open_tab: OpenTab) -> tuple[Tab, Page, Locator, Locator]:
    """A small net whose batch size 0 was just refused: (tab, page, the field, the error)."""
    tab, page = small_net(open_tab)
    first_frame(tab)
    batch = page.locator("#batch-size")
    set_input(batch, 0)
    error = page.locator("#status-wrap .error")
    expect(error).to_contain_text("batch_size")
    expected_refusal(tab)
    return tab, page, batch, error


def test_a_refused_change_is_said_and_undone_on_screen(open_tab: OpenTab) -> None:
    tab, page, batch, error = refused_batch_size(open_tab)
    expect(batch).to_have_value("10")  # what the server kept
    set_input(page.locator("#batch-size"), 20)
    wait_config(tab, lambda c: c["batch_size"] == 20, "batch size 20")
    expect(error).to_have_text("")  # the refusal no longer applies


class HeldAnswers:
    """The page's PATCHes of its session reach the real server at once (the change applies,
    and the stream redraws the controls), but each answer reaches the page only when the test
    releases it: the order a busy machine can give. ``statuses()`` lists the answers the page
    has handled (htmx's afterRequest on the #batch-size the test started with, which fires on
    it even once a redraw has replaced it)."""

    def __init__(self, tab: Tab) -> None:
        self.page = tab.page
        self.held: list[tuple[Route, APIResponse]] = []
        self.page.route(f"**/api/sessions/{tab.session_id()}", self._hold)
        self.page.evaluate(
            "() => { window.__answers = []; document.getElementById('batch-size')"
            ".addEventListener('htmx:afterRequest', (e) => __answers.push(e.detail.xhr.status)) }"
        )

    def _hold(self, route: Route) -> None:
        if route.request.method != "PATCH":
            route.continue_()
            return
        self.held.append((route, route.fetch()))

    def wait(self, count: int) -> None:
        """Until ``count`` requests have reached the server (the page keeps running)."""
        poll(lambda: self.page.evaluate("() => true") and len(self.held) >= count,
             what=f"{count} PATCH requests")

    def release(self, index: int) -> int:
        route, response = self.held[index]
        route.fulfill(response=response)
        return response.status

    def statuses(self) -> list[int]:
        return list(self.page.evaluate("() => window.__answers"))


def test_an_accepted_change_answered_after_its_redraw_clears_the_refusal(
    open_tab: OpenTab,
) -> None:
    """The accepted change's new controls come on the stream before its answer: the element
    that sent it is gone by then (its htmx events no longer reach the document)."""
    tab, page, batch, error = refused_batch_size(open_tab)
    answers = HeldAnswers(tab)
    page.evaluate("() => { document.getElementById('batch-size').dataset.sent = '1' }")
    set_input(batch, 20)
    answers.wait(1)
    expect(page.locator("#batch-size:not([data-sent])")).to_have_value("20")  # redrawn
    assert answers.release(0) == 200
    poll(lambda: answers.statuses() == [200], what="the answer handled")
    expect(error).to_have_text("")


def test_a_value_typed_while_a_refusal_is_on_its_way_is_kept_and_sent(
    open_tab: OpenTab,
) -> None:
    """0 (refused), then 20 typed before that answer came: htmx holds the 20 back until the
    answer, and the refusal put the old value back over it (the 10 was sent instead)."""
    tab, page = small_net(open_tab)
    first_frame(tab)
    answers = HeldAnswers(tab)
    batch = page.locator("#batch-size")
    set_input(batch, 0)
    answers.wait(1)
    set_input(batch, 20)  # queued behind the first request
    assert answers.release(0) == 422
    poll(lambda: answers.statuses() == [422], what="the refusal handled")
    expected_refusal(tab)
    expect(page.locator("#status-wrap .error")).to_contain_text("batch_size")
    answers.wait(2)
    assert answers.release(1) == 200
    poll(lambda: answers.statuses() == [422, 200], what="both answers handled")
    wait_config(tab, lambda c: c["batch_size"] == 20, "batch size 20")
    expect(page.locator("#batch-size")).to_have_value("20")
    expect(page.locator("#status-wrap .error")).to_have_text("")


def test_stepping_by_hand_waits_for_a_pause(open_tab: OpenTab) -> None:
    tab, page = small_net(open_tab)
    buttons = ["#step", "#step-epoch", "#phase-next", "#net-phase-next"]
    for b in buttons:
        expect(page.locator(b)).to_be_enabled()
    page.locator("#play").click()
    for b in buttons:
        expect(page.locator(b)).to_be_disabled()
    page.locator("#pause").click()
    for b in buttons:
        expect(page.locator(b)).to_be_enabled()


def test_the_phase_button_beside_the_drawing_names_the_phase(open_tab: OpenTab) -> None:
    tab, page = small_net(open_tab)
    button, named = page.locator("#net-phase-next"), page.locator("#net-phase-name")
    # the drawing's container: the svg inside is replaced by every frame
    drawing = page.locator("#network-wrap").bounding_box()
    box = button.bounding_box()
    assert drawing and box and box["y"] < drawing["y"] + drawing["height"] < 800
    button.click()
    expect(named).to_contain_text("forward")
    expect(page.locator("svg#network rect.computing")).to_be_attached()
    assert tab.state()["last_phase"] == {"phase": "forward", "layer": 0}
    # the words after it change length ("ready", "forward · output", "backward · layer 1"):
    # the button stays where a teacher clicks
    for _ in range(4):
        before = named.inner_text()
        button.click()
        expect(named).not_to_have_text(before)
        moved = button.bounding_box()
        assert moved and (moved["x"], moved["y"]) == (box["x"], box["y"]), (box, moved)


def test_no_point_tools_for_data_without_a_plane(open_tab: OpenTab) -> None:
    tab, page = small_net(open_tab)
    # a click on the plot traces an example by default; the point tools come with "add points"
    expect(page.locator("#click-mode")).to_be_visible()
    expect(page.locator("#point-tools")).to_be_hidden()
    page.locator("#click-add").check()
    expect(page.locator("#point-tools")).to_be_visible()
    choose(page, "select#dataset", "digits")
    wait_config(tab, lambda c: c["dataset"]["name"] == "digits", "digits")
    expect(page.locator("#point-tools")).to_be_hidden()
    expect(page.locator("#click-mode")).to_be_hidden()


def test_classroom_hidden_panels_leave_no_hole(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET) + "&hide=data,phase,surface")
    page = tab.page
    ready(tab)
    expect(page.locator("#data-panel")).to_be_hidden()
    expect(page.locator("#phase-panel")).to_be_hidden()
    grid = page.locator(".grid").bounding_box()
    net = page.locator("#network-panel").bounding_box()
    out = page.locator("#out-col").bounding_box()
    share = page.locator("#share-panel").bounding_box()
    assert grid and net and out and share
    assert net["x"] - grid["x"] < 20  # starts where the data panel was
    assert out["x"] - (net["x"] + net["width"]) < 20  # and reaches the loss and output column
    assert share["x"] - grid["x"] < 20  # the share panel takes the surface panel's place


def test_gradient_clipping_is_a_control(open_tab: OpenTab) -> None:
    """The divergence words suggest clipping: the page offers it (empty = off)."""
    tab, page = small_net(open_tab)
    clip = page.locator("#clip-norm")
    set_input(clip, 1)
    wait_config(tab, lambda c: c["clip_norm"] == 1, "clip norm 1")
    # the controls the accepted change redraws arrive on the stream: clear the new box, not
    # the one being replaced (a change made on that one is lost with it)
    expect(page.locator("#clip-norm")).to_have_value(re.compile(r"^1(\.0)?$"))
    set_input(page.locator("#clip-norm"), "")
    wait_config(tab, lambda c: c["clip_norm"] is None, "clip norm off")


def test_tooltips_name_layers_as_the_drawing_heads_them(open_tab: OpenTab) -> None:
    tab, page = small_net(open_tab)
    tip = page.locator("#tooltip")

    def hover_text() -> str:
        mid = page.evaluate(EDGE_MIDDLE_JS, EDGE_000)
        if not mid or not mid["hit"]:
            return ""
        page.mouse.move(mid["x"], mid["y"])
        return tip.inner_text() if tip.is_visible() else ""

    seen: list[str] = []
    poll(lambda: bool(seen.append(hover_text()) or seen[-1]), what="the edge tooltip")
    assert "w[0][0][0] (x1 → layer 1 · unit 0)" in seen[-1], seen[-1]
    page.locator('svg#network g.node[data-layer="0"][data-unit="1"]').hover(force=True)
    expect(tip).to_contain_text("layer 1 · unit 1")  # heading "layer 1", not "layer 0"


def test_the_divergence_reset_is_one_request_a_play_cannot_come_between(
    open_tab: OpenTab,
) -> None:
    """The alert's "reset with learning rate r" sends the rate and the reset in one request.
    Before, it sent the rate, and the reset only once the rate's answer came (up to 2 s on a
    busy machine): a play pressed meanwhile continued from the diverged weights, and diverged
    again at the rate the alert had called safe. Here the answer is held: nothing but that one
    request goes out, play cannot be pressed until it is answered, and the run the next play
    starts is the fresh one at the new rate."""
    diverging = {**SMALL_NET, "dataset": {"name": "reg_plane", "n_samples": 200},
                 "optimizer": {"name": "sgd", "lr": 50.0}}
    tab = open_tab(config_url(diverging))
    page = tab.page
    ready(tab)
    page.locator("#play").click()
    # the server first (a failure then says which side did not get there), then the page
    poll(lambda: tab.session()["status"] == "diverged" and tab.session(), timeout=30,
         what="the server's run to diverge")
    divergence = page.locator("#divergence")
    expect(divergence).to_be_visible(timeout=20_000)
    expect(page.locator("#rate-checked")).to_contain_text("without diverging")
    generation = tab.session()["generation"]
    sent: list[tuple[str, str]] = []
    held: list[tuple[Route, APIResponse]] = []

    def hold(route: Route) -> None:
        if route.request.method == "GET":  # the pictures the frames point at
            route.continue_()
            return
        sent.append((route.request.method, route.request.url))
        held.append((route, route.fetch()))

    page.route(f"**/api/sessions/{tab.session_id()}**", hold)
    page.locator("#reset-smaller-lr").click()
    poll(lambda: page.evaluate("() => true") and len(held) >= 1, what="the reset request")
    # the server has done it all already: new rate, new generation, fresh weights
    ses = tab.session()
    assert ses["reason"] == "reset" and ses["generation"] == generation + 1
    assert ses["config"]["optimizer"]["lr"] < 50
    expect(page.locator("#play")).to_be_disabled()  # until the answer: no play in between
    page.locator("#play").click(force=True)
    assert [m for m, _ in sent] == ["POST"] and sent[0][1].endswith("/reset"), sent
    held[0][0].fulfill(response=held[0][1])
    page.unroute(f"**/api/sessions/{tab.session_id()}**")
    assert held[0][1].status == 200
    expect(page.locator("#play")).to_be_enabled()
    page.locator("#play").click()
    poll(lambda: tab.session()["step"] >= 100, what="100 steps at the offered rate")
    assert tab.session()["status"] == "running" and tab.session()["generation"] == generation + 1
    page.locator("#pause").click()
