"""Official transliteration (Transliteration Act 2009): known official spellings and the special rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfeil.bg.translit import TABLE, transliterate


@pytest.mark.parametrize(
    ("cyrillic", "latin"),
    [
        ("Георги", "Georgi"),
        ("Цветелина", "Tsvetelina"),
        ("Йордан", "Yordan"),
        ("Юлия", "Yulia"),
        ("Христо", "Hristo"),
        ("Българска", "Balgarska"),
        ("Жечев", "Zhechev"),
        ("София", "Sofia"),
        ("Мария", "Maria"),
        ("Щерев", "Shterev"),
        ("Шумен", "Shumen"),
        ("Пловдив", "Plovdiv"),
        ("Стара Загора", "Stara Zagora"),
        ("Търговище", "Targovishte"),
        ("Чавдар", "Chavdar"),
        ("Ямбол", "Yambol"),
        ("Gorna Oryahovitsa", "Gorna Oryahovitsa"),
        ("Горна Оряховица", "Gorna Oryahovitsa"),
        ("Дюлгеров", "Dyulgerov"),
        ("Добрич", "Dobrich"),
    ],
)
def test_official_examples(cyrillic: str, latin: str) -> None:
    assert transliterate(cyrillic) == latin


def test_ia_only_at_end_of_word() -> None:
    assert transliterate("Ивелия") == "Ivelia"
    assert transliterate("Ияна") == "Iyana"  # not at the end: и -> i, я -> ya
    assert transliterate("София-град") == "Sofia-grad"
    assert transliterate("Мария Иванова") == "Maria Ivanova"


def test_capitalisation_is_preserved() -> None:
    assert transliterate("Щ") == "Sht"
    assert transliterate("ЩЕ") == "SHTE"
    assert transliterate("ЖЕЧЕВ") == "ZHECHEV"
    assert transliterate("ЮЛИЯ") == "YULIA"
    assert transliterate("ИВАН ЩЕРЕВ") == "IVAN SHTEREV"
    assert transliterate("ул. Цар Симеон") == "ul. Tsar Simeon"


def test_hard_and_soft_signs() -> None:
    assert transliterate("ъ") == "a"
    assert transliterate("Кьосев") == "Kyosev"


def test_table_covers_the_bulgarian_alphabet() -> None:
    alphabet = "абвгдежзийклмнопрстуфхцчшщъьюя"
    assert all(ch in TABLE for ch in alphabet)


@given(st.text(alphabet="абвгдежзийклмнопрстуфхцчшщъьюяАБВГДЕЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЬЮЯ -", max_size=40))
def test_output_is_ascii_for_bulgarian_text(text: str) -> None:
    out = transliterate(text)
    assert out.isascii()
    assert out.count(" ") == text.count(" ")
