"""Bulgarian identifiers: ЕГН (uniform civil number), ЛНЧ (foreigner's personal number), ЕИК/BULSTAT (9 and 13 digits).

Pure code: validation, decoding and generation. Algorithms as recorded in SPECS.md §4 (Civil Registration Act,
Art. 8 ff. and the ГРАО ЕГН rules; Commercial Register / BULSTAT Act check digits for ЕИК). Every failure raises
:class:`BgIdError` with a stable ``code``; messages never repeat the number.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from portfeil.errors import PortfeilError

__all__ = [
    "EGN_WEIGHTS",
    "LNCH_WEIGHTS",
    "BgIdError",
    "Classification",
    "EgnInfo",
    "IdKind",
    "KindCheck",
    "Sex",
    "classify",
    "decode_egn",
    "egn_check_digit",
    "eik9_check_digit",
    "eik13_check_digit",
    "generate_egn",
    "generate_eik9",
    "generate_eik13",
    "generate_lnch",
    "is_valid_egn",
    "is_valid_eik",
    "is_valid_lnch",
    "lnch_check_digit",
    "validate_egn",
    "validate_eik",
    "validate_lnch",
]

EGN_WEIGHTS = (2, 4, 8, 5, 10, 9, 7, 3, 6)
LNCH_WEIGHTS = (21, 19, 17, 13, 11, 9, 7, 3, 1)
_DIGITS = frozenset("0123456789")


class BgIdError(PortfeilError):
    """A Bulgarian identifier is malformed or fails its check; ``code`` says which, stably.

    Codes: ``not_digits``, ``wrong_length``, ``invalid_date``, ``bad_check_digit``.
    """

    default_code = "invalid_identifier"


class IdKind(StrEnum):
    EGN = "egn"  # ЕГН, Bulgarian citizens and permanent residents registered by ГРАО
    LNCH = "lnch"  # ЛНЧ, foreigners
    EIK = "eik"  # ЕИК/BULSTAT of a legal entity, 9 digits
    EIK13 = "eik13"  # ЕИК of a branch/unit, 13 digits


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


@dataclass(frozen=True)
class EgnInfo:
    """What a valid ЕГН encodes."""

    number: str
    birth_date: date
    sex: Sex
    #: digits 7-9: region of registration and order number of the birth that day
    serial: str

    @property
    def iso5218_sex(self) -> int:
        """ISO/IEC 5218 code as used by the PID Rulebook (1 male, 2 female)."""
        return 1 if self.sex is Sex.MALE else 2


@dataclass(frozen=True)
class KindCheck:
    """One candidate reading of a number: as which kind, whether it passes, why not."""

    kind: IdKind
    valid: bool
    reason: str | None = None
    egn: EgnInfo | None = None


@dataclass(frozen=True)
class Classification:
    """Every kind a number could be, most plausible first. A 10-digit string may be a valid ЕГН and a valid ЛНЧ."""

    number: str
    checks: tuple[KindCheck, ...]
    #: set when the input fits no kind at all (``not_digits``, ``wrong_length``)
    error: str | None = None

    @property
    def valid(self) -> bool:
        return any(c.valid for c in self.checks)

    @property
    def kinds(self) -> tuple[IdKind, ...]:
        """The kinds this number is valid as, most plausible first."""
        return tuple(c.kind for c in self.checks if c.valid)

    @property
    def reason(self) -> str | None:
        """The first failure code when no reading is valid."""
        if self.valid:
            return None
        return self.error or self.checks[0].reason


def _rng(rng: random.Random | None) -> random.Random:
    """Generated numbers are synthetic test data, never secrets: a seedable PRNG is the right tool."""
    return rng if rng is not None else random.Random()  # noqa: S311


def _digits(number: str, length: int | tuple[int, ...]) -> list[int]:
    if not isinstance(number, str) or not number or not set(number) <= _DIGITS:
        raise BgIdError("not_digits", "an identifier must consist of ASCII digits only")
    lengths = (length,) if isinstance(length, int) else length
    if len(number) not in lengths:
        raise BgIdError("wrong_length", f"expected {' or '.join(map(str, lengths))} digits")
    return [ord(c) - 48 for c in number]


# --- ЕГН ------------------------------------------------------------------------------------------------------------


def egn_check_digit(first9: str) -> int:
    """Check digit of an ЕГН from its first nine digits (SPECS.md §4: Σ d_i·w_i mod 11, 10 → 0)."""
    d = _digits(first9, 9)
    r = sum(x * w for x, w in zip(d, EGN_WEIGHTS, strict=True)) % 11
    return 0 if r == 10 else r


def _egn_date(d: list[int]) -> date:
    yy = d[0] * 10 + d[1]
    mm = d[2] * 10 + d[3]
    dd = d[4] * 10 + d[5]
    if 1 <= mm <= 12:
        year = 1900 + yy
    elif 21 <= mm <= 32:
        year, mm = 1800 + yy, mm - 20
    elif 41 <= mm <= 52:
        year, mm = 2000 + yy, mm - 40
    else:
        raise BgIdError("invalid_date", "the month digits encode no month")
    try:
        return date(year, mm, dd)
    except ValueError:
        raise BgIdError("invalid_date", "the date digits encode no calendar date") from None


def validate_egn(number: str) -> EgnInfo:
    """Validate and decode an ЕГН: birth date with the century rule, sex from the 9th digit, check digit."""
    d = _digits(number, 10)
    born = _egn_date(d)
    if egn_check_digit(number[:9]) != d[9]:
        raise BgIdError("bad_check_digit", "the check digit does not match")
    sex = Sex.MALE if d[8] % 2 == 0 else Sex.FEMALE
    return EgnInfo(number=number, birth_date=born, sex=sex, serial=number[6:9])


decode_egn = validate_egn


def is_valid_egn(number: str) -> bool:
    try:
        validate_egn(number)
    except BgIdError:
        return False
    return True


def _egn_prefix(birth_date: date) -> str:
    year, month = birth_date.year, birth_date.month
    if 1800 <= year <= 1899:
        month += 20
    elif 2000 <= year <= 2099:
        month += 40
    elif not 1900 <= year <= 1999:
        raise BgIdError("invalid_date", "an ЕГН encodes birth years 1800-2099 only")
    return f"{year % 100:02d}{month:02d}{birth_date.day:02d}"


def generate_egn(birth_date: date, sex: Sex, rng: random.Random | None = None, *, serial: int | None = None) -> str:
    """A valid ЕГН for a birth date and sex. ``serial`` (0-499) picks the order number; random when omitted."""
    if serial is None:
        serial = _rng(rng).randrange(500)
    if not 0 <= serial < 500:
        raise BgIdError("invalid_serial", "serial must be in 0..499")
    first9 = f"{_egn_prefix(birth_date)}{serial * 2 + (0 if sex is Sex.MALE else 1):03d}"
    return first9 + str(egn_check_digit(first9))


# --- ЛНЧ ------------------------------------------------------------------------------------------------------------


def lnch_check_digit(first9: str) -> int:
    """Check digit of a ЛНЧ (SPECS.md §4: Σ d_i·w_i mod 10)."""
    d = _digits(first9, 9)
    return sum(x * w for x, w in zip(d, LNCH_WEIGHTS, strict=True)) % 10


def validate_lnch(number: str) -> str:
    """Validate a ЛНЧ; return it."""
    d = _digits(number, 10)
    if lnch_check_digit(number[:9]) != d[9]:
        raise BgIdError("bad_check_digit", "the check digit does not match")
    return number


def is_valid_lnch(number: str) -> bool:
    try:
        validate_lnch(number)
    except BgIdError:
        return False
    return True


def generate_lnch(rng: random.Random | None = None, *, distinct_from_egn: bool = True) -> str:
    """A valid ЛНЧ. With ``distinct_from_egn`` its digits 3-4 encode no ЕГН month, so it can never equal an ЕГН."""
    rng = _rng(rng)
    while True:
        body = f"{rng.randrange(10**9):09d}"
        if distinct_from_egn:
            body = body[:2] + str(rng.choice((6, 7, 8, 9))) + body[3:]
        number = body + str(lnch_check_digit(body))
        if not distinct_from_egn or not is_valid_egn(number):
            return number


# --- ЕИК / BULSTAT ------------------------------------------------------------------------------------------------


def eik9_check_digit(first8: str) -> int:
    """9th digit of an ЕИК: Σ i·d_i mod 11; if 10, Σ (i+2)·d_i mod 11; if still 10, 0 (SPECS.md §4)."""
    d = _digits(first8, 8)
    r = sum((i + 1) * x for i, x in enumerate(d)) % 11
    if r == 10:
        r = sum((i + 3) * x for i, x in enumerate(d)) % 11
    return 0 if r == 10 else r


def eik13_check_digit(first12: str) -> int:
    """13th digit: weights (2,7,3,5) over digits 9-12 mod 11; if 10, weights (4,9,5,7); if still 10, 0."""
    d = _digits(first12, 12)
    tail = d[8:12]
    r = sum(x * w for x, w in zip(tail, (2, 7, 3, 5), strict=True)) % 11
    if r == 10:
        r = sum(x * w for x, w in zip(tail, (4, 9, 5, 7), strict=True)) % 11
    return 0 if r == 10 else r


def validate_eik(number: str) -> IdKind:
    """Validate a 9- or 13-digit ЕИК; return which of the two it is."""
    d = _digits(number, (9, 13))
    if eik9_check_digit(number[:8]) != d[8]:
        raise BgIdError("bad_check_digit", "the check digit does not match")
    if len(number) == 9:
        return IdKind.EIK
    if eik13_check_digit(number[:12]) != d[12]:
        raise BgIdError("bad_check_digit", "the check digit does not match")
    return IdKind.EIK13


def is_valid_eik(number: str) -> bool:
    try:
        validate_eik(number)
    except BgIdError:
        return False
    return True


def generate_eik9(rng: random.Random | None = None) -> str:
    body = f"{_rng(rng).randrange(10**8):08d}"
    return body + str(eik9_check_digit(body))


def generate_eik13(rng: random.Random | None = None, *, base: str | None = None) -> str:
    rng = _rng(rng)
    base = base or generate_eik9(rng)
    validate_eik(base)
    first12 = base + f"{rng.randrange(10**3):03d}"
    return first12 + str(eik13_check_digit(first12))


# --- classification ------------------------------------------------------------------------------------------------


def _check(kind: IdKind, number: str) -> KindCheck:
    try:
        if kind is IdKind.EGN:
            return KindCheck(kind, True, egn=validate_egn(number))
        if kind is IdKind.LNCH:
            validate_lnch(number)
        else:
            validate_eik(number)
    except BgIdError as exc:
        return KindCheck(kind, False, reason=exc.code)
    return KindCheck(kind, True)


def classify(number: str) -> Classification:
    """Which kind of Bulgarian identifier ``number`` is (and whether it passes), most plausible first.

    10 digits: ЕГН and ЛНЧ are both checked; the ЕГН reading comes first when its digits decode to a real date.
    9 digits: ЕИК; 13 digits: ЕИК of a unit. Anything else: no candidate, ``reason`` says why.
    """
    if not isinstance(number, str) or not number or not set(number) <= _DIGITS:
        return Classification(number if isinstance(number, str) else "", (), error="not_digits")
    if len(number) == 10:
        egn = _check(IdKind.EGN, number)
        lnch = _check(IdKind.LNCH, number)
        egn_first = egn.valid or egn.reason != "invalid_date"
        return Classification(number, (egn, lnch) if egn_first else (lnch, egn))
    if len(number) == 9:
        return Classification(number, (_check(IdKind.EIK, number),))
    if len(number) == 13:
        return Classification(number, (_check(IdKind.EIK13, number),))
    return Classification(number, (), error="wrong_length")
