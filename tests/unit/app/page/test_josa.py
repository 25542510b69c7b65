"""Korean particles (app/page/i18n.py ``josa``): 은/는, 이/가, 을/를, 과/와 and (으)로 chosen
by the final consonant of the word before, as it is read — Hangul by syllable arithmetic,
numbers and Latin letters by their Korean reading. The expected forms are worked by hand from
the readings (학습률 ends in ㄹ, 10 is 십 with ㅂ, 0.5 is 영점오, 100 is 백 with ㄱ…)."""

from __future__ import annotations

import pytest

from app.page.i18n import final_consonant, josa, particle

HANGUL = [  # word, 은/는, 이/가, 을/를, 과/와, (으)로
    ("학습률", "학습률은", "학습률이", "학습률을", "학습률과", "학습률로"),  # ㄹ: 로
    ("모델", "모델은", "모델이", "모델을", "모델과", "모델로"),
    ("에포크", "에포크는", "에포크가", "에포크를", "에포크와", "에포크로"),
    ("가중치", "가중치는", "가중치가", "가중치를", "가중치와", "가중치로"),
    ("손실", "손실은", "손실이", "손실을", "손실과", "손실로"),
    ("역전파", "역전파는", "역전파가", "역전파를", "역전파와", "역전파로"),
    ("기울기 소실", "기울기 소실은", "기울기 소실이", "기울기 소실을", "기울기 소실과",
     "기울기 소실로"),
    ("배치 정규화", "배치 정규화는", "배치 정규화가", "배치 정규화를", "배치 정규화와",
     "배치 정규화로"),
    ("층", "층은", "층이", "층을", "층과", "층으로"),  # ㅇ
    ("값", "값은", "값이", "값을", "값과", "값으로"),  # ㅄ
]
NUMBERS = [  # number as written, 은/는, (으)로 — by its Korean reading
    ("0", "0은", "0으로"),  # 영 (ㅇ)
    ("1", "1은", "1로"),  # 일 (ㄹ)
    ("2", "2는", "2로"),  # 이
    ("3", "3은", "3으로"),  # 삼 (ㅁ)
    ("4", "4는", "4로"),  # 사
    ("5", "5는", "5로"),  # 오
    ("6", "6은", "6으로"),  # 육 (ㄱ)
    ("7", "7은", "7로"),  # 칠 (ㄹ)
    ("8", "8은", "8로"),  # 팔 (ㄹ)
    ("9", "9는", "9로"),  # 구
    ("10", "10은", "10으로"),  # 십 (ㅂ)
    ("20", "20은", "20으로"),  # 이십
    ("50", "50은", "50으로"),  # 오십
    ("100", "100은", "100으로"),  # 백 (ㄱ)
    ("1000", "1000은", "1000으로"),  # 천 (ㄴ)
    ("1,000", "1,000은", "1,000으로"),
    ("10000", "10000은", "10000으로"),  # 만 (ㄴ)
    ("200000", "200000은", "200000으로"),  # 이십만
    ("100000000", "100000000은", "100000000으로"),  # 억 (ㄱ)
    ("12", "12는", "12로"),  # 십이
    ("0.5", "0.5는", "0.5로"),  # 영점오
    ("0.1", "0.1은", "0.1로"),  # 영점일 (ㄹ)
    ("0.03", "0.03은", "0.03으로"),  # 영점영삼 (ㅁ)
    ("0.10", "0.10은", "0.10으로"),  # 영점일영: digits after the point one by one
    ("1e-3", "1e-3은", "1e-3으로"),  # …삼
    ("-4", "-4는", "-4로"),
    ("45%", "45%는", "45%로"),  # 퍼센트
]
LATIN = [  # word, 은/는, (으)로 — as a Korean reads it
    ("SGD", "SGD는", "SGD로"),  # 에스지디
    ("MSE", "MSE는", "MSE로"),  # 엠에스이
    ("ReLU", "ReLU는", "ReLU로"),  # 렐루
    ("Adam", "Adam은", "Adam으로"),  # 아담 (ㅁ)
    ("L1", "L1은", "L1로"),  # 엘원: the digit is read last (일, ㄹ)
    ("URL", "URL은", "URL로"),  # 유알엘 (ㄹ)
    ("dropout", "dropout은", "dropout으로"),  # 드롭아웃 (ㅅ)
    ("tanh", "tanh는", "tanh로"),  # 탄에이치
    ("PCA", "PCA는", "PCA로"),  # 피씨에이
]


@pytest.mark.parametrize(("word", "topic", "subject", "obj", "together", "towards"), HANGUL)
def test_hangul_words_take_the_particle_their_last_syllable_asks_for(
    word: str, topic: str, subject: str, obj: str, together: str, towards: str
) -> None:
    assert josa(word, "은/는") == topic
    assert josa(word, "이/가") == subject
    assert josa(word, "을/를") == obj
    assert josa(word, "과/와") == together
    assert josa(word, "(으)로") == towards
    assert josa(word, "으로/로") == towards


@pytest.mark.parametrize(("number", "topic", "towards"), NUMBERS)
def test_numbers_take_the_particle_of_their_korean_reading(
    number: str, topic: str, towards: str
) -> None:
    assert josa(number, "은/는") == topic
    assert josa(number, "(으)로") == towards
    # 이/가 and 을/를 follow the same final consonant as 은/는
    has_final = topic.endswith("은")
    assert josa(number, "이/가") == number + ("이" if has_final else "가")
    assert josa(number, "을/를") == number + ("을" if has_final else "를")


@pytest.mark.parametrize(("word", "topic", "towards"), LATIN)
def test_latin_words_take_the_particle_of_how_they_are_read(
    word: str, topic: str, towards: str
) -> None:
    assert josa(word, "은/는") == topic
    assert josa(word, "(으)로") == towards


def test_the_final_consonant_is_the_syllable_arithmetic() -> None:
    """(code − 0xAC00) % 28: 0 none, 8 ㄹ, 17 ㅂ; trailing brackets and quotes are skipped."""
    assert final_consonant("가") == 0
    assert final_consonant("각") == 1
    assert final_consonant("갈") == 8
    assert final_consonant("갑") == 17
    assert final_consonant("힣") == (0xD7A3 - 0xAC00) % 28 == 27
    assert final_consonant("값(NaN)") == final_consonant("NaN")
    assert final_consonant("") == 0
    assert particle("학습률 10", "은/는") == "은" and particle("학습률 0.5", "은/는") == "는"


def test_an_unknown_pair_is_refused() -> None:
    with pytest.raises(KeyError):
        josa("학습률", "의/에")
