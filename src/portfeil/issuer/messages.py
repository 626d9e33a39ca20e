"""Bulgarian and English texts of the PID provider's pages."""

from __future__ import annotations

from portfeil.web.i18n import register

MESSAGES: dict[str, dict[str, str]] = {
    "issuer.title": {"bg": "Доставчик на лични данни (PID)", "en": "PID provider"},
    "issuer.intro": {
        "bg": "Тук гражданите получават удостоверението си за лични данни (PID) в своя портфейл за цифрова "
              "самоличност, след като се удостоверят с електронната си идентичност.",
        "en": "Citizens obtain their Person Identification Data (PID) credential in their digital identity wallet "
              "here, after authenticating with their electronic identity.",
    },
    "issuer.how": {"bg": "Как да получите PID", "en": "How to obtain a PID"},
    "issuer.how.wallet": {
        "bg": "Отворете портфейла си и изберете „Добавяне на лични данни“: портфейлът ще ви доведе до тази страница.",
        "en": "Open your wallet and choose \u201cAdd person identification data\u201d: the wallet brings you to "
              "this page.",
    },
    "issuer.how.desk": {
        "bg": "Или на гишето на администратор на електронна идентичност: служителят показва QR код и код за "
              "потвърждение, които въвеждате в портфейла.",
        "en": "Or at an eID administrator's desk: the officer shows a QR code and a confirmation code that you enter "
              "in the wallet.",
    },
    "issuer.metadata": {"bg": "Метаданни на издателя", "en": "Issuer metadata"},
    "issuer.configs": {"bg": "Видове удостоверения", "en": "Credential types"},
    "issuer.auth.title": {"bg": "Удостоверяване с електронна идентичност", "en": "Authenticate with your eID"},
    "issuer.auth.client": {"bg": "Портфейл, който иска данните", "en": "Wallet asking for the data"},
    "issuer.auth.will_issue": {"bg": "Ще бъдат издадени", "en": "Will be issued"},
    "issuer.auth.challenge": {"bg": "Предизвикателство за подпис", "en": "Challenge to sign"},
    "issuer.auth.how": {
        "bg": "Подпишете предизвикателството с ключа на електронната си идентичност, например с командата "
              "„portfeil eid-holder sign-challenge“, и поставете резултата (JSON) по-долу.",
        "en": "Sign the challenge with your eID key, for example with the command \u201cportfeil eid-holder "
              "sign-challenge\u201d, and paste its output (JSON) below.",
    },
    "issuer.auth.response": {"bg": "Подписан отговор (JSON)", "en": "Signed response (JSON)"},
    "issuer.auth.submit": {"bg": "Удостоверяване", "en": "Authenticate"},
    "issuer.auth.demo": {
        "bg": "ДЕМОНСТРАЦИЯ: подписване с демонстрационната електронна идентичност",
        "en": "DEMO ONLY: sign with the demo person's eID",
    },
    "issuer.auth.demo_note": {
        "bg": "Показва се само при „portfeil demo“: ключът на демонстрационното лице е в папката с данни.",
        "en": "Shown only under \u201cportfeil demo\u201d: the demo person's key is in the data folder.",
    },
    "issuer.consent.title": {"bg": "Съгласие за издаване", "en": "Consent to issuance"},
    "issuer.consent.intro": {
        "bg": "Следните данни от регистъра на населението ще бъдат записани във вашия портфейл.",
        "en": "The following data from the population register will be written into your wallet.",
    },
    "issuer.consent.attribute": {"bg": "Данни", "en": "Attribute"},
    "issuer.consent.value": {"bg": "Стойност", "en": "Value"},
    "issuer.consent.accept": {"bg": "Съгласен съм — издай", "en": "I agree — issue"},
    "issuer.consent.deny": {"bg": "Откажи", "en": "Decline"},
    "issuer.error.title": {"bg": "Заявката не може да бъде изпълнена", "en": "The request cannot be completed"},
}

register(MESSAGES)
