"""``portfeil eid ...`` (operators) and ``portfeil eid-holder ...`` (holder: key, CSR, certificate, challenge
signature) end to end, with a PKCS#12 file and with a SoftHSM2 token (skipped with a reason when absent)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from portfeil.clitools import with_context
from portfeil.context import AppContext
from portfeil.eid.demo import demo_desk
from portfeil.eid.registry import EidRegistry
from tests.conftest import invoke
from tests.eid.conftest import IVAN

SOFTHSM_LIB = "/usr/lib/softhsm/libsofthsm2.so"





def _prepare() -> str:
    async def fn(ctx: AppContext) -> str:
        from portfeil.sources.seed import seed_demo_persons

        await seed_demo_persons(ctx.db, clock=ctx.clock)
        return (await demo_desk(EidRegistry.for_context(ctx))).administrator.id

    return asyncio.run(with_context(fn))


def _login(body: dict[str, Any]) -> str:
    async def fn(ctx: AppContext) -> str:
        return (await EidRegistry.for_context(ctx).holder_login(body["challenge"], body["signature"],
                                                                body["chain"]))[1]

    return asyncio.run(with_context(fn))


def _challenge() -> str:
    async def fn(ctx: AppContext) -> str:
        return (await EidRegistry.for_context(ctx).new_challenge()).challenge

    return asyncio.run(with_context(fn))


def test_holder_and_operator_commands_with_pkcs12(data_dir: Path) -> None:
    p12, csr, cert = data_dir / "me.p12", data_dir / "me.csr", data_dir / "me.pem"
    pw = ("--passphrase", "holder-secret")
    code, out = invoke("eid-holder", "keygen", "--p12", str(p12), *pw, "--json")
    assert code == 0, out
    code, out = invoke("eid-holder", "keygen", "--p12", str(p12), *pw, "--json")
    assert code == 1
    assert json.loads(out)["error"] == "file_exists"
    assert invoke("eid-holder", "csr", "--p12", str(p12), "--out", str(csr), *pw)[0] == 0
    adm = _prepare()
    code, out = invoke("eid", "issue", "--person", IVAN, "--csr", str(csr), "--administrator", adm,
                       "--officer", "служител", "--document", "645123450", "--out", str(cert), "--json")
    assert code == 0, out
    issued = json.loads(out)
    serial = issued["serial"]
    assert invoke("eid-holder", "import-cert", "--p12", str(p12), "--cert", str(cert), *pw)[0] == 0

    code, out = invoke("eid-holder", "sign-challenge", "--p12", str(p12), "--challenge", _challenge(), *pw)
    assert code == 0, out
    assert _login(json.loads(out)) == issued["electronic_id"]

    code, out = invoke("eid", "list", "--person", IVAN, "--json")
    assert [c["serial"] for c in json.loads(out)] == [serial]
    code, out = invoke("eid", "suspend", serial, "--reason", "authority_cause", "--json")
    assert json.loads(out)["status"] == "suspended"
    code, out = invoke("eid", "suspend", serial, "--reason", "authority_cause", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "invalid_transition"
    assert json.loads(invoke("eid", "resume", serial, "--json")[1])["status"] == "active"
    code, out = invoke("eid", "terminate", serial, "--reason", "compromise", "--json")
    assert json.loads(out)["status_reason"] == "compromise"
    code, out = invoke("eid", "show", serial, "--json")
    assert [t["to"] for t in json.loads(out)["transitions"]] == ["active", "suspended", "active", "terminated"]
    code, out = invoke("eid", "issue", "--person", IVAN, "--csr", str(csr), "--administrator", "nope",
                       "--officer", "x", "--document", "645123450", "--json")
    assert code == 1
    assert json.loads(out)["error"] == "register_entry_not_found"


def test_holder_commands_with_softhsm_token(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        import pkcs11  # noqa: F401
    except ImportError:
        pytest.skip("python-pkcs11 missing: install the 'hsm' extra")
    if not os.path.exists(SOFTHSM_LIB) or shutil.which("softhsm2-util") is None:
        pytest.skip(f"softhsm2 missing: apt-get install softhsm2 ({SOFTHSM_LIB})")
    base = data_dir / "hsm"
    (base / "tokens").mkdir(parents=True)
    conf = base / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {base / 'tokens'}\nobjectstore.backend = file\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", "eid-card", "--so-pin", "1234",
                    "--pin", "4321"], check=True, capture_output=True)
    tok = ("--pkcs11-lib", SOFTHSM_LIB, "--token", "eid-card", "--pin", "4321")
    csr, cert = data_dir / "t.csr", data_dir / "t.pem"

    def holder(*args: str) -> tuple[int, str]:  # (exit code, standard output); errors go into the assertion
        # In a process of its own: a PKCS#11 library is initialised once per process and reads SOFTHSM2_CONF
        # then, so another test's token directory (tests/pki) would otherwise still be the one in use here.
        done = subprocess.run([sys.executable, "-m", "portfeil.cli", "eid-holder", *args], capture_output=True,
                              text=True, env=dict(os.environ), check=False, timeout=120)
        return done.returncode, done.stdout if done.returncode == 0 else done.stdout + done.stderr

    code, out = holder("keygen", *tok)
    assert code == 0, out
    code, out = holder("csr", *tok, "--out", str(csr))
    assert code == 0, out
    adm = _prepare()
    code, out = invoke("eid", "issue", "--person", IVAN, "--csr", str(csr), "--administrator", adm,
                       "--officer", "служител", "--document", "645123450", "--out", str(cert), "--json")
    assert code == 0, out
    code, out = holder("import-cert", *tok, "--cert", str(cert))
    assert code == 0, out
    code, out = holder("sign-challenge", *tok, "--challenge", _challenge())
    assert code == 0, out
    assert _login(json.loads(out)) == json.loads(invoke("eid", "list", "--json")[1])[0]["electronic_id"]
