"""``portfeil id check``: kind, validity, decoded content; exit 0 valid, 1 invalid, 2 usage error."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from portfeil.cli import app

runner = CliRunner()


def test_check_valid_egn_json() -> None:
    result = runner.invoke(app, ["id", "check", "8506258485", "--json"])
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["valid"] is True
    assert data["kinds"] == ["egn"]
    assert data["candidates"][0] == {
        "kind": "egn", "valid": True, "reason": None, "birth_date": "1985-06-25", "sex": "male"
    }


def test_check_lnch_text() -> None:
    result = runner.invoke(app, ["id", "check", "7111042925"])
    assert result.exit_code == 0
    assert "valid ЛНЧ" in result.stdout


def test_check_eik() -> None:
    result = runner.invoke(app, ["id", "check", "177480148", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["kinds"] == ["eik"]


def test_rejects_invalid_number_with_exit_1() -> None:
    result = runner.invoke(app, ["id", "check", "8506258483", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.stdout)
    assert data["valid"] is False
    assert data["reason"] == "bad_check_digit"


def test_rejects_non_digits_with_exit_1() -> None:
    result = runner.invoke(app, ["id", "check", "12ab", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.stdout)["reason"] == "not_digits"


def test_usage_error_exit_2() -> None:
    assert runner.invoke(app, ["id", "check"]).exit_code == 2
