"""Bulgarian and English for every page: language choice and message catalogues.

Each area keeps its catalogue as a dict ``{key: {"bg": ..., "en": ...}}`` and registers it with :func:`register`.
The language comes from ``?lang=``, then the ``lang`` cookie, then Accept-Language; Bulgarian is the default.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request

LANGUAGES = ("bg", "en")
DEFAULT_LANGUAGE = "bg"
_CATALOGUE: dict[str, dict[str, str]] = {}


def register(messages: Mapping[str, Mapping[str, str]]) -> None:
    for key, texts in messages.items():
        missing = set(LANGUAGES) - set(texts)
        if missing:
            raise ValueError(f"message {key!r} lacks {sorted(missing)}")
        _CATALOGUE[key] = dict(texts)


def language(request: Request) -> str:
    lang = request.query_params.get("lang") or request.cookies.get("lang")
    if lang in LANGUAGES:
        return lang
    accept = request.headers.get("accept-language", "")
    for part in accept.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT_LANGUAGE


def translate(key: str, lang: str, **values: object) -> str:
    texts = _CATALOGUE.get(key)
    if texts is None:
        return key
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text


register(
    {
        "site.name": {"bg": "Портфейл — цифрова самоличност", "en": "Portfeil — digital identity"},
        "nav.skip": {"bg": "Към съдържанието", "en": "Skip to content"},
        "nav.language": {"bg": "Език", "en": "Language"},
        "nav.home": {"bg": "Начало", "en": "Home"},
        "footer.text": {
            "bg": "Портфейл е отворен код за европейския портфейл за цифрова самоличност в България.",
            "en": "Portfeil is open-source software for the EU Digital Identity Wallet in Bulgaria.",
        },
        "home.title": {"bg": "Услуги", "en": "Services"},
        "home.intro": {
            "bg": "Всички услуги на системата, работещи в този процес.",
            "en": "Every service of the system running in this process.",
        },
        "home.api_docs": {"bg": "Документация на API (OpenAPI)", "en": "API documentation (OpenAPI)"},
        "home.health": {"bg": "Състояние", "en": "Health"},
    }
)
