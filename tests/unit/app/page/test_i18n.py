"""The page in one language: the catalogs cover every message the page shows, the language is
chosen by ?lang=, the cookie, then Accept-Language, and the Korean pages (the playground with a
run, the divergence alert, the race page, the gradient check, the errors) show no English word
of the interface."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from apptools import ApiClient, make_settings
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from app.page import controls, i18n, names, script_words
from app.page.feed import feed_of
from app.sessions import race_presets

ROOT = Path(__file__).resolve().parents[4]
NET = {
    "dataset": {"name": "circle", "n_samples": 100, "noise": 0.1, "seed": 3},
    "hidden": [{"units": 3, "activation": "tanh"}, {"units": 2, "activation": "relu"}],
    "optimizer": {"name": "adam", "lr": 0.01},
    "batch_size": 10,
    "seed": 1,
    "regularization": {"kind": "l2", "rate": 0.001},
    "dropout": 0.1,
}
DIVERGING = {  # a regression net at learning rate 50: the loss leaves the finite numbers
    "dataset": {"name": "reg_plane", "n_samples": 200, "seed": 3},
    "hidden": [{"units": 2, "activation": "tanh"}],
    "optimizer": {"name": "sgd", "lr": 50.0},
    "batch_size": 10,
    "seed": 1,
}
# Latin words a Korean page may show: names (optimizers, activations, formats), symbols and
# the variable names of formulas, the language switch's "English"
NAMES = {
    "sgd", "adam", "adamw", "adagrad", "rmsprop", "relu", "leaky", "elu", "gelu", "silu",
    "tanh", "sigmoid", "softmax", "linear", "pytorch", "xavier", "pca", "csv", "json", "url",
    "xor", "nan", "mse", "mae", "bce", "huber", "log", "shift", "english", "eps", "beta",
    "amsgrad", "playground", "reg", "plane", "gauss", "sin", "float", "num", "wout", "bout",
    "a_j", "a_k", "w_jk", "b_k", "g_num", "exp_avg", "exp_avg_sq", "square_avg", "uci",
    "scikit", "learn", "momentum_buffer", "sample", "seed", "gradcheck", "api",
    # the presets' and the exports' proper names (Keras's Dense layers, the MLP, the formats)
    "keras", "dense", "mlp", "tensorflow", "numpy", "onnx", "bfgs", "newton", "prelu", "rmse",
    "prev",  # m_prev, a subscript of Adam's update formula
}
WORD = re.compile(r"[A-Za-z][A-Za-z_]{2,}")


class Shown(HTMLParser):
    """The text a page shows: its text outside scripts, styles and code (config keys such as
    ``optimizer.lr=0.1`` are the API's names), and the titles, alt texts, placeholders and
    aria-labels."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self.hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "code"):
            self.hidden += 1
        for key, value in attrs:
            if key in ("title", "alt", "placeholder", "aria-label") and value:
                self.parts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "code"):
            self.hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def shown(html: str) -> str:
    parser = Shown()
    parser.feed(html)
    return "\n".join(parser.parts)


def english(text: str) -> set[str]:
    return {w for w in WORD.findall(text) if w.lower() not in NAMES}


@pytest.fixture
def api(tmp_path: Path) -> Iterator[ApiClient]:
    client = ApiClient(make_settings(tmp_path))
    yield client
    client.close()


# ---- the catalogs --------------------------------------------------------------------------


def source_messages() -> set[Any]:
    """Every message id in the templates and the page's Python, extracted as `make catalogs`
    does (babel.cfg): what the page can show."""
    method_map = [("app/**.py", "python"), ("templates/**.html", "jinja2")]
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "N_": None, "t": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT, method_map, options, keywords=keywords
    ):
        found.add(message)
    return found


def catalog(lang: str) -> dict[Any, Any]:
    with i18n.po_path(lang).open("rb") as f:
        po = read_po(f, locale=lang)
    return {m.id: m for m in po if m.id}


def test_every_message_the_page_shows_has_its_korean() -> None:
    """A message with no Korean (missing, empty or fuzzy) would show English on the Korean
    page; a placeholder the Korean drops would lose a number."""
    messages = source_messages()
    assert len(messages) > 400
    ko, en = catalog("ko"), catalog("en")
    missing = [m for m in messages if m not in ko]
    empty = [m for m in messages if m in ko and not all(_strings(ko[m].string))]
    fuzzy = [m for m in messages if m in ko and ko[m].fuzzy]
    assert not missing and not empty and not fuzzy, (missing, empty, fuzzy)
    assert all(m in en for m in messages)
    for m in messages:
        for want in set(re.findall(r"%\((\w+)\)s", _strings(m)[0])) - {"num"}:
            said = " ".join(_strings(ko[m].string))
            # the Korean may say a value with its particle instead (lr → lr_topic)
            assert re.search(rf"%\({want}(_\w+)?\)s", said), (m, want)


def _strings(value: Any) -> list[str]:
    return list(value) if isinstance(value, tuple | list) else [value]


def test_the_glossary_is_followed() -> None:
    """규제 is regularization, 정규화 only batch normalization's; the glossary says so and the
    Korean catalog keeps to it."""
    glossary = (ROOT / "app/locale/GLOSSARY.md").read_text(encoding="utf-8")
    ko = catalog("ko")
    for term, korean in (("regularization", "규제"), ("batch normalization", "배치 정규화"),
                         ("backpropagation", "역전파"), ("learning rate", "학습률"),
                         ("mini-batch", "미니배치"), ("epoch", "에포크")):
        assert re.search(rf"\|\s*{re.escape(term)}\s*\|\s*{korean}\s*\|", glossary), term
    assert ko["regularization"].string == "규제"
    assert ko["batch norm"].string == "배치 정규화"
    said = [" ".join(_strings(m.string)) for m in ko.values()]
    assert not [s for s in said if "정규화" in s and "배치 정규화" not in s
                and "필터 정규화" not in s], "정규화 alone is batch norm's word"
    assert not [s for s in said if "미니 배치" in s]  # 미니배치, one word
    assert not [s for s in said if re.search(r"\((은|을|이|으)\)", s)]  # never "(은)는"


def test_engine_names_and_descriptions_have_their_catalog_entries() -> None:
    """Data set descriptions and race presets come from the engine and the sessions: their
    English is a message id of the catalog (names.py lists them for extraction)."""
    ko = catalog("ko")
    for d in controls.catalogs()["datasets"]:
        assert d["doc"] in ko and d["name"] in names.DATASETS
    for p in race_presets.catalog():
        assert p["doc"] in ko and p["name"] in names.RACE_NAMES
        for run in race_presets.race_preset(p["name"])["runs"]:
            with i18n.using("ko"):
                assert not english(names.run_name(run["name"])), run["name"]


# ---- choosing the language -----------------------------------------------------------------


def test_the_language_is_the_query_then_the_cookie_then_the_header() -> None:
    assert i18n.pick_lang("ko", "en", "en-US") == "ko"
    assert i18n.pick_lang("EN", "ko", "ko") == "en"
    assert i18n.pick_lang("xx", "ko", "en") == "ko"  # an unknown ?lang= is skipped
    assert i18n.pick_lang(None, "fr", "ko-KR,ko;q=0.9") == "ko"
    assert i18n.pick_lang(None, None, "fr-FR,fr;q=0.9,en;q=0.5,ko;q=0.8") == "ko"
    assert i18n.pick_lang(None, None, "ko;q=0.1, en;q=0.9") == "en"
    assert i18n.pick_lang(None, None, "ko;q=0, de") == "en"  # q=0: not Korean
    assert i18n.pick_lang(None, None, "de-DE, ja") == "en"  # unknown: English
    assert i18n.pick_lang(None, None, None) == "en"
    assert i18n.pick_lang(None, None, ";;,q=x,ko;q=abc") == "ko"  # junk does not raise


def test_the_page_follows_lang_keeps_it_in_a_cookie_and_ignores_junk(api: ApiClient) -> None:
    r = api.get("/?lang=ko")
    assert r.status_code == 200 and '<html lang="ko">' in r.text
    assert r.cookies.get("lang") == "ko"
    assert "역전파 놀이터" in r.text and ">learning rate<" not in r.text
    r = api.get("/", headers={"Cookie": "lang=ko", "Accept-Language": "en"})
    assert '<html lang="ko">' in r.text and "lang" not in r.cookies  # kept, not set again
    r = api.get("/", headers={"Accept-Language": "ko-KR,ko;q=0.9,en;q=0.8"})
    assert '<html lang="ko">' in r.text
    r = api.get("/", headers={"Accept-Language": "de"})
    assert '<html lang="en">' in r.text and ">learning rate<" in r.text
    for junk in ("xx", "xx-ko", "%00", "<script>", "k" * 19):
        r = api.get("/", params={"lang": junk})
        assert r.status_code == 200 and "lang" not in r.cookies, junk
    r = api.get("/race", params={"lang": "ko"})
    assert r.status_code == 200 and '<html lang="ko">' in r.text and "경주" in r.text
    r = api.get("/docs", params={"lang": "ko"})
    assert r.status_code == 200 and '<html lang="ko">' in r.text


# ---- the Korean pages ----------------------------------------------------------------------


def test_the_korean_playground_shows_no_english_word(api: ApiClient) -> None:
    sid, h = api.create(NET)
    assert api.post(f"/api/sessions/{sid}/step", json={"count": 5}, headers=h).is_success
    assert api.post(f"/api/sessions/{sid}/step", json={"phase": "next"}, headers=h).is_success
    page = api.get(f"/?s={sid}&lang=ko", headers=h).text
    text = shown(page)
    assert "규제" in text and "추적 예제" in text and "연쇄 법칙" in text and "에포크" in text
    assert not english(text), sorted(english(text))
    assert "page-events?lang=ko" in page  # the stream sends Korean fragments to this page
    # the English page is the same page in English, without Korean
    page = api.get(f"/?s={sid}&lang=en", headers=h).text
    assert not re.search("[\uac00-\ud7a3]", shown(page).replace("한국어", ""))
    # the gradient check, loaded by its button
    panel = api.get(f"/api/sessions/{sid}/gradcheck.html?lang=ko", headers=h).text
    assert "판정" in panel and not english(shown(panel)), sorted(english(shown(panel)))


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the run that diverges, in-process
def test_the_divergence_alert_in_korean_says_the_rate_with_its_particle(api: ApiClient) -> None:
    sid, h = api.create(DIVERGING)
    api.post(f"/api/sessions/{sid}/step", json={"count": 200}, headers=h)
    assert api.get(f"/api/sessions/{sid}", headers=h).json()["status"] == "diverged"
    page = api.get(f"/?s={sid}&lang=ko", headers=h).text
    start = page.index('<div id="divergence"')
    alert = shown(page[start:page.index("</section>", start)])
    assert "학습이 발산했습니다" in alert
    assert "학습률 50은 이 손실 지형에 비해 너무 컸습니다" in alert  # 오십: ㅂ → 은
    assert re.search(r"이터레이션 \d+에서 \(학습률 50\) (손실이|기울기가|업데이트)", alert), alert
    assert re.search(r"학습률 \S+(으로|로) 초기화", alert), alert
    assert "(은)는" not in alert and "(으)로" not in alert and not english(alert), alert
    english_alert = shown(api.get(f"/?s={sid}&lang=en", headers=h).text)
    assert "Learning rate 50 was too large" in english_alert


def test_the_korean_race_page(api: ApiClient) -> None:
    r = api.post("/api/races", json={"preset": "learning-rate"})
    assert r.status_code == 201, r.text
    race = r.json()["id"]
    cookie = "; ".join(f"{k}={v}" for k, v in r.cookies.items())
    page = api.get(f"/race/{race}?lang=ko", headers={"Cookie": cookie})
    assert page.status_code == 200
    text = shown(page.text)
    assert "학습률 0.001" in text and "같은 출발점" in text and not english(text), english(text)
    missing = shown(api.get("/race/nope?lang=ko").text)
    assert "찾을 수 없습니다: 경주." in missing


def test_api_errors_keep_their_english_and_carry_a_code_the_page_says(api: ApiClient) -> None:
    sid, h = api.create(NET)
    r = api.patch(f"/api/sessions/{sid}", json={"config": {"batch_size": 0}}, headers=h)
    body = r.json()
    assert r.status_code == 422 and body["code"] == "invalid" and "batch_size" in body["detail"]
    assert script_words.error_text(body, "en") == body["detail"]
    assert script_words.error_text(body, "ko") == "배치 크기: 받아들일 수 없는 값입니다."
    r = api.get("/api/sessions/nope", headers=h)
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    over = {"detail": "hidden.0.units: 9999 is over the limit max_units=256", "code":
            "over_limit", "field": "hidden.0.units", "max": 256}
    assert script_words.error_text(over, "ko") == "은닉층: 한도(256)를 넘는 값입니다."
    page = api.get("/?preset=nope&lang=ko")
    assert page.status_code == 422 and "찾을 수 없습니다: 프리셋." in shown(page.text)
    words = script_words.words("ko")
    assert words["errors"]["invalid"] == "%(field)s: 받아들일 수 없는 값입니다."
    assert words["fields"]["optimizer.lr"] == "학습률"


# ---- fragments per language ----------------------------------------------------------------


def test_two_pages_of_one_session_each_get_their_language(api: ApiClient) -> None:
    """A Korean and an English page watch one session: each frame is rendered once per
    language watched, and each stream takes its own; with one language watching, the other is
    not rendered at all (the cost of the usual case is one rendering)."""
    sid, h = api.create(NET)
    session = api.manager.sessions[sid]
    feed = feed_of(session)
    feed.watch("ko", +1)
    api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
    assert feed.refresh_local(session, api.manager)
    assert feed.view("ko").frame_no == feed.frame_no
    assert feed.view("en").frame_no != feed.frame_no and not feed.view("en").published[1]
    feed.watch("en", +1)
    api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
    assert feed.refresh_local(session, api.manager)
    assert feed.view("ko").frame_no == feed.view("en").frame_no == feed.frame_no
    ko, en = feed.html("ko"), feed.html("en")
    assert "에포크" in ko["counters"] and "epoch" not in shown(ko["counters"])
    assert "epoch" in en["counters"] and "에포크" not in en["counters"]
    _, fresh_ko = feed.since(0, "ko")
    _, fresh_en = feed.since(0, "en")
    assert {n for n, _ in fresh_ko} == {n for n, _ in fresh_en}
    feed.watch("ko", -1)
    api.post(f"/api/sessions/{sid}/step", json={"count": 1}, headers=h)
    assert feed.refresh_local(session, api.manager)
    assert feed.view("en").frame_no == feed.frame_no != feed.view("ko").frame_no
    feed.watch("ko", +1)  # a Korean page comes back: its stream brings it up to date
    assert feed.behind("ko")
    feed.ensure("ko")
    assert not feed.behind("ko") and "에포크" in feed.html("ko")["counters"]
