"""Commands of the PID provider: ``portfeil issuer ...``.

* ``offer --person ЕГН [--config ID]... [--by-reference] [--qr FILE.png] --json``: a pre-authorized credential offer
  (the ``openid-credential-offer://`` URI, the tx_code and a QR code: PNG file, or drawn in the terminal);
* ``revoke --person ЕГН | --credential ID --reason R [--suspend | --reinstate] --json``;
* ``credentials --person ЕГН``, ``hold --person ЕГН --reason``, ``deferred``, ``approve REF`` / ``reject REF``,
  ``configs``, ``metadata``.

Exit status: 0 success, 1 refused (a :class:`~portfeil.errors.PortfeilError`; with ``--json`` its code), 2 usage.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from portfeil.clitools import JsonOption, console, output, print_json, run, with_context
from portfeil.context import AppContext

issuer_app = typer.Typer(help="PID provider (OpenID4VCI 1.0): offers, revocation, deferred issuance.",
                         no_args_is_help=True)


def _go(fn: Any, as_json: bool) -> Any:
    async def inner(ctx: AppContext) -> Any:
        from portfeil.issuer.flows import PidIssuer

        return await fn(ctx, await PidIssuer.of(ctx))

    return run(with_context(inner), as_json)


@issuer_app.command("offer")
def offer(
    person: str = typer.Option(..., "--person", help="ЕГН/ЛНЧ (or internal id) of the person, identity checked"),
    config: list[str] = typer.Option(None, "--config", help="Credential configuration id (repeatable)"),
    no_tx_code: bool = typer.Option(False, "--no-tx-code", help="Offer without a transaction code (not advised)"),
    by_reference: bool = typer.Option(False, "--by-reference", help="QR encodes credential_offer_uri"),
    qr: Path = typer.Option(None, "--qr", help="Write the QR code as PNG to this file"),
    as_json: bool = JsonOption,
) -> None:
    """Create a pre-authorized credential offer for a person whose identity was checked at the desk."""
    import segno

    async def fn(_ctx: AppContext, iss: Any) -> dict[str, Any]:
        res = await iss.create_offer(person, config or None, tx_code=not no_tx_code)
        out: dict[str, Any] = res.to_dict()
        return out

    data = _go(fn, as_json)
    link = data["credential_offer_uri_by_reference"] if by_reference else data["credential_offer_uri"]
    code = segno.make(link, error="m")
    if qr is not None:
        code.save(str(qr), scale=6, border=4)
        data["qr_png"] = str(qr)
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]offer[/bold] {data['offer_id']} (expires {data['expires_at']})")
    console.print(link, soft_wrap=True, markup=False)
    if data["tx_code"]:
        console.print(f"[bold]tx_code[/bold] {data['tx_code']}  (give it to the person separately)")
    if qr is None:
        code.terminal(compact=True)


@issuer_app.command("revoke")
def revoke(
    person: str = typer.Option(None, "--person", help="ЕГН/ЛНЧ: every PID of the person"),
    credential: str = typer.Option(None, "--credential", help="One credential id"),
    reason: str = typer.Option("operator", "--reason", help="operator, holder_request, compromised, false_data, "
                               "holder_death, data_changed, legal_order"),
    suspend: bool = typer.Option(False, "--suspend", help="Suspend (reversible) instead of revoking"),
    reinstate: bool = typer.Option(False, "--reinstate", help="Lift a suspension"),
    as_json: bool = JsonOption,
) -> None:
    """Revoke (or suspend / reinstate) PIDs; the status list changes at once."""
    from portfeil.issuer.lifecycle import set_status

    status = "valid" if reinstate else "suspended" if suspend else "revoked"

    async def fn(ctx: AppContext, _iss: Any) -> dict[str, Any]:
        return await set_status(ctx, person_ref=person, credential_id=credential, status=status, reason=reason)

    data = _go(fn, as_json)
    output(data, as_json, f"{data['changed']} credential(s) now {status}")


@issuer_app.command("credentials")
def credentials(person: str = typer.Option(..., "--person"), as_json: bool = JsonOption) -> None:
    """The PIDs issued to a person (no claims: configuration, status, status-list position, dates)."""
    from portfeil.issuer.lifecycle import credentials_of

    async def fn(ctx: AppContext, _iss: Any) -> list[dict[str, Any]]:
        return await credentials_of(ctx, person)

    data = _go(fn, as_json)
    output(data, as_json, "\n".join(f"{c['id']} {c['configuration']} {c['status']} {c['issued_at']}" for c in data)
         or "no credentials")


@issuer_app.command("hold")
def hold(person: str = typer.Option(..., "--person"), reason: str = typer.Option(..., "--reason"),
         as_json: bool = JsonOption) -> None:
    """Require a manual check of the person's register data: their next PID request is deferred."""

    async def fn(_ctx: AppContext, iss: Any) -> dict[str, Any]:
        await iss.hold_person(person, reason)
        return {"held": True}

    output(_go(fn, as_json), as_json, "held: the next request is deferred until approved")


@issuer_app.command("deferred")
def deferred(as_json: bool = JsonOption) -> None:
    """Pending deferred issuances."""

    async def fn(_ctx: AppContext, iss: Any) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = await iss.pending_deferred()
        return out

    data = _go(fn, as_json)
    output(data, as_json, "\n".join(f"{d['reference']} {d['configuration']} {d['created_at']}" for d in data)
         or "nothing pending")


def _decide(reference: str, approve: bool, as_json: bool) -> None:
    async def fn(_ctx: AppContext, iss: Any) -> dict[str, Any]:
        out: dict[str, Any] = await iss.decide_deferred(reference, approve=approve)
        return out

    data = _go(fn, as_json)
    output(data, as_json, f"{data['reference']}: {data['state']}")


@issuer_app.command("approve")
def approve(reference: str, as_json: bool = JsonOption) -> None:
    """Approve a deferred issuance after the manual check (the wallet then receives the credential)."""
    _decide(reference, True, as_json)


@issuer_app.command("reject")
def reject(reference: str, as_json: bool = JsonOption) -> None:
    """Reject a deferred issuance."""
    _decide(reference, False, as_json)


@issuer_app.command("configs")
def configs(as_json: bool = JsonOption) -> None:
    """The credential configurations loaded from the data files."""
    from portfeil.issuer.configs import default_settings

    data = [{"id": c.id, "format": c.format, "vct": c.vct, "doctype": c.doctype, "claims": len(c.claims),
             "deferred": c.deferred} for c in default_settings().configurations.values()]
    output(data, as_json, "\n".join(f"{d['id']}: {d['format']} {d['vct'] or d['doctype']}" for d in data))


@issuer_app.command("metadata")
def metadata() -> None:
    """Print the Credential Issuer metadata (JSON)."""

    async def fn(_ctx: AppContext, iss: Any) -> dict[str, Any]:
        out: dict[str, Any] = iss.credential_issuer_metadata()
        return out

    print_json(_go(fn, True))


def register(app: typer.Typer) -> None:
    app.add_typer(issuer_app, name="issuer")
