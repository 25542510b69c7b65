"""One language at a time: the page in Korean or in English, chosen by ``?lang=``, by the
header's switch (kept in the ``lang`` cookie) or by the browser's Accept-Language; labels,
phase words, the divergence alert and a refused change's error all in the chosen language,
and no English word of the interface left on the Korean page."""

from __future__ import annotations

import re

from browsertools import OpenTab, Tab, poll
from pagetools import SMALL_NET, config_url, ready, set_input
from playwright.sync_api import expect

LABELS = {  # control id -> its label on the Korean page
    "lr": "학습률",
    "batch-size": "배치 크기",
    "optimizer": "옵티마이저",
    "loss": "손실 함수",
    "regularization": "규제",  # not 정규화: that is batch normalization's
    "batchnorm": "배치 정규화",
    "dropout": "드롭아웃",
    "seed": "시드",
    "show-test": "테스트 데이터 보기",
    "surface-directions": "방향",
}
ENGLISH = {  # the same labels on the English page
    "lr": "learning rate",
    "regularization": "regularization",
    "batch-size": "batch size",
}
# Latin words a Korean page may show: names, symbols, units, formats (not interface words)
NAMES = {
    "SGD", "Adam", "AdamW", "Adagrad", "RMSprop", "RMSProp", "ReLU", "Leaky", "ELU", "GELU",
    "SiLU", "tanh", "PyTorch", "Xavier", "He", "PCA", "CSV", "JSON", "URL", "XOR", "NaN",
    "mse", "mae", "bce", "huber", "L1", "L2", "log", "log10", "dL", "dW", "dw", "db", "dz",
    "Shift", "English", "eps", "alpha", "beta1", "beta2", "amsgrad", "momentum_buffer",
    "exp_avg", "exp_avg_sq", "square_avg", "sample", "seed", "gradcheck", "api",
    "float64", "ms", "num", "max", "sign", "prev", "Playground", "reg", "plane", "gauss",
    "UCI", "scikit", "learn", "sessions", "json", "csv", "png", "sin", "a_j", "a_k", "w_jk",
    "b_k", "g_num", "sigmoid", "softmax", "linear", "float",
    # the optimizers', activations', losses' and export formats' own names
    "BFGS", "Newton", "PReLU", "rmse", "NumPy", "ONNX", "Keras", "Dense", "MLP", "TensorFlow",
}
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


def english_words(text: str) -> set[str]:
    """Words of three or more Latin letters in ``text`` that are not names or symbols."""
    return {w for w in WORD.findall(text) if w not in NAMES and w.lower() not in NAMES}


def visible_text(tab: Tab) -> str:
    """What the page shows: the body's text with the hidden parts left out, and the titles,
    placeholders and aria-labels a learner meets."""
    return str(tab.page.evaluate("""() => {
      const body = document.body.cloneNode(true);  // config keys in <code> are the API's names
      for (const e of body.querySelectorAll('code, script, [hidden]')) e.remove();
      document.documentElement.appendChild(body);
      const parts = [body.innerText, document.title];
      body.remove();
      for (const e of document.querySelectorAll('[title], [placeholder], [aria-label], [alt]')) {
        for (const a of ['title', 'placeholder', 'aria-label', 'alt']) {
          if (e.getAttribute(a)) parts.push(e.getAttribute(a))
        }
      }
      return parts.join('\\n')
    }"""))


def test_the_korean_page_speaks_korean_only(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET) + "&lang=ko")
    page = tab.page
    ready(tab)
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    for control, korean in LABELS.items():
        label = page.locator(f'label:has(#{control}), label[for="{control}"]').first
        expect(label).to_contain_text(korean)
        expect(label.locator('[lang="ko"]')).to_have_count(0)  # no second language beside it
    expect(page.locator('label[for="lr"]')).not_to_contain_text("learning rate")
    expect(page.locator('label[for="regularization"]')).not_to_contain_text("정규화")
    expect(page.locator("#view")).to_contain_text("가중치")  # the view menu
    expect(page.locator("#loss option:checked")).to_contain_text("이진 교차 엔트로피")
    expect(page.locator("#dataset option:checked")).to_contain_text("원")

    wrap = page.locator("#phase-wrap")
    expect(wrap).to_contain_text("준비")  # ready
    expect(page.locator("#phase-next-name")).to_have_text("순전파 · 은닉층 1")
    page.locator("#phase-next").click()
    poll(lambda: (tab.state()["last_phase"] or {}).get("phase") == "forward", what="forward ran")
    expect(page.locator("#phase-name")).to_have_text("순전파 · 은닉층 1")
    expect(page.locator("#phase-numbers")).to_contain_text("추적 예제")
    expect(page.locator("#counters")).to_contain_text("에포크")

    text = visible_text(tab)
    assert "(은)는" not in text and "(을)를" not in text and "(으)로" not in text
    left = english_words(text)
    assert not left, f"English words on the Korean page: {sorted(left)}"


def test_the_switch_chooses_and_the_cookie_remembers(open_tab: OpenTab) -> None:
    tab = open_tab(config_url(SMALL_NET) + "&lang=ko")
    page = tab.page
    ready(tab)
    expect(page.locator("#lang-ko")).to_have_attribute("aria-current", "true")
    page.locator("#lang-en").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    for control, english in ENGLISH.items():
        expect(page.locator(f'label[for="{control}"]')).to_contain_text(english)
    expect(page.locator("#train-controls")).not_to_contain_text("학습률")
    cookies = {c["name"]: c["value"] for c in tab.context.cookies()}
    assert cookies.get("lang") == "en", cookies
    sid = ready(tab)
    page.goto(f"/?s={sid}")  # no ?lang=: the cookie says it
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator('label[for="lr"]')).to_have_text("learning rate")
    page.locator("#lang-ko").click()
    expect(page.locator('label[for="lr"]')).to_have_text("학습률")
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "ko")
    expect(page.locator("#phase-next-name")).to_have_text("순전파 · 은닉층 1")
    assert {c["name"]: c["value"] for c in tab.context.cookies()}.get("lang") == "ko"


def test_a_refused_change_is_said_in_the_pages_language(open_tab: OpenTab) -> None:
    """The API answers in English with a code and the field; the Korean page says it in
    Korean, the English page as the API said it."""
    for lang, said in (("ko", "배치 크기: 받아들일 수 없는 값입니다."), ("en", "batch_size")):
        tab = open_tab(config_url(SMALL_NET) + f"&lang={lang}")
        page = tab.page
        ready(tab)
        poll(lambda t=tab: any(n == "share" for n, _, _ in t.sse), what="the first frame")
        set_input(page.locator("#batch-size"), 0)
        error = page.locator("#status-wrap .error")
        expect(error).to_contain_text(said)
        poll(lambda t=tab: any("status of 422" in m for m in t.console_errors), what="422")
        tab.console_errors[:] = [m for m in tab.console_errors if "422" not in m]


def test_the_divergence_alert_in_korean(open_tab: OpenTab) -> None:
    diverging = {**SMALL_NET, "dataset": {"name": "reg_plane", "n_samples": 200},
                 "optimizer": {"name": "sgd", "lr": 50.0}}
    tab = open_tab(config_url(diverging) + "&lang=ko")
    page = tab.page
    ready(tab)
    page.locator("#play").click()
    poll(lambda: tab.session()["status"] == "diverged", timeout=30, what="the run to diverge")
    alert = page.locator("#divergence")
    expect(alert).to_be_visible(timeout=20_000)
    expect(alert.locator("h2")).to_have_text("학습이 발산했습니다")
    expect(alert).to_contain_text("학습률 50은 이 손실 지형에 비해 너무 컸습니다")
    expect(page.locator("#rate-checked")).to_contain_text("발산하지 않았습니다")
    button = page.locator("#reset-smaller-lr")
    expect(button).to_have_text(re.compile(r"^학습률 \S+(으로|로) 초기화$"))
    expect(page.locator("#status")).to_have_text("발산")
    text = visible_text(tab)
    assert "(은)는" not in text and "(으)로" not in text and "(을)를" not in text
    left = english_words(text)
    assert not left, f"English words on the Korean page: {sorted(left)}"
