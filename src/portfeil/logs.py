"""Structured JSON logging that never writes personal data.

Log calls pass facts as ``extra={"event": ..., ...}``. A filter masks anything that looks like a Bulgarian
personal number (ЕГН/ЛНЧ: ten digits) and drops fields whose names say they hold personal data, as a second line
of defence behind the rule that code never logs names, numbers or addresses in the first place.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_TEN_DIGITS = re.compile(r"(?<!\d)\d{10}(?!\d)")
_CYRILLIC_WORD = re.compile(r"[\u0400-\u04FF]{2,}")
PERSONAL_FIELDS = frozenset(
    {
        "egn", "lnch", "pin", "personal_number", "personal_administrative_number", "name", "names",
        "given_name", "family_name", "middle_name", "birth_date", "birthdate", "address", "email", "phone",
        "document_number", "claims",
    }
)
_STANDARD = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime", "taskName", "color_message"}


def scrub(value: Any) -> Any:
    """Mask personal numbers and Cyrillic words in a log value; recurse into containers."""
    if isinstance(value, str):
        return _CYRILLIC_WORD.sub("***", _TEN_DIGITS.sub("**********", value))
    if isinstance(value, dict):
        return {k: ("***" if k in PERSONAL_FIELDS else scrub(v)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub(v) for v in value]
    return value


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": scrub(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            out[key] = "***" if key in PERSONAL_FIELDS else scrub(value)
        if record.exc_info and record.exc_info[0] is not None:
            out["exc_type"] = record.exc_info[0].__name__
            out["traceback"] = scrub(self.formatException(record.exc_info))
        return json.dumps(out, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO", json_output: bool = True) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if json_output:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Database drivers log statements with their parameters (personal data) at DEBUG: never let them.
    for noisy in ("uvicorn.access", "aiosqlite", "asyncpg", "sqlalchemy.engine", "sqlalchemy.pool"):
        logging.getLogger(noisy).setLevel("WARNING")
