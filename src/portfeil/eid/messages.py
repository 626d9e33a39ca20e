"""Bulgarian and English texts of the eID registry's pages."""

from portfeil.web.i18n import register

MESSAGES = {
    "eid.register.title": {"bg": "Регистър на администраторите на електронна идентичност и центровете за "
                                 "електронна идентификация",
                           "en": "Register of eID administrators and eID centres"},
    "eid.register.intro": {"bg": "Публичен и безплатен регистър. Машинно четими копия без регистрация:",
                           "en": "A public register, free of charge. Machine-readable copies without sign-in:"},
    "eid.register.administrators": {"bg": "Администратори на електронна идентичност", "en": "eID administrators"},
    "eid.register.centres": {"bg": "Центрове за електронна идентификация", "en": "eID centres"},
    "eid.register.name": {"bg": "Наименование", "en": "Name"},
    "eid.register.eik": {"bg": "ЕИК", "en": "ЕИК (company id)"},
    "eid.register.address": {"bg": "Адрес", "en": "Address"},
    "eid.register.status": {"bg": "Статус", "en": "Status"},
    "eid.register.registered_at": {"bg": "Вписан на", "en": "Registered on"},
    "eid.register.history": {"bg": "Мерки и промени", "en": "Measures and changes"},
    "eid.register.empty": {"bg": "Няма вписвания.", "en": "No entries."},
    "eid.status.registered": {"bg": "вписан", "en": "registered"},
    "eid.status.suspended": {"bg": "спрян", "en": "suspended"},
    "eid.status.terminated": {"bg": "заличен", "en": "terminated"},
    "eid.status.active": {"bg": "валидно", "en": "active"},
    "eid.my.title": {"bg": "Моите удостоверения за електронна идентичност", "en": "My eID certificates"},
    "eid.my.log_title": {"bg": "Моят дневник на проверките", "en": "My verification log"},
    "eid.my.nav_certs": {"bg": "Удостоверения", "en": "Certificates"},
    "eid.my.nav_log": {"bg": "Дневник на проверките", "en": "Verification log"},
    "eid.my.eid": {"bg": "Електронен идентификатор", "en": "Electronic identifier"},
    "eid.my.serial": {"bg": "Сериен номер", "en": "Serial number"},
    "eid.my.valid_to": {"bg": "Валидно до", "en": "Valid until"},
    "eid.my.status": {"bg": "Статус", "en": "Status"},
    "eid.my.reason": {"bg": "Основание", "en": "Reason"},
    "eid.my.none": {"bg": "Нямате удостоверения.", "en": "You have no certificates."},
    "eid.my.log_none": {"bg": "Няма записи.", "en": "No entries."},
    "eid.my.when": {"bg": "Кога", "en": "When"},
    "eid.my.who": {"bg": "Доставчик и услуга", "en": "Provider and service"},
    "eid.my.outcome": {"bg": "Резултат", "en": "Outcome"},
    "eid.my.released": {"bg": "Предоставени данни", "en": "Data released"},
    "eid.my.log_intro": {"bg": "Проверките на самоличността Ви с електронна идентичност (пазят се 10 години, "
                                "без данни за местоположение или устройство). Достъпът е безплатен.",
                         "en": "Checks of your identity with your eID (kept 10 years, without location or device "
                               "data). Access is free."},
    "eid.my.notifications": {"bg": "Уведомления", "en": "Notices"},
    "eid.notice.suspended_misuse_report": {"bg": "удостоверението е спряно след сигнал за злоупотреба",
                                           "en": "the certificate was suspended after a misuse report"},
    "eid.notice.suspended_authority_cause": {"bg": "удостоверението е спряно от органа",
                                             "en": "the certificate was suspended by the authority"},
    "eid.notice.suspended_document_lost": {"bg": "удостоверението е спряно: документът Ви е обявен за изгубен",
                                           "en": "the certificate was suspended: your identity document was "
                                                 "declared lost"},
    "eid.notice.terminated_data_change": {"bg": "удостоверението е прекратено: данните Ви са променени",
                                          "en": "the certificate was terminated: your data changed"},
    "eid.notice.document_invalidated": {"bg": "документът, въз основа на който е издадено, е обезсилен",
                                        "en": "the identity document it was issued on was invalidated"},
    "eid.my.logout": {"bg": "Изход", "en": "Log out"},
    "eid.login.title": {"bg": "Вход с електронна идентичност", "en": "Log in with your eID"},
    "eid.login.intro": {"bg": "Подпишете това предизвикателство с ключа на Вашето удостоверение и поставете "
                              "резултата (JSON) по-долу. Предизвикателството важи 5 минути.",
                        "en": "Sign this challenge with the key of your eID certificate and paste the result (JSON) "
                              "below. The challenge is valid for 5 minutes."},
    "eid.login.challenge": {"bg": "Предизвикателство", "en": "Challenge"},
    "eid.login.command": {"bg": "Команда за подписване", "en": "Command to sign it"},
    "eid.login.response": {"bg": "Подписан отговор (JSON)", "en": "Signed response (JSON)"},
    "eid.login.submit": {"bg": "Вход", "en": "Log in"},
    "eid.login.failed": {"bg": "Входът не успя: {code}", "en": "Login failed: {code}"},
}

register(MESSAGES)
