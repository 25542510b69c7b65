"""Korean beside the English: form labels, hints and the phase stepper's words carry a
``<span lang="ko">`` (or "English · 한국어" in a title), and the English the other tests look
for stays where it was."""

from __future__ import annotations

from browsertools import OpenTab, poll
from pagetools import SMALL_NET, config_url, ready
from playwright.sync_api import expect

LABELS = {  # control id -> Korean its <label> shows beside the English
    "lr": "학습률",
    "batch-size": "배치 크기",
    "optimizer": "옵티마이저",
    "loss": "손실 함수",
    "regularization": "정규화",
    "dropout": "드롭아웃",
    "seed": "시드",
    "show-test": "테스트 데이터 보기",
    "surface-directions": "방향",
}


def test_korean_labels_and_phase_words(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET))
    page = tab.page
    ready(tab)
    for control, korean in LABELS.items():
        label = page.locator(f'label:has(#{control}), label[for="{control}"]').first
        expect(label.locator('[lang="ko"]')).to_contain_text(korean)
    expect(page.locator('label[for="lr"]')).to_contain_text("learning rate")
    expect(page.locator('label[for="opt-momentum"] [lang="ko"]')).to_have_text("모멘텀")
    thumb = page.locator("button.thumb").first
    assert "·" in (thumb.get_attribute("title") or ""), thumb.get_attribute("title")
    expect(page.locator("#surface-hint [lang='ko']")).to_contain_text("가중치")

    wrap = page.locator("#phase-wrap")
    expect(wrap).to_contain_text("준비")  # ready
    expect(page.locator("#phase-next-name")).to_contain_text("forward")
    page.locator("#phase-next").click()
    poll(lambda: (tab.state()["last_phase"] or {}).get("phase") == "forward", what="forward ran")
    expect(page.locator("#phase-name")).to_contain_text("forward")
    expect(wrap.locator(".ko-phase").first).to_contain_text("순전파")
    expect(wrap.locator(".phase-order li.next [lang='ko']")).not_to_be_empty()
