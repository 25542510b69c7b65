"""Every lesson, played on the page as a learner plays it, in Korean and in English.

The learner opens the lesson's link, does what each step says (the page's own button for a
phase, an iteration or the gradient check; the lesson's run button for a budget), waits for
the checks, and moves on. Each "what you should see" must end ✓ on the live numbers, the page's
verdicts and values must equal the lesson API's (``GET /api/sessions/{id}/lesson``), and the
step's words must be in the page's language."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browsertools import OpenTab, Tab, poll
from playwright.sync_api import expect

from app.lessons.model import LESSONS
from engine.config import normalize_config

pytestmark = [pytest.mark.browser, pytest.mark.slow]

HANGUL = re.compile(r"[\uac00-\ud7a3]")
# the page's own button for a step's act (a run is the lesson's budget button)
PAGE_BUTTON = {"phase": "#phase-next", "iteration": "#step", "gradcheck": "#gc-run"}
RUN_SECONDS = 60.0  # the longest run (a few seconds at its speed) on a busy machine


def shown_checks(tab: Tab) -> list[dict[str, str]]:
    return tab.page.eval_on_selector_all(
        "#lesson-checks li",
        "els => els.map(e => ({state: e.dataset.state, fact: e.dataset.fact,"
        " value: e.dataset.value}))",
    )


def settled(tab: Tab) -> list[dict[str, str]] | None:
    checks = shown_checks(tab)
    return checks if checks and all(c["state"] != "pending" for c in checks) else None


def api_lesson(tab: Tab, lang: str) -> dict[str, Any]:
    return tab.api(f"/api/sessions/{tab.session_id()}/lesson", lang=lang)


def same_number(page_value: str, api_value: Any) -> bool:
    if isinstance(api_value, (int, float)) and not isinstance(api_value, bool):
        return float(page_value) == pytest.approx(float(api_value), rel=1e-12, abs=1e-300)
    return page_value == str(api_value)


def play_lesson(tab: Tab, name: str, lang: str) -> list[dict[str, Any]]:
    """Play lesson ``name`` to its end; returns the API's answer at the end of each step."""
    page = tab.page
    lesson = LESSONS[name]
    answers = []
    for k, step in enumerate(lesson.steps):
        expect(page.locator(f"#lesson[data-step='{k}']")).to_be_attached()
        words = page.locator("#lesson-do").inner_text()
        assert bool(HANGUL.search(words)) == (lang == "ko"), words
        if step.act in PAGE_BUTTON:
            page.locator(PAGE_BUTTON[step.act]).click()
        elif step.act == "run":
            page.locator("#lesson-act").click()
        poll(lambda: settled(tab), RUN_SECONDS, what=f"{name}/{step.id}'s checks")

        def agree() -> dict[str, Any] | None:
            """The API's answer once the page shows its very verdicts and values (the page
            may be a frame behind: the run's last records come after its last frame)."""
            checks, answer = shown_checks(tab), api_lesson(tab, lang)
            same = [c["state"] for c in answer["checks"]] == [c["state"] for c in checks] and all(
                shown["fact"] == api["fact"] and same_number(shown["value"], api["value"])
                for shown, api in zip(checks, answer["checks"], strict=True)
            )
            return answer if same else None

        answer = poll(agree, 10.0, what=f"{name}/{step.id}: the page's checks equal the API's")
        assert answer["step"] == k and answer["lesson"] == name
        bad = [c for c in answer["checks"] if c["state"] != "ok"]
        assert not bad, (name, step.id, bad, answer.get("differs"))
        answers.append(answer)
        if k + 1 < len(lesson.steps):
            page.locator("#lesson-next").click()
    expect(page.locator(".lesson-end")).to_be_visible()
    return answers


def open_lesson(open_tab: OpenTab, name: str, lang: str) -> Tab:
    tab = open_tab(f"/lessons/{name}?lang={lang}")
    tab.page.wait_for_url(re.compile(r"/\?s="))
    expect(tab.page.locator("#lesson")).to_be_visible()
    assert tab.page.locator("html").get_attribute("lang") == lang
    return tab


# each lesson is played through in one language and read through, step by step, in the other
# (the verdicts do not depend on the language: test_lesson_claims.py and the API test judge
# them; here the page must say them, and every step's words, in both)
ORDER = sorted(set(LESSONS) - {"counting", "keras-mlp"})
PLAYED = [(name, "ko" if k % 2 else "en") for k, name in enumerate(ORDER)]
READ = [(name, "en" if lang == "ko" else "ko") for name, lang in PLAYED]


@pytest.mark.parametrize(("name", "lang"), PLAYED)
def test_the_lesson_plays_to_its_end_with_every_check_true(
    open_tab: OpenTab, name: str, lang: str
) -> None:
    tab = open_lesson(open_tab, name, lang)
    play_lesson(tab, name, lang)


@pytest.mark.parametrize(("name", "lang"), READ)
def test_every_step_of_the_lesson_reads_in_the_other_language(
    open_tab: OpenTab, name: str, lang: str
) -> None:
    """Step by step through the lesson without doing anything: each step's words in the
    page's language, its settings applied (the session's config is the step's), and no check
    claims anything before the learner has done the step."""
    tab = open_lesson(open_tab, name, lang)
    page, lesson = tab.page, LESSONS[name]
    for k in range(len(lesson.steps)):
        expect(page.locator(f"#lesson[data-step='{k}']")).to_be_attached()
        texts = [page.locator(sel).inner_text() for sel in ("#lesson-do", "#lesson-title")]
        texts += page.locator("#lesson-checks li").all_inner_texts()
        for text in texts:
            assert bool(HANGUL.search(text)) == (lang == "ko"), text
        answer = api_lesson(tab, lang)
        assert all(c["state"] != "not" for c in answer["checks"]), answer["checks"]
        want = normalize_config(lesson.config_at(k))
        assert normalize_config(tab.session()["config"]) == want
        if k + 1 < len(lesson.steps):
            page.locator("#lesson-next").click()


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_counting_shows_200_and_4000_iterations(open_tab: OpenTab, lang: str) -> None:
    """100 samples, batch 50, 100 epochs: the counter reads 200; 1,000 / 25 / 100: 4,000."""
    tab = open_lesson(open_tab, "counting", lang)
    answers = play_lesson(tab, "counting", lang)
    assert [a["facts"]["iteration"] for a in answers] == [200, 4000]
    expect(tab.page.locator("#counters")).to_contain_text("4000")
    assert tab.session()["step"] == 4000 and tab.session()["epoch"] == 100


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_keras_mlp_is_under_trained_at_sgd_001_and_over_90_with_sgd_01_or_adam(
    open_tab: OpenTab, lang: str
) -> None:
    tab = open_lesson(open_tab, "keras-mlp", lang)
    answers = play_lesson(tab, "keras-mlp", lang)
    accs = [a["facts"]["test_acc"] for a in answers]
    assert accs[0] < 0.9 < min(accs[1], accs[2]), accs
    # the page's number is the API's: the last metric row of the run, at epoch 20
    rows = tab.api(f"/api/sessions/{tab.session_id()}/history", metrics="true")["points"]
    assert rows[-1]["metrics"]["test"]["accuracy"] == accs[2]
    assert tab.session()["config"]["optimizer"]["name"] == "adam"
