"""Texts of the verifier's pages, in Bulgarian and English."""

from __future__ import annotations

from portfeil.web.i18n import register

register({
    "ver.egov.title": {"bg": "Портал за електронно управление (демо)", "en": "e-Government portal (demo)"},
    "ver.egov.intro": {
        "bg": "Влезте с личните си данни (PID) от портфейла за цифрова самоличност. Порталът иска имената, датата "
              "на раждане и ЕГН.",
        "en": "Sign in with the personal identification data (PID) in your digital identity wallet. The portal asks "
              "for your names, date of birth and personal number (ЕГН).",
    },
    "ver.egov.start": {"bg": "Вход с портфейла", "en": "Sign in with the wallet"},
    "ver.egov.hello": {"bg": "Здравейте, {name}!", "en": "Hello, {name}!"},
    "ver.egov.signed_in": {"bg": "Вие влязохте в портала с портфейла си.", "en": "You signed in to the portal with "
                           "your wallet."},
    "ver.egov.egn": {"bg": "ЕГН", "en": "Personal number (ЕГН)"},
    "ver.egov.birthdate": {"bg": "Дата на раждане", "en": "Date of birth"},
    "ver.age.title": {"bg": "Магазин: проверка на възрастта (демо)", "en": "Shop: age check (demo)"},
    "ver.age.intro": {
        "bg": "За да купите този продукт, трябва да сте навършили 18 години. Магазинът научава само дали сте над "
              "18, не и името или датата ви на раждане.",
        "en": "To buy this product you must be 18 or over. The shop learns only whether you are over 18, not your "
              "name or date of birth.",
    },
    "ver.age.start": {"bg": "Докажи възрастта с портфейла", "en": "Prove your age with the wallet"},
    "ver.age.ok": {"bg": "Потвърдено: навършили сте 18 години.", "en": "Confirmed: you are 18 or over."},
    "ver.age.no": {"bg": "Не сте навършили 18 години.", "en": "You are not 18 or over."},
    "ver.wait.title": {"bg": "Отворете портфейла си", "en": "Open your wallet"},
    "ver.wait.cross": {"bg": "На друго устройство: сканирайте QR кода с портфейла.",
                       "en": "On another device: scan the QR code with your wallet."},
    "ver.wait.qr_alt": {"bg": "QR код със заявка за представяне на данни (OpenID4VP). Същата връзка е дадена по-долу.",
                        "en": "QR code with a presentation request (OpenID4VP). The same link is given below."},
    "ver.wait.same": {"bg": "На това устройство:", "en": "On this device:"},
    "ver.wait.open": {"bg": "Отвори портфейла", "en": "Open the wallet"},
    "ver.wait.link_text": {"bg": "Връзката като текст", "en": "The link as text"},
    "ver.wait.polling": {"bg": "Очакваме отговор от портфейла…", "en": "Waiting for the wallet's answer…"},
    "ver.wait.check": {"bg": "Провери отговора", "en": "Check for the answer"},
    "ver.wait.expires": {"bg": "Заявката изтича в {time} UTC.", "en": "The request expires at {time} UTC."},
    "ver.done.failed": {"bg": "Проверката не бе успешна.", "en": "The check did not succeed."},
    "ver.done.reasons": {"bg": "Причини (кодове)", "en": "Reasons (codes)"},
    "ver.fail.credential_revoked": {"bg": "Личните данни (PID) в портфейла са отнети от издателя им и вече не са "
                                          "валидни.",
                                    "en": "The PID in the wallet has been revoked by its issuer and is no longer "
                                          "valid."},
    "ver.fail.credential_suspended": {"bg": "Личните данни (PID) в портфейла са временно спрени от издателя им.",
                                      "en": "The PID in the wallet has been suspended by its issuer."},
    "ver.done.pending": {"bg": "Все още няма отговор.", "en": "There is no answer yet."},
    "ver.done.expired": {"bg": "Заявката изтече. Опитайте отново.", "en": "The request expired. Please try again."},
    "ver.done.again": {"bg": "Започни отначало", "en": "Start again"},
    "ver.verified_by": {"bg": "Проверено от портфейла чрез OpenID4VP.", "en": "Verified from the wallet via "
                        "OpenID4VP."},
})
