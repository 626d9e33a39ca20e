"""ЕГН, ЛНЧ, ЕИК: the worked examples of SPECS.md §4 and properties over generated numbers."""

from __future__ import annotations

import random
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfeil.bg.identifiers import (
    BgIdError,
    IdKind,
    Sex,
    classify,
    egn_check_digit,
    eik9_check_digit,
    generate_egn,
    generate_eik9,
    generate_eik13,
    generate_lnch,
    is_valid_egn,
    is_valid_eik,
    is_valid_lnch,
    validate_egn,
    validate_eik,
    validate_lnch,
)
from portfeil.errors import PortfeilError

birth_dates = st.dates(min_value=date(1800, 1, 1), max_value=date(2099, 12, 31))
sexes = st.sampled_from(list(Sex))


def _mutations(number: str) -> list[str]:
    out = []
    for i, ch in enumerate(number):
        for d in "0123456789":
            if d != ch:
                out.append(number[:i] + d + number[i + 1 :])
    return out


# --- worked examples ---------------------------------------------------------------------------------------------


def test_egn_worked_example_1985() -> None:
    info = validate_egn("8506258485")
    assert info.birth_date == date(1985, 6, 25)
    assert info.sex is Sex.MALE
    assert info.iso5218_sex == 1


def test_egn_worked_example_2000_uses_month_plus_40() -> None:
    info = validate_egn("0042096485")
    assert info.birth_date == date(2000, 2, 9)


def test_egn_1800s_month_plus_20() -> None:
    number = generate_egn(date(1899, 12, 31), Sex.FEMALE, serial=3)
    assert number[2:4] == "32"
    info = validate_egn(number)
    assert info.birth_date == date(1899, 12, 31)
    assert info.sex is Sex.FEMALE


def test_lnch_worked_example() -> None:
    assert validate_lnch("7111042925") == "7111042925"
    assert not is_valid_egn("7111042925")


def test_eik9_worked_example() -> None:
    assert validate_eik("175074752") is IdKind.EIK


def test_eik9_second_pass_example() -> None:
    digits = [int(c) for c in "17748014"]
    assert sum((i + 1) * d for i, d in enumerate(digits)) % 11 == 10  # first pass gives 10
    assert eik9_check_digit("17748014") == 8
    assert is_valid_eik("177480148")


def test_eik13_worked_example() -> None:
    assert validate_eik("1213961230342") is IdKind.EIK13


# --- negative cases ----------------------------------------------------------------------------------------------


def test_rejects_egn_with_wrong_check_digit() -> None:
    with pytest.raises(BgIdError) as e:
        validate_egn("8506258484")
    assert e.value.code == "bad_check_digit"


def test_rejects_egn_with_impossible_date() -> None:
    body = "850230848"  # 30 February 1985
    with pytest.raises(BgIdError) as e:
        validate_egn(body + str(egn_check_digit(body)))
    assert e.value.code == "invalid_date"


def test_rejects_egn_with_month_code_outside_ranges() -> None:
    body = "851525848"  # month 15 is in no range
    with pytest.raises(BgIdError) as e:
        validate_egn(body + str(egn_check_digit(body)))
    assert e.value.code == "invalid_date"


@pytest.mark.parametrize(
    ("number", "code"),
    [("", "not_digits"), ("85062584８5", "not_digits"), ("850625848", "wrong_length"),
     ("85062584850", "wrong_length"), ("8506 58485", "not_digits")],
)
def test_rejects_malformed_egn(number: str, code: str) -> None:
    with pytest.raises(BgIdError) as e:
        validate_egn(number)
    assert e.value.code == code


def test_rejects_non_ascii_digits() -> None:
    # Arabic-Indic digits pass str.isdigit() but are not identifiers
    assert not is_valid_egn("٨٥٠٦٢٥٨٤٨٥")
    assert classify("٨٥٠٦٢٥٨٤٨٥").error == "not_digits"


def test_rejects_eik_with_wrong_check_digit() -> None:
    assert not is_valid_eik("175074753")
    assert not is_valid_eik("1213961230341")
    assert not is_valid_eik("1213961230")


def test_rejects_lnch_with_wrong_check_digit() -> None:
    assert not is_valid_lnch("7111042924")


def test_error_messages_do_not_repeat_the_number() -> None:
    with pytest.raises(BgIdError) as e:
        validate_egn("8506258484")
    assert "8506258484" not in str(e.value)


# --- classify ----------------------------------------------------------------------------------------------------


def test_classify_egn() -> None:
    c = classify("8506258485")
    assert c.valid
    assert c.kinds == (IdKind.EGN,)
    assert c.checks[0].egn is not None
    assert c.checks[0].egn.birth_date == date(1985, 6, 25)


def test_classify_lnch_comes_first_when_no_date() -> None:
    number = generate_lnch(random.Random(1))
    c = classify(number)
    assert c.kinds == (IdKind.LNCH,)
    assert c.checks[0].kind is IdKind.LNCH


def test_classify_reports_both_when_number_is_egn_and_lnch() -> None:
    rng = random.Random(7)
    for _ in range(20000):
        number = generate_egn(date(1990, 1, 1) if rng.random() < 0.5 else date(1975, 8, 3), Sex.MALE, rng)
        if is_valid_lnch(number):
            break
    else:  # pragma: no cover - with 20000 tries one in ten is a valid ЛНЧ
        pytest.fail("no ЕГН that is also a ЛНЧ found")
    c = classify(number)
    assert c.kinds == (IdKind.EGN, IdKind.LNCH)


def test_classify_eik_and_lengths() -> None:
    assert classify("175074752").kinds == (IdKind.EIK,)
    assert classify("1213961230342").kinds == (IdKind.EIK13,)
    bad = classify("12345")
    assert not bad.valid
    assert bad.reason == "wrong_length"
    assert classify("abc").reason == "not_digits"
    assert classify("8506258483").reason == "bad_check_digit"
    # a wrong ЕГН check digit can still be a valid ЛНЧ: both readings are reported
    assert classify("8506258484").kinds == (IdKind.LNCH,)


# --- properties --------------------------------------------------------------------------------------------------


@given(birth_dates, sexes, st.integers(0, 499))
def test_generated_egn_round_trips_date_and_sex(born: date, sex: Sex, serial: int) -> None:
    number = generate_egn(born, sex, serial=serial)
    info = validate_egn(number)
    assert (info.birth_date, info.sex) == (born, sex)


def _egn_sum(body: str) -> int:
    return sum(int(d) * w for d, w in zip(body, (2, 4, 8, 5, 10, 9, 7, 3, 6), strict=True)) % 11


@given(birth_dates, sexes, st.integers(0, 499))
def test_any_single_digit_change_breaks_egn(born: date, sex: Sex, serial: int) -> None:
    """Every weight is non-zero mod 11, so a changed digit changes the sum; the only escape is the "10 -> 0" rule
    of the algorithm itself (sum 0 and sum 10 share check digit 0), which this test pins down exactly."""
    number = generate_egn(born, sex, serial=serial)
    for other in _mutations(number):
        if is_valid_egn(other):
            assert other[9] == number[9] == "0"
            assert {_egn_sum(number[:9]), _egn_sum(other[:9])} == {0, 10}


@given(birth_dates, sexes, st.integers(0, 499))
def test_single_digit_change_breaks_egn_whose_check_digit_is_not_zero(born: date, sex: Sex, serial: int) -> None:
    number = generate_egn(born, sex, serial=serial)
    if number[9] != "0":
        assert not any(is_valid_egn(m) for m in _mutations(number))


@given(st.integers(0, 2**32))
def test_generated_lnch_valid_and_single_digit_change_breaks_it(seed: int) -> None:
    number = generate_lnch(random.Random(seed))
    assert is_valid_lnch(number)
    assert not is_valid_egn(number)
    # weights 21,19,17,13,11,9,7,3,1 are all coprime to 10: every single-digit change moves the sum mod 10
    assert not any(is_valid_lnch(m) for m in _mutations(number))


@given(st.integers(0, 2**32))
def test_generated_eik_valid(seed: int) -> None:
    rng = random.Random(seed)
    assert is_valid_eik(generate_eik9(rng))
    assert is_valid_eik(generate_eik13(rng))


@given(st.text(max_size=20))
def test_only_bg_id_error_escapes(text: str) -> None:
    for fn in (validate_egn, validate_lnch, validate_eik):
        error: BgIdError | None = None
        try:
            fn(text)
        except BgIdError as exc:
            error = exc
        if error is not None:
            assert isinstance(error, PortfeilError)
            assert error.code in {"not_digits", "wrong_length", "invalid_date", "bad_check_digit"}
    c = classify(text)
    assert c.valid or c.reason
