"""``portfeil wallet ...`` as a user runs it (a subprocess) against a live server: init (anchors + wallet unit
attestation from the trust registry), accept with --tx-code, present --yes --only, list/show/log/delete, trust add,
wrong passphrase refused with a stable code."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from portfeil.issuer.flows import PidIssuer
from portfeil.pki.ca import create_root_ca
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.roles import Role
from portfeil.sources.seed import seed_demo_persons
from portfeil.trust.registry import TrustRegistry
from portfeil.verifier.transactions import Verifier
from tests.browser.conftest import LiveServer, live_server  # noqa: F401

IVAN = "8506258485"


async def wallet_cli(wdir: Path, *args: str, passphrase: str = "cli passphrase 1") -> tuple[int, Any]:
    env = {**os.environ, "PORTFEIL_WALLET_PASSPHRASE": passphrase, "PORTFEIL_WALLET_DIR": str(wdir)}
    proc = await asyncio.create_subprocess_exec(sys.executable, "-m", "portfeil.cli", "wallet", *args, "--json",
                                                env=env, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    try:
        data = json.loads(out)
    except ValueError:
        data = {"stdout": out.decode(), "stderr": err.decode()[-2000:]}
    assert proc.returncode is not None
    return proc.returncode, data


async def test_cli_journey(live_server: LiveServer, tmp_path: Path) -> None:  # noqa: F811
    wdir = tmp_path / "w"
    ctx = live_server.ctx
    pin = tmp_path / "scheme-operator.pem"
    pin.write_bytes(cert_to_pem((await TrustRegistry.of(ctx)).scheme_operator_certificate()))
    code, out = await wallet_cli(wdir, "init", "--registry", live_server.url + "/trust", "--scheme-operator", str(pin))
    assert code == 0, out
    assert out["anchors"] > 0
    assert out["wallet_unit_id"]
    assert out["pinned_by"] == "file"
    assert out["trust_on_first_use"] is False
    assert set(out["lists"]) == {"pid-providers", "attestation-providers", "wallet-providers", "access-cas",
                                 "registration-cas"}
    await seed_demo_persons(ctx.db, clock=ctx.clock)
    offer = await (await PidIssuer.of(ctx)).create_offer(IVAN)
    code, out = await wallet_cli(wdir, "accept", offer.uri, "--tx-code", offer.tx_code or "")
    assert code == 0, out
    assert len(out["credentials"]) == 2
    code, listed = await wallet_cli(wdir, "list")
    assert code == 0
    assert {c["format"] for c in listed} == {"dc+sd-jwt", "mso_mdoc"}
    sd = next(c for c in listed if c["format"] == "dc+sd-jwt")
    code, shown = await wallet_cli(wdir, "show", sd["id"])
    assert shown["claims"]["personal_administrative_number"] == IVAN
    verifier = await Verifier.of(ctx)
    party, _ = await verifier.register_party(name="CLI тест", eik="175074752")
    created = await verifier.create(party["id"], template="pid-basic", client_id_prefix="x509_hash")
    code, out = await wallet_cli(wdir, "present", created.link, "--yes",
                                 "--only", "family_name,given_name,birthdate,personal_administrative_number")
    assert code == 0, out
    assert out["request"]["registration"]["within"] is True
    code, log = await wallet_cli(wdir, "log")
    assert [e["kind"] for e in log].count("presentation") == 1
    pres = next(e for e in log if e["kind"] == "presentation")
    assert ["personal_administrative_number"] in pres["claims"]
    code, parties = await wallet_cli(wdir, "log", "--parties")
    assert any(p["count"] >= 1 for p in parties)
    code, out = await wallet_cli(wdir, "delete", sd["id"])
    assert code == 0
    code, listed = await wallet_cli(wdir, "list")
    assert [c["format"] for c in listed] == ["mso_mdoc"]


async def test_cli_rejects_wrong_passphrase_and_adds_anchor(tmp_path: Path) -> None:
    wdir = tmp_path / "w"
    code, out = await wallet_cli(wdir, "init", "--offline")
    assert code == 0, out
    code, out = await wallet_cli(wdir, "list", passphrase="not it")
    assert code == 1
    assert out["error"] == "wrong_passphrase"
    from datetime import UTC, datetime

    root = create_root_ca("Test Root", Role.PID_PROVIDER, now=datetime.now(UTC))
    pem = tmp_path / "root.pem"
    pem.write_bytes(cert_to_pem(root.certificate))
    code, out = await wallet_cli(wdir, "trust", "add", str(pem), "--role", "pid-provider")
    assert code == 0, out
    code, out = await wallet_cli(wdir, "trust", "list")
    assert len(out["manual"]["pid-provider"]) == 1
    assert out["anchors"] == {}
    assert out["scheme_operator"]["pinned_by"] is None
    code, out = await wallet_cli(wdir, "trust", "add", str(pem), "--role", "nonsense")
    assert code == 1
    assert out["error"] == "unknown_role"


async def test_cli_init_needs_a_pin_or_explicit_trust_on_first_use(live_server: LiveServer,  # noqa: F811
                                                                   tmp_path: Path) -> None:
    url = live_server.url + "/trust"
    code, out = await wallet_cli(tmp_path / "a", "init", "--registry", url)
    assert code == 1
    assert out["error"] == "scheme_operator_not_pinned"
    assert not (tmp_path / "a").exists()  # refused before anything was created
    code, out = await wallet_cli(tmp_path / "b", "init", "--registry", url, "--trust-on-first-use")
    assert code == 0, out
    assert out["pinned_by"] == "trust_on_first_use"
    assert out["trust_on_first_use"] is True
    code, out = await wallet_cli(tmp_path / "b", "trust", "refresh")
    assert code == 0, out
    assert out["pinned_by"] == "trust_on_first_use"  # still shown as such later
    code, listed = await wallet_cli(tmp_path / "b", "trust", "list")
    assert listed["scheme_operator"]["pinned_by"] == "trust_on_first_use"
    assert listed["lists"]["access-cas"]["stale"] is False
