"""``portfeil verifier ...``: create a presentation request and read its result from the command line.

Exit status: 0 success, 1 refused (a :class:`~portfeil.errors.PortfeilError`; with ``--json`` its code), 2 usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from portfeil.clitools import JsonOption, console, print_json, run, with_context
from portfeil.context import AppContext
from portfeil.verifier.errors import VerifierError
from portfeil.verifier.transactions import Verifier

verifier_app = typer.Typer(help="Relying-party verifier (OpenID4VP 1.0).", no_args_is_help=True)
CLI_PARTY = "cli"


def _go(fn: Any, as_json: bool) -> Any:
    async def inner(ctx: AppContext) -> Any:
        return await fn(await Verifier.of(ctx))

    return run(with_context(inner), as_json)


@verifier_app.command("request")
def request(
    template: str = typer.Option(None, "--template", help="pid-basic, age-over-18 or pid-full"),
    dcql: Path = typer.Option(None, "--dcql", help="A JSON file with a DCQL query."),
    party: str = typer.Option(None, "--party", help="Party id (default: the CLI's own demo party)."),
    client_id_prefix: str = typer.Option("x509_san_dns", help="x509_san_dns or x509_hash"),
    response_mode: str = typer.Option("direct_post.jwt", help="direct_post or direct_post.jwt"),
    as_json: bool = JsonOption,
) -> None:
    """Create a presentation transaction; print its id and the openid4vp:// link."""
    if (template is None) == (dcql is None):
        raise typer.BadParameter("give exactly one of --template and --dcql")
    query = None
    if dcql is not None:
        try:
            query = json.loads(dcql.read_text())
        except (OSError, ValueError):
            run(_raise(VerifierError("invalid_dcql", "the DCQL file is not readable JSON")), as_json)

    async def fn(v: Verifier) -> dict[str, Any]:
        party_id = party
        if party_id is None:
            p = await v.ensure_party(CLI_PARTY, name="Команден ред демо", eik="1213961230342",
                                     templates=("pid-basic", "age-over-18", "pid-full"))
            party_id = p.id
        created = await v.create(party_id, dcql=query, template=template,
                                 client_id_prefix=client_id_prefix,  # type: ignore[arg-type]
                                 response_mode=response_mode)  # type: ignore[arg-type]
        return {"id": created.id, "link": created.link, "request_uri": created.request_uri,
                "client_id": created.client_id, "expires_at": created.expires_at.isoformat()}

    out = _go(fn, as_json)
    if as_json:
        print_json(out)
    else:
        console.print(f"transaction {out['id']}")
        print(out["link"])


async def _raise(exc: Exception) -> None:
    raise exc


@verifier_app.command("result")
def result(tx_id: str = typer.Argument(..., help="Transaction id"), as_json: bool = JsonOption) -> None:
    """Print the status of a transaction and, once answered, the verified claims or the failures."""
    out = _go(lambda v: v.any_result(tx_id), as_json)
    if as_json:
        print_json(out)
    else:
        console.print(f"{out['id']}: {out['status']}")
        for c in (out.get("result") or {}).get("credentials", []):
            console.print(c)


@verifier_app.command("parties")
def parties(as_json: bool = JsonOption) -> None:
    """List the parties registered with this verifier."""
    out = _go(lambda v: v.list_parties(), as_json)
    if as_json:
        print_json(out)
    else:
        for p in out:
            console.print(f"{p['id']}  {p['name']}  {p['dns']}")


def register(app: typer.Typer) -> None:
    app.add_typer(verifier_app, name="verifier")
