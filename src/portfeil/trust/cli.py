"""Commands of the trust registry: ``portfeil trust ...``, ``portfeil rp ...``, ``portfeil wallet-provider ...``.

Exit status: 0 success, 1 refused (a :class:`~portfeil.errors.PortfeilError`; with ``--json`` its code is printed),
2 usage error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from portfeil.clitools import JsonOption, output, run, with_context
from portfeil.context import AppContext
from portfeil.pki.certs import cert_to_pem
from portfeil.pki.roles import Role
from portfeil.trust.errors import TrustError
from portfeil.trust.lists import LIST_SPECS
from portfeil.trust.registrar import parse_chain, parse_intended_uses, parse_registration
from portfeil.trust.registry import TrustRegistry

trust_app = typer.Typer(help="Trust registry: anchors and trusted lists.", no_args_is_help=True)
anchors_app = typer.Typer(help="Trust anchors per role.", no_args_is_help=True)
lists_app = typer.Typer(help="Published trusted lists.", no_args_is_help=True)
rp_app = typer.Typer(help="Relying-party registrar (Art. 5b).", no_args_is_help=True)
wp_app = typer.Typer(help="Wallet provider: wallet units and breaches.", no_args_is_help=True)
trust_app.add_typer(anchors_app, name="anchors")
trust_app.add_typer(lists_app, name="lists")


def _go(fn: Any, as_json: bool) -> Any:
    async def inner(ctx: AppContext) -> Any:
        return await fn(await TrustRegistry.of(ctx))

    return run(with_context(inner), as_json)


# -- anchors ------------------------------------------------------------------------------------------------
@anchors_app.command("export")
def anchors_export(directory: Path = typer.Argument(..., help="Directory to write <role>.pem files into."),
                   as_json: bool = JsonOption) -> None:
    """Write each role's trust anchors as a PEM bundle named by role (pid-provider.pem, iaca.pem, ...)."""

    async def fn(reg: TrustRegistry) -> dict[str, Any]:
        directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one-shot CLI
        written: dict[str, Any] = {}
        for role in Role:
            certs = await reg.anchors(role)
            if not certs:
                continue
            path = directory / f"{role.value}.pem"
            path.write_bytes(b"".join(cert_to_pem(c) for c in certs))
            written[role.value] = {"file": str(path), "certificates": len(certs)}
        op = directory / "tsl-operator-signer.pem"
        op.write_bytes(cert_to_pem(reg.scheme_operator_certificate()))
        written["scheme_operator_signer"] = {"file": str(op), "certificates": 1}
        return written

    result = _go(fn, as_json)
    output({"directory": str(directory), "files": result}, as_json,
         "\n".join(f"{k}: {v['file']} ({v['certificates']})" for k, v in result.items()))


@anchors_app.command("add")
def anchors_add(file: Path = typer.Argument(..., help="PEM (or DER) certificate of the CA to trust."),
                role: str = typer.Option(..., "--role", help="Role: " + ", ".join(r.value for r in Role)),
                as_json: bool = JsonOption) -> None:
    """Trust an external CA for a role (so independent issuers, wallets and verifiers can join)."""
    try:
        data = file.read_bytes()
    except OSError:
        from portfeil.clitools import fail

        fail(TrustError("file_not_readable", "the certificate file cannot be read"), as_json)
    certs = None

    async def fn(reg: TrustRegistry) -> dict[str, str]:
        nonlocal certs
        certs = parse_chain(data)
        return await reg.add_anchor(role, certs[0])

    result = _go(fn, as_json)
    output(result, as_json, f"trusted for {result['role']}: {result['subject']} ({result['sha256']})")


@anchors_app.command("list")
def anchors_list(as_json: bool = JsonOption) -> None:
    """Every role's anchors."""

    async def fn(reg: TrustRegistry) -> dict[str, Any]:
        return {role.value: [reg.describe_certificate(c) for c in await reg.anchors(role)] for role in Role}

    result = _go(fn, as_json)
    output(result, as_json, "\n".join(f"{k}: {len(v)}" for k, v in result.items()))


@lists_app.command("publish")
def lists_publish(out: Path = typer.Option(None, "--out", help="Also write <name>.xml and <name>.json here."),
                  force: bool = typer.Option(False, "--force", help="Re-issue even if unchanged."),
                  as_json: bool = JsonOption) -> None:
    """Publish (or re-issue) every trusted list; print sequence numbers."""

    async def fn(reg: TrustRegistry) -> list[dict[str, Any]]:
        result = []
        for name in LIST_SPECS:
            xml = await reg.trusted_list(name, force=force)
            lote = await reg.lote(name, force=force)
            if out is not None:
                out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one-shot CLI
                (out / f"{name}.xml").write_bytes(xml.body)
                (out / f"{name}.json").write_bytes(lote.body)
            result.append({"name": name, "sequence_number": xml.sequence, "next_update": xml.next_update.isoformat()})
        return result

    result = _go(fn, as_json)
    output(result, as_json, "\n".join(f"{r['name']}: #{r['sequence_number']}" for r in result))


# -- relying parties ----------------------------------------------------------------------------------------
@rp_app.command("register")
def rp_register(
    name: str = typer.Option(..., "--name", help="Legal name."),
    eik: str = typer.Option(..., "--eik", help="ЕИК (9 or 13 digits, check digits verified)."),
    dns: str = typer.Option(..., "--dns", help="DNS name of the service (SAN of the access certificate)."),
    uses: Path = typer.Option(..., "--uses", help='JSON file: [{"purpose": {"bg","en"}, "credentials": [...]}]'),
    email: str = typer.Option(None, "--email", help="Contact e-mail (default privacy@DNS)."),
    privacy_policy: str = typer.Option(None, "--privacy-policy", help="Privacy policy URL (default https://DNS/privacy)."),
    trade_name: str = typer.Option(None, "--trade-name"),
    approve: bool = typer.Option(False, "--approve", help="Approve at once (issues registration certificates)."),
    access_cert: Path = typer.Option(None, "--access-cert-out",
                                     help="With --approve: generate a key and write key + access certificate here."),
    as_json: bool = JsonOption,
) -> None:
    """Register a relying party (pending; with --approve also approved)."""
    try:
        uses_data = json.loads(uses.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        from portfeil.clitools import fail

        fail(TrustError("invalid_intended_use", "the uses file is not readable JSON"), as_json)

    async def fn(reg: TrustRegistry) -> dict[str, Any]:
        request = parse_registration({
            "legal_name": name, "trade_name": trade_name, "eik": eik, "dns": dns,
            "contacts": {"email": email or f"privacy@{dns}"},
            "privacy_policy_url": privacy_policy or f"https://{dns}/privacy",
            "intended_uses": [u.model_dump() for u in parse_intended_uses(uses_data)],
        })
        rp = await reg.registrar.register(request)
        if approve:
            rp = await reg.registrar.approve(rp["id"])
            rp["registration_certificates"] = await reg.registrar.registration_certificates(rp["id"])
            if access_cert is not None:
                from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

                issued = await reg.registrar.issue_access_certificate(rp["id"], generate=True)
                access_cert.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - one-shot CLI
                assert issued.private_key is not None
                key_path = access_cert / "access.key.pem"
                key_path.write_bytes(issued.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8,
                                                                      NoEncryption()))
                key_path.chmod(0o600)
                (access_cert / "access.chain.pem").write_bytes(b"".join(cert_to_pem(c) for c in issued.chain))
                rp["access_certificate"] = {"chain": str(access_cert / "access.chain.pem"), "key": str(key_path)}
        return rp

    rp = _go(fn, as_json)
    output(rp, as_json, f"registered {rp['legal_name']} as {rp['id']} ({rp['status']})")


@rp_app.command("list")
def rp_list(all_: bool = typer.Option(False, "--all", help="Include pending requests."),
            as_json: bool = JsonOption) -> None:
    """The register."""
    result = _go(lambda reg: reg.registrar.list_parties(public=not all_), as_json)
    output(result, as_json, "\n".join(f"{r['id']}  {r['status']:<13} {r['eik']:<13} {r['legal_name']}" for r in result)
         or "no relying parties")


@rp_app.command("show")
def rp_show(rp_id: str, as_json: bool = JsonOption) -> None:
    """One relying party with its intended uses and status history."""

    async def fn(reg: TrustRegistry) -> dict[str, Any]:
        rp = await reg.registrar.get(rp_id, public=False)
        rp["history"] = await reg.registrar.events(rp_id)
        return rp

    rp = _go(fn, as_json)
    output(rp, as_json, json.dumps(rp, ensure_ascii=False, indent=2))


def _transition(action: str) -> Any:
    def command(rp_id: str, reason: str = typer.Option(..., "--reason"), as_json: bool = JsonOption) -> None:
        rp = _go(lambda reg: getattr(reg.registrar, action)(rp_id, reason), as_json)
        output(rp, as_json, f"{rp['legal_name']}: {rp['status']}")

    command.__doc__ = f"{action.capitalize()} a relying party (reason required)."
    return command


@rp_app.command("approve")
def rp_approve(rp_id: str, as_json: bool = JsonOption) -> None:
    """Approve a pending relying party (issues its registration certificates)."""
    rp = _go(lambda reg: reg.registrar.approve(rp_id), as_json)
    output(rp, as_json, f"{rp['legal_name']}: {rp['status']}")


for _action in ("suspend", "reinstate", "deregister"):
    rp_app.command(_action)(_transition(_action))


# -- wallet provider ----------------------------------------------------------------------------------------
@wp_app.command("units")
def wp_units(as_json: bool = JsonOption) -> None:
    """Recent wallet units."""
    result = _go(lambda reg: reg.wallet_provider.units(), as_json)
    output(result, as_json, "\n".join(f"{u['id']}  {u['status']:<10} {u['wallet_version']}" for u in result)
         or "no wallet units")


@wp_app.command("revoke")
def wp_revoke(unit_id: str, reason: str = typer.Option("operator", "--reason"), as_json: bool = JsonOption) -> None:
    """Revoke a wallet unit (reasons: user_request, compromised, holder_death, breach, operator)."""
    result = _go(lambda reg: reg.wallet_provider.revoke(unit_id, reason), as_json)
    output(result, as_json, f"{result['id']}: {result['status']}")


@wp_app.command("breach")
def wp_breach(
    text_bg: str = typer.Option(..., "--bg", help="Notice to users, in Bulgarian."),
    text_en: str = typer.Option(..., "--en", help="Notice to users, in English."),
    version: list[str] = typer.Option(None, "--version", help="Affected wallet version (repeat; default all)."),
    action: str = typer.Option("suspend", "--action", help="suspend or revoke"),
    as_json: bool = JsonOption,
) -> None:
    """Declare a security breach (Art. 5a(6)): suspend or revoke affected units and notify their users."""
    result = _go(lambda reg: reg.wallet_provider.declare_breach({"bg": text_bg, "en": text_en},
                                                               affected_versions=version or None, action=action),
                 as_json)
    output(result, as_json, f"breach {result['id']}: {result['affected_units']} wallet units {action}ed")


def register(app: typer.Typer) -> None:
    app.add_typer(trust_app, name="trust")
    app.add_typer(rp_app, name="rp")
    app.add_typer(wp_app, name="wallet-provider")
