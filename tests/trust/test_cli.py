"""CLI: anchors export/add round trip, relying-party registration with --json, refusals with exit status 1."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from typer.testing import CliRunner

from portfeil.cli import app
from portfeil.clock import SYSTEM_CLOCK
from portfeil.pki.ca import create_root_ca
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.roles import Role
from portfeil.settings import get_settings
from tests.trust.conftest import LOGIN_USE, PID_USE

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("PORTFEIL_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("PORTFEIL_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def _json(args: list[str]) -> tuple[int, object]:
    result = runner.invoke(app, args)
    return result.exit_code, json.loads(result.stdout) if result.stdout.strip() else None


def test_anchors_export_add_round_trip(env: Path) -> None:
    code, out = _json(["trust", "anchors", "export", str(env / "a1"), "--json"])
    assert code == 0, out
    files = sorted(p.name for p in (env / "a1").iterdir())
    for role in ("pid-provider", "attestation-provider", "iaca", "rp-access", "wallet-provider", "registrar",
                 "tsl-operator"):
        assert f"{role}.pem" in files
    assert "eid.pem" not in files  # no anchors for that role yet
    root_before = (env / "a1" / "pid-provider.pem").read_bytes()
    # an independent issuer joins the test ecosystem
    external = create_root_ca("Independent PID CA", Role.PID_PROVIDER, now=SYSTEM_CLOCK.now()).certificate
    (env / "ext.pem").write_bytes(cert_to_pem(external))
    code, out = _json(["trust", "anchors", "add", "--role", "pid-provider", str(env / "ext.pem"), "--json"])
    assert code == 0, out
    assert isinstance(out, dict)
    assert out["role"] == "pid-provider"
    code, _ = _json(["trust", "anchors", "export", str(env / "a2"), "--json"])
    assert code == 0
    exported = x509.load_pem_x509_certificates((env / "a2" / "pid-provider.pem").read_bytes())
    assert external in exported
    assert (env / "a2" / "pid-provider.pem").read_bytes().startswith(root_before)  # same root after restart
    assert x509.load_pem_x509_certificates((env / "a2" / "rp-access.pem").read_bytes()) == \
        x509.load_pem_x509_certificates((env / "a1" / "rp-access.pem").read_bytes())


def test_anchors_add_refuses_unknown_role_and_garbage(env: Path) -> None:
    (env / "junk.pem").write_text("junk")
    external = create_root_ca("x", Role.PID_PROVIDER, now=SYSTEM_CLOCK.now()).certificate
    (env / "ext.pem").write_bytes(cert_to_pem(external))
    code, out = _json(["trust", "anchors", "add", "--role", "notary", str(env / "ext.pem"), "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "unknown_role"
    code, out = _json(["trust", "anchors", "add", "--role", "iaca", str(env / "junk.pem"), "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "invalid_certificate"


def test_rp_register_and_lifecycle(env: Path) -> None:
    (env / "uses.json").write_text(json.dumps([PID_USE, LOGIN_USE]), encoding="utf-8")
    code, out = _json(["rp", "register", "--name", "Магазин ЕООД", "--eik", "175074752", "--dns", "shop.example",
                       "--uses", str(env / "uses.json"), "--approve", "--access-cert-out", str(env / "acc"),
                       "--json"])
    assert code == 0, out
    assert isinstance(out, dict)
    assert out["status"] == "approved"
    assert len(out["registration_certificates"]) == 2
    chain = x509.load_pem_x509_certificates((env / "acc" / "access.chain.pem").read_bytes())
    assert chain[0].extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["shop.example"]
    rid = out["id"]
    code, listed = _json(["rp", "list", "--json"])
    assert code == 0
    assert isinstance(listed, list)
    assert [r["id"] for r in listed] == [rid]
    code, out = _json(["rp", "suspend", rid, "--reason", "investigation", "--json"])
    assert code == 0
    assert isinstance(out, dict)
    assert out["status"] == "suspended"
    code, out = _json(["rp", "approve", rid, "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "invalid_transition"
    code, out = _json(["rp", "show", rid, "--json"])
    assert isinstance(out, dict)
    assert [e["to"] for e in out["history"]] == ["pending", "approved", "suspended"]


def test_rp_register_refuses_bad_eik(env: Path) -> None:
    (env / "uses.json").write_text(json.dumps([PID_USE]), encoding="utf-8")
    code, out = _json(["rp", "register", "--name", "X", "--eik", "175074751", "--dns", "x.example",
                       "--uses", str(env / "uses.json"), "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "invalid_eik"


def test_rp_register_refuses_bad_uses_file(env: Path) -> None:
    (env / "uses.json").write_text(json.dumps([{"purpose": {"bg": "x"}, "credentials": []}]), encoding="utf-8")
    code, out = _json(["rp", "register", "--name", "X", "--eik", "175074752", "--dns", "x.example",
                       "--uses", str(env / "uses.json"), "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "invalid_intended_use"


def test_lists_publish_and_wallet_provider_commands(env: Path) -> None:
    code, out = _json(["trust", "lists", "publish", "--out", str(env / "lists"), "--json"])
    assert code == 0
    assert isinstance(out, list)
    assert {r["name"] for r in out} >= {"pid-providers", "wallet-providers", "access-cas"}
    assert (env / "lists" / "pid-providers.xml").read_bytes().startswith(b"<?xml")
    code, out = _json(["wallet-provider", "breach", "--bg", "Пробив", "--en", "Breach", "--json"])
    assert code == 0
    assert isinstance(out, dict)
    assert out["affected_units"] == 0
    code, out = _json(["wallet-provider", "revoke", "nope", "--json"])
    assert code == 1
    assert isinstance(out, dict)
    assert out["error"] == "wallet_unit_not_found"
