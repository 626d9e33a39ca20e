"""Structured logs never carry personal data."""

from __future__ import annotations

import json
import logging

from portfeil.logs import JsonFormatter, scrub


def _format(msg: str, **extra: object) -> dict[str, object]:
    record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": msg, **extra})
    out: dict[str, object] = json.loads(JsonFormatter().format(record))
    return out


def test_personal_numbers_and_cyrillic_names_are_masked() -> None:
    out = _format("issued for 8506258485 Иван Петров", event="issued", person="Иван", count=3)
    text = json.dumps(out, ensure_ascii=False)
    assert "8506258485" not in text
    assert "Иван" not in text
    assert "Петров" not in text
    assert out["event"] == "issued"
    assert out["count"] == 3


def test_fields_named_as_personal_data_are_dropped() -> None:
    out = _format("x", given_name="Ivan", birth_date="1985-06-25", address={"street": "x"})
    assert out["given_name"] == "***"
    assert out["birth_date"] == "***"
    assert out["address"] == "***"


def test_scrub_recurses_into_containers() -> None:
    assert scrub({"a": ["7111042925", {"egn": "1"}]}) == {"a": ["**********", {"egn": "***"}]}


def test_exception_traceback_is_scrubbed() -> None:
    try:
        raise ValueError("bad ЕГН 8506258485")
    except ValueError as exc:
        record = logging.makeLogRecord({"msg": "failed", "exc_info": (type(exc), exc, exc.__traceback__)})
    text = JsonFormatter().format(record)
    assert "8506258485" not in text
    assert "ValueError" in text


def test_database_drivers_never_log_statements_even_at_debug() -> None:
    from portfeil.logs import configure_logging

    configure_logging("DEBUG")
    try:
        for name in ("aiosqlite", "asyncpg", "sqlalchemy.engine"):
            assert not logging.getLogger(name).isEnabledFor(logging.DEBUG)
            assert not logging.getLogger(name).isEnabledFor(logging.INFO)
    finally:
        configure_logging("WARNING")
