"""The page's language: Korean or English, one at a time, through gettext catalogs.

Message ids are the English strings. The catalogs are ``app/locale/<lang>/LC_MESSAGES/
messages.po`` (``ko`` translated, ``en`` the identity); they are compiled here, in memory, the
first time a language is asked for (babel's ``read_po`` → ``write_mo``, a few milliseconds), so a
fresh clone needs no build step and a stale ``.mo`` can never be served. Fuzzy entries are left
out, as ``msgfmt`` would.

The language of a request (:func:`pick_lang`): ``?lang=ko|en`` first, then the ``lang`` cookie
the page's switch sets, then the ``Accept-Language`` header (the q-values' order: the first of
our languages the browser ranks highest), else English. Anything unknown is ignored, never an
error.

Templates get the language as the ``lang`` variable of their context; ``_()``, ``gettext`` and
``ngettext`` in a template read it (app/page/templating.py). Python strings shown on the page go
through :func:`gettext` with the page's language.

Korean particles (:func:`josa`): 은/는, 이/가, 을/를, 과/와 and (으)로 follow the final
consonant of the word before them, as it is read — Hangul by syllable arithmetic, numbers and
Latin letters by their Korean reading — so the page never writes "(은)는".
"""

from __future__ import annotations

import contextlib
import contextvars
import gettext as _gettext
import io
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from starlette.requests import Request
from starlette.responses import Response

LANGS = ("ko", "en")
DEFAULT_LANG = "en"  # the language for a browser that asks for neither
LOCALE_DIR = Path(__file__).resolve().parents[1] / "locale"
DOMAIN = "messages"
COOKIE = "lang"

_CATALOGS: dict[str, _gettext.NullTranslations] = {}

# The language a render is in, for what has no template context to read it from (macros
# imported without context, macros called from Python): templating.render sets it.
CURRENT: contextvars.ContextVar[str] = contextvars.ContextVar("page_lang", default=DEFAULT_LANG)


@contextlib.contextmanager
def using(lang: str | None) -> Iterator[str]:
    """Render in ``lang`` within the block: regions and macros rendered from Python (which
    have no ``lang`` of their own) and :func:`t` take it from :data:`CURRENT`."""
    code = valid(lang) or DEFAULT_LANG
    token = CURRENT.set(code)
    try:
        yield code
    finally:
        CURRENT.reset(token)


def N_(msgid: str) -> str:
    """Marks ``msgid`` for the catalogs where it is written; translated where it is shown."""
    return msgid


def t(msgid: str) -> str:
    """``msgid`` in the language of the render under way (:func:`using`)."""
    return translations(CURRENT.get()).gettext(msgid)


def valid(lang: str | None) -> str | None:
    """``lang`` if it is one of :data:`LANGS` (case and region ignored: ``ko-KR`` → ``ko``)."""
    if not lang:
        return None
    primary = str(lang).strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in LANGS else None


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def _compile(lang: str) -> _gettext.NullTranslations:
    path = po_path(lang)
    if not path.is_file():
        return _gettext.NullTranslations()
    with path.open("rb") as f:
        catalog = read_po(f, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return _gettext.GNUTranslations(buf)


def translations(lang: str | None) -> _gettext.NullTranslations:
    """The compiled catalog of ``lang`` (an unknown language gets :data:`DEFAULT_LANG`'s)."""
    code = valid(lang) or DEFAULT_LANG
    found = _CATALOGS.get(code)
    if found is None:
        found = _CATALOGS[code] = _compile(code)
    return found


def reload() -> None:
    """Forget the compiled catalogs (tests that edit a .po)."""
    _CATALOGS.clear()


def gettext(lang: str | None, msgid: str) -> str:
    """``msgid`` (the English) in ``lang``; the English itself when the catalog lacks it."""
    return translations(lang).gettext(msgid)


def ngettext(lang: str | None, singular: str, plural: str, n: int) -> str:
    return translations(lang).ngettext(singular, plural, n)


def pgettext(lang: str | None, context: str, msgid: str) -> str:
    """``msgid`` in ``lang`` under a message context (one English word, two meanings)."""
    return translations(lang).pgettext(context, msgid)


_QUALITY = re.compile(r"^\s*q\s*=\s*([0-9.]+)\s*$")


def accept_language(header: str | None) -> str | None:
    """The first of :data:`LANGS` in an ``Accept-Language`` header by q-value (ties keep the
    header's order); ``None`` when it names neither. ``q=0`` means "not this one"."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:1000].split(",")):
        tag, *params = part.split(";")
        q = 1.0
        for param in params:
            m = _QUALITY.match(param)
            if m:
                try:
                    q = float(m.group(1))
                except ValueError:
                    q = 0.0
        lang = valid(tag)
        if lang is not None and q > 0:
            ranked.append((-q, index, lang))
    return min(ranked)[2] if ranked else None


def pick_lang(
    query_lang: str | None, cookie: str | None, accept_language_header: str | None
) -> str:
    """The page's language: ``?lang=``, else the ``lang`` cookie, else ``Accept-Language``,
    else :data:`DEFAULT_LANG`; invalid values are skipped."""
    return (
        valid(query_lang)
        or valid(cookie)
        or accept_language(accept_language_header)
        or DEFAULT_LANG
    )


# --- Korean particles ---------------------------------------------------------------------

# Final consonants (jongseong) by index in the Hangul syllable block: 0 none, 8 ㄹ.
NO_FINAL, RIEUL = 0, 8
_HANGUL_FIRST, _HANGUL_LAST = 0xAC00, 0xD7A3
# how a digit is read (일 이 삼 사 오 육 칠 팔 구, 영): its final consonant
_DIGIT_FINAL = {
    "0": 21, "1": 8, "2": 0, "3": 16, "4": 0, "5": 0, "6": 1, "7": 8, "8": 8, "9": 0,
}
# a whole number ending in zeros is read by its last unit: 십(ㅂ) 백(ㄱ) 천(ㄴ) 만(ㄴ)
_ZEROS_FINAL = {1: 17, 2: 1, 3: 4}
# Latin letters read as their names (acronyms: SGD 에스지디, MSE 엠에스이, L1 엘원…)
_LETTER_FINAL = {"l": 8, "m": 16, "n": 4, "r": 8}
# the end of a Latin word as read: -l 을, -m 음, -n 은, -ng 응, stops with a final consonant
_WORD_END_FINAL = (
    ("ng", 21), ("ck", 1), ("l", 8), ("m", 16), ("n", 4), ("k", 1), ("p", 17), ("b", 17),
    ("t", 19),
)
_SYMBOL_FINAL = {"%": 0}  # 퍼센트
_TRAILING = " \t\"'’”)]}>·.,:;!?"

PAIRS = {
    "은/는": ("은", "는"),
    "이/가": ("이", "가"),
    "을/를": ("을", "를"),
    "과/와": ("과", "와"),
    "으로/로": ("으로", "로"),
    "(으)로": ("으로", "로"),
    "아/야": ("아", "야"),
    "이에요/예요": ("이에요", "예요"),
}


def _number_final(number: str) -> int:
    whole, dot, frac = number.partition(".")
    if dot and frac:
        return _DIGIT_FINAL[frac[-1]]  # after the point digits are read one by one
    stripped = whole.lstrip("0")
    if not stripped:
        return _DIGIT_FINAL["0"]  # 영
    zeros = len(stripped) - len(stripped.rstrip("0"))
    if zeros == 0:
        return _DIGIT_FINAL[stripped[-1]]
    if zeros >= 4:
        # 만 (ㄴ), 십만, 백만, 천만 end in 만; 억 (ㄱ) from 10^8; 조 (none) from 10^12
        return 4 if zeros < 8 else 1 if zeros < 12 else NO_FINAL
    return _ZEROS_FINAL[zeros]


_TAIL = re.compile(r"(\d[\d,]*(?:\.\d+)?)$|([A-Za-z]+)$")


def final_consonant(word: str) -> int:
    """The final consonant index (0 = none, 8 = ㄹ, other = another consonant) of ``word`` as
    read aloud, from its last readable character: a Hangul syllable by arithmetic
    ((code − 0xAC00) % 28), a number by its Korean reading (10 십, 100 백, 0.5 오, 1 일),
    a Latin acronym by its letters' names, a Latin word by its ending."""
    text = str(word).rstrip(_TRAILING)
    if not text:
        return NO_FINAL
    last = text[-1]
    if _HANGUL_FIRST <= ord(last) <= _HANGUL_LAST:
        return (ord(last) - _HANGUL_FIRST) % 28
    if last in _SYMBOL_FINAL:
        return _SYMBOL_FINAL[last]
    m = _TAIL.search(text)
    if m and m.group(1):
        return _number_final(m.group(1).replace(",", ""))
    if m and m.group(2):
        latin = m.group(2)
        if latin.isupper() or len(latin) == 1:
            return _LETTER_FINAL.get(latin[-1].lower(), NO_FINAL)
        low = latin.lower()
        for end, final in _WORD_END_FINAL:
            if low.endswith(end):
                return final
    return NO_FINAL


def particle(word: str, pair: str) -> str:
    """The particle of ``pair`` ("은/는", "이/가", "을/를", "과/와", "(으)로") that follows
    ``word``: the first form after a final consonant, the second after a vowel; for (으)로 a
    final ㄹ takes 로."""
    with_final, without = PAIRS[pair]
    final = final_consonant(word)
    if pair in ("(으)로", "으로/로"):
        return with_final if final not in (NO_FINAL, RIEUL) else without
    return with_final if final != NO_FINAL else without


def josa(word: object, pair: str) -> str:
    """``word`` with its particle: ``josa("학습률 10", "은/는")`` → ``"학습률 10은"``,
    ``josa("0.5", "은/는")`` → ``"0.5는"``."""
    text = str(word)
    return text + particle(text, pair)


# --- requests -------------------------------------------------------------------------------

COOKIE_MAX_AGE = 365 * 24 * 3600


def request_lang(request: Request) -> str:
    """The language of a page request (:func:`pick_lang` over its ``?lang=``, ``lang`` cookie
    and ``Accept-Language``)."""
    return pick_lang(
        request.query_params.get("lang"),
        request.cookies.get(COOKIE),
        request.headers.get("accept-language"),
    )


def remember(request: Request, response: Response) -> None:
    """Keep a valid ``?lang=`` in the ``lang`` cookie (the header's switch is two links), so
    the next page the learner opens is in it too."""
    chosen = valid(request.query_params.get("lang"))
    if chosen is not None and chosen != request.cookies.get(COOKIE):
        response.set_cookie(COOKIE, chosen, max_age=COOKIE_MAX_AGE, samesite="lax", path="/")
