"""Official Bulgarian-to-Latin transliteration (Transliteration Act 2009, Art. 3; table in SPECS.md §4).

Rules implemented: the letter table; "ия" at the end of a word becomes "ia" (София -> Sofia); capitalisation is
kept: a capital transliterated into several Latin letters is written "Sht" inside a capitalised word and "SHT" inside
an upper-case word (ЩЕ -> SHTE). Characters outside the Bulgarian alphabet pass through unchanged.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["TABLE", "transliterate"]

TABLE: dict[str, str] = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ж": "zh", "з": "z", "и": "i", "й": "y",
    "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "h", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "sht", "ъ": "a", "ь": "y", "ю": "yu", "я": "ya",
    "ѝ": "i",
}


def _is_upper_letter(ch: str) -> bool:
    return ch.isalpha() and ch.isupper()


def transliterate(text: str) -> str:
    """Transliterate Bulgarian Cyrillic ``text`` to Latin by the 2009 Act (SPECS.md §4)."""
    if text.isascii():
        return text
    return _transliterate(text)


@lru_cache(maxsize=8192)
def _transliterate(text: str) -> str:
    out: list[str] = []
    n = len(text)
    i = 0
    while i < n:
        ch = text[i]
        low = ch.lower()
        # "ия" at the end of a word -> "ia" (Art. 3(2) of the Act)
        if low == "и" and i + 1 < n and text[i + 1].lower() == "я" and (i + 2 == n or not text[i + 2].isalpha()):
            first = "I" if ch.isupper() else "i"
            second = "A" if text[i + 1].isupper() else "a"
            out.append(first + second)
            i += 2
            continue
        latin = TABLE.get(low)
        if latin is None:
            out.append(ch)
        elif ch == low:
            out.append(latin)
        elif len(latin) == 1:
            out.append(latin.upper())
        else:
            # a capital: all caps if a neighbouring letter is upper case too (ЩЕ -> SHTE), else Sht
            nxt = text[i + 1] if i + 1 < n else ""
            prev = text[i - 1] if i > 0 else ""
            neighbour_upper = _is_upper_letter(nxt) if nxt.isalpha() else _is_upper_letter(prev)
            out.append(latin.upper() if neighbour_upper else latin.capitalize())
        i += 1
    return "".join(out)
