"""Bulgarian and English texts of the trust registry's pages."""

from __future__ import annotations

from portfeil.web.i18n import register

MESSAGES: dict[str, dict[str, str]] = {
    "trust.service": {"bg": "Регистър на доверието", "en": "Trust registry"},
    "trust.index.title": {"bg": "Регистър на доверието", "en": "Trust registry"},
    "trust.index.intro": {
        "bg": "Списъци на доверени субекти, регистър на доверяващите се страни, списъци за статус и "
              "безплатни услуги за проверка.",
        "en": "Lists of trusted entities, the register of relying parties, status lists and free validation "
              "services.",
    },
    "trust.lists.title": {"bg": "Доверени списъци", "en": "Trusted lists"},
    "trust.lists.name": {"bg": "Списък", "en": "List"},
    "trust.lists.sequence": {"bg": "Пореден номер", "en": "Sequence number"},
    "trust.lists.next_update": {"bg": "Следваща актуализация", "en": "Next update"},
    "trust.lists.formats": {"bg": "Формати", "en": "Formats"},
    "trust.lists.operator": {
        "bg": "Сертификат на оператора на схемата (за закрепване)",
        "en": "Scheme operator certificate (to pin)",
    },
    "trust.status.title": {"bg": "Статус и отмяна", "en": "Status and revocation"},
    "trust.status.rp": {
        "bg": "Списък за статус на регистрационните удостоверения",
        "en": "Status list of registration certificates",
    },
    "trust.status.wallets": {"bg": "Списък за статус на портфейлите", "en": "Status list of wallet units"},
    "trust.status.crl": {
        "bg": "Списък на отменените удостоверения за достъп (CRL)",
        "en": "Revocation list of access certificates (CRL)",
    },
    "trust.rp.title": {"bg": "Регистър на доверяващите се страни", "en": "Register of relying parties"},
    "trust.rp.intro": {
        "bg": "Доверяващите се страни, регистрирани да искат данни от портфейли, и за какво.",
        "en": "The relying parties registered to request data from wallets, and for what.",
    },
    "trust.rp.empty": {"bg": "Няма регистрирани доверяващи се страни.", "en": "No relying parties are registered."},
    "trust.rp.name": {"bg": "Наименование", "en": "Name"},
    "trust.rp.eik": {"bg": "ЕИК", "en": "UIC (ЕИК)"},
    "trust.rp.service": {"bg": "Услуга", "en": "Service"},
    "trust.rp.status": {"bg": "Статус", "en": "Status"},
    "trust.rp.uses": {"bg": "Цели и данни", "en": "Purposes and data"},
    "trust.rp.json": {"bg": "Машинночетим регистър (JSON)", "en": "Machine-readable register (JSON)"},
    "trust.rp.privacy": {"bg": "Политика за поверителност", "en": "Privacy policy"},
    "trust.rp.dpa": {"bg": "Надзорен орган", "en": "Supervisory authority"},
    "trust.rp.reason": {"bg": "Основание", "en": "Reason"},
    "trust.rp.back": {"bg": "Към регистъра", "en": "Back to the register"},
    "trust.state.approved": {"bg": "регистрирана", "en": "registered"},
    "trust.state.suspended": {"bg": "спряна", "en": "suspended"},
    "trust.state.deregistered": {"bg": "заличена", "en": "deregistered"},
    "trust.state.pending": {"bg": "чака одобрение", "en": "pending"},
    "trust.api.title": {"bg": "Безплатни услуги за проверка", "en": "Free validation services"},
    "trust.api.access": {
        "bg": "Проверка на удостоверение за достъп: POST /trust/api/v1/validate/access-certificate",
        "en": "Validate an access certificate: POST /trust/api/v1/validate/access-certificate",
    },
    "trust.api.rp_status": {
        "bg": "Статус на доверяваща се страна: GET /trust/api/v1/relying-parties/{id}/status",
        "en": "Status of a relying party: GET /trust/api/v1/relying-parties/{id}/status",
    },
    "trust.api.wallet_status": {
        "bg": "Статус на портфейл: GET /trust/api/v1/wallet-units/{id}/status",
        "en": "Status of a wallet unit: GET /trust/api/v1/wallet-units/{id}/status",
    },
}

register(MESSAGES)
