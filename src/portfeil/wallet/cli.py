"""``portfeil wallet ...``: the holder wallet from the command line (init, trust, accept, present, list, show,
delete, log, parties, ui).

The wallet directory is ``--dir``, else ``PORTFEIL_WALLET_DIR``, else ``<data_dir>/wallet``; the passphrase comes
from ``PORTFEIL_WALLET_PASSPHRASE`` or a prompt. Exit status: 0 success, 1 refused (with ``--json`` the stable
error code), 2 usage.
"""

from __future__ import annotations

import asyncio
import os
import webbrowser
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import typer

from portfeil.clitools import JsonOption, console, print_json, run
from portfeil.settings import get_settings
from portfeil.wallet.core import Wallet
from portfeil.wallet.errors import WalletError

wallet_app = typer.Typer(help="The holder wallet: receive, keep (encrypted), present, log.", no_args_is_help=True)
trust_app = typer.Typer(help="The wallet's trust anchors.", no_args_is_help=True)
wallet_app.add_typer(trust_app, name="trust")
T = TypeVar("T")
DirOption = typer.Option(None, "--dir", help="Wallet directory (default PORTFEIL_WALLET_DIR or DATA_DIR/wallet).")


def wallet_dir(value: Path | None = None) -> Path:
    if value is not None:
        return value
    env = os.environ.get("PORTFEIL_WALLET_DIR")
    return Path(env) if env else get_settings().data_dir / "wallet"


def passphrase(*, confirm: bool = False) -> str:
    value = os.environ.get("PORTFEIL_WALLET_PASSPHRASE")
    if value:
        return value
    return str(typer.prompt("Wallet passphrase / Парола на портфейла", hide_input=True,
                            confirmation_prompt=confirm))


def _with_wallet(directory: Path | None, fn: Callable[[Wallet], Awaitable[T]], as_json: bool) -> T:
    async def inner() -> T:
        wallet = Wallet.open(wallet_dir(directory), passphrase())
        try:
            return await fn(wallet)
        finally:
            await wallet.aclose()

    return run(inner(), as_json)


def _out(data: Any, as_json: bool, text: str | None = None) -> None:
    if as_json:
        print_json(data)
    else:
        console.print(text if text is not None else data)


SchemeOperatorOption = typer.Option(
    None, "--scheme-operator", envvar="PORTFEIL_WALLET_SCHEME_OPERATOR",
    help="PEM file with the trust registry's scheme operator (list signing) certificate(s) to pin.")
TofuOption = typer.Option(
    False, "--trust-on-first-use",
    help="Demo/test ecosystems only: pin the scheme operator certificate the registry itself announces.")


def _read_pin(file: Path | None) -> bytes | None:
    if file is None:
        return None
    try:
        return file.read_bytes()
    except OSError:
        raise WalletError("file_unreadable", "the scheme operator file cannot be read") from None


def _trust_text(res: dict[str, Any]) -> str:
    how = res.get("pinned_by")
    warn = ("\n[bold yellow]trust on first use:[/bold yellow] the scheme operator certificate was taken from the "
            "registry itself (a test ecosystem only)") if how == "trust_on_first_use" else ""
    lists = ", ".join(f"{k} #{v}" for k, v in res.get("lists", {}).items())
    return f"{res.get('anchors', 0)} trust anchors from the signed lists ({lists}){warn}"


@wallet_app.command("init")
def init(directory: Path = DirOption,
         registry: str = typer.Option(None, help="Trust registry base URL (default PUBLIC_URL/trust)."),
         scheme_operator: Path = SchemeOperatorOption,
         trust_on_first_use: bool = TofuOption,
         offline: bool = typer.Option(False, help="Do not contact the trust registry (add anchors by hand)."),
         as_json: bool = JsonOption) -> None:
    """Create the wallet's keys and encrypted store; take the trust anchors from the trust registry's signed lists
    (verified against the pinned scheme operator certificate) and a wallet unit attestation."""
    root = wallet_dir(directory)
    pin = run(_value(lambda: _read_pin(scheme_operator)), as_json)
    if not offline and pin is None and not trust_on_first_use:
        run(_raise(WalletError("scheme_operator_not_pinned", "give --scheme-operator FILE.pem (the registry's list "
                               "signing certificate), or --trust-on-first-use for a test ecosystem")), as_json)
    secret = passphrase(confirm=True)

    async def go() -> dict[str, Any]:
        wallet = Wallet.create(root, secret)
        try:
            out: dict[str, Any] = {"dir": str(root), "wallet_id": wallet.store.wallet_id}
            if not offline:
                url = registry or get_settings().effective_public_url + "/trust"
                out.update(await wallet.setup_from_registry(url, scheme_operator=pin,
                                                            trust_on_first_use=trust_on_first_use))
            return out
        finally:
            await wallet.aclose()

    res = run(go(), as_json)
    _out(res, as_json, f"wallet created in {root}" + ("" if offline else "\n" + _trust_text(res)))


@trust_app.command("add")
def trust_add(file: Path = typer.Argument(..., help="PEM file with a CA certificate."),
              role: str = typer.Option(..., "--role", help="pid-provider, iaca, rp-access, registrar, ..."),
              directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Trust a CA certificate for a role by hand (kept apart from the list-derived anchors: a refresh keeps it)."""
    try:
        pem = file.read_bytes()
    except OSError:
        run(_raise(WalletError("file_unreadable", "the certificate file cannot be read")), as_json)
        return

    async def go(w: Wallet) -> dict[str, Any]:
        return {"role": role, "added": w.anchors.add(role, pem)}

    _out(_with_wallet(directory, go, as_json), as_json)


@trust_app.command("list")
def trust_list(directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The pinned scheme operator, the lists (sequence, NextUpdate) and the anchors per role (SHA-256)."""

    async def go(w: Wallet) -> dict[str, Any]:
        return w.anchors.summary(now=w.clock.now())

    _out(_with_wallet(directory, go, as_json), as_json)


@trust_app.command("refresh")
def trust_refresh(directory: Path = DirOption, registry: str = typer.Option(None, help="Trust registry base URL."),
                  scheme_operator: Path = typer.Option(
                      None, "--scheme-operator", help="Pin this scheme operator certificate (PEM) instead."),
                  trust_on_first_use: bool = TofuOption, as_json: bool = JsonOption) -> None:
    """Take the anchors again from the registry's signed lists; on any failure the old anchors stay."""
    pin = run(_value(lambda: _read_pin(scheme_operator)), as_json)

    async def go(w: Wallet) -> dict[str, Any]:
        return await w.refresh_trust(registry, scheme_operator=pin, trust_on_first_use=trust_on_first_use)

    res = _with_wallet(directory, go, as_json)
    _out(res, as_json, _trust_text(res))


async def _value(fn: Callable[[], T]) -> T:
    return fn()


async def _raise(exc: Exception) -> None:
    raise exc


def local_callback(redirect_uri: str, *, open_browser: bool = True, timeout: float = 600.0,
                   ) -> Callable[[str], Awaitable[str]]:
    """The browser step of the authorization code flow: print (and open) the authorization URL, then wait for the
    redirect to ``redirect_uri`` on a one-shot local HTTP listener (loopback only)."""
    parts = urlsplit(redirect_uri)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def step(url: str) -> str:
        got: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = (await reader.readline()).decode("latin-1")
            target = line.split(" ")[1] if line.count(" ") >= 2 else "/"
            page = "<!doctype html><html lang=bg><title>portfeil</title><p>Готово. Done. Върнете се в терминала.</p>"
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nConnection: close\r\n\r\n"
                         + page.encode())
            await writer.drain()
            writer.close()
            if target.startswith(parts.path or "/") and not got.done():
                got.set_result(f"{parts.scheme}://{parts.netloc}{target}")

        server = await asyncio.start_server(handle, "127.0.0.1" if host == "localhost" else host, port)
        console.print(f"Open in your browser / Отворете в браузъра:\n  {url}")
        if open_browser:
            webbrowser.open(url)
        try:
            return await asyncio.wait_for(got, timeout)
        finally:
            server.close()
            await server.wait_closed()

    return step


@wallet_app.command("accept")
def accept(offer: str = typer.Argument(..., help="openid-credential-offer:// link (by value or by reference)"),
           tx_code: str = typer.Option(None, "--tx-code", help="The transaction code given to you separately."),
           batch: int = typer.Option(None, help="One-time credentials per type (default 3)."),
           redirect_uri: str = typer.Option("http://localhost:8765/callback", help="Local callback (code flow)."),
           no_browser: bool = typer.Option(False, help="Only print the authorization URL."),
           directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Accept a credential offer (OpenID4VCI 1.0)."""
    from portfeil.wallet.receive import accept_offer

    async def go(w: Wallet) -> dict[str, Any]:
        return await accept_offer(w, offer, tx_code=tx_code, batch=batch, redirect_uri=redirect_uri,
                                  authorize=local_callback(redirect_uri, open_browser=not no_browser))

    res = _with_wallet(directory, go, as_json)
    _out(res, as_json, "\n".join(f"received {c.get('format')} from {res['issuer_name']}" for c in res["credentials"]))


@wallet_app.command("present")
def present(request: str = typer.Argument(..., help="openid4vp:// or haip-vp:// link"),
            yes: bool = typer.Option(False, "--yes", help="Consent without asking (scripts)."),
            only: str = typer.Option(None, "--only", help="Comma-separated claims to send (others withheld)."),
            choose: list[str] = typer.Option([], "--choose", help="QUERY_ID=CREDENTIAL_ID (repeatable)."),
            allow_beyond_registration: bool = typer.Option(False, help="Answer even a request beyond the party's "
                                                           "registration (not recommended)."),
            directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Present credentials to a relying party (OpenID4VP 1.0), after showing who asks and for what."""
    from portfeil.wallet.present import load_request, respond

    async def go(w: Wallet) -> dict[str, Any]:
        pending = await load_request(w, request)
        info = pending.to_dict()
        if not yes:
            console.print(f"[bold]{info['party']['name']}[/bold] ({'verified' if info['verified'] else 'UNVERIFIED'})")
            console.print(f"purpose / цел: {info['purpose'].get('bg') or info['purpose'].get('en') or '-'}")
            beyond = ", ".join(info["registration"]["beyond"])
            within = "yes" if pending.within_registration else "NO: " + beyond
            console.print(f"within registration / в рамките на регистрацията: {within}")
            for qid, opts in info["options"].items():
                for o in opts[:1]:
                    console.print(f"  {qid}: {o['name']}: " + ", ".join("/".join(map(str, p)) for p in o["claims"]))
            if not typer.confirm("Send? / Изпращане?", default=False):
                raise WalletError("declined", "the user declined")
        choices = dict(c.split("=", 1) for c in choose if "=" in c)
        result = await respond(w, pending, choices=choices, only=only.split(",") if only else None,
                               allow_beyond_registration=allow_beyond_registration)
        return {**result, "request": info}

    res = _with_wallet(directory, go, as_json)
    _out(res, as_json, f"sent to {res['party']['name']}")


@wallet_app.command("list")
def list_(directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """The credentials in the wallet (no claims)."""

    async def go(w: Wallet) -> list[dict[str, Any]]:
        return [Wallet.summary(r) for r in w.credentials()]

    res = _with_wallet(directory, go, as_json)
    _out(res, as_json, "\n".join(f"{c['id']}  {c['format']:<10} {c['issuer_name']}  unused {c['unused']}"
                                 for c in res) or "no credentials")


@wallet_app.command("show")
def show(credential_id: str, directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """One credential with its claims."""

    async def go(w: Wallet) -> dict[str, Any]:
        return Wallet.summary(w.credential(credential_id), with_claims=True)

    _out(_with_wallet(directory, go, as_json), as_json)


@wallet_app.command("delete")
def delete(credential_id: str, directory: Path = DirOption, as_json: bool = JsonOption) -> None:
    """Delete a credential (every one-time instance of it)."""

    async def go(w: Wallet) -> dict[str, Any]:
        w.delete_credential(credential_id)
        return {"deleted": credential_id}

    _out(_with_wallet(directory, go, as_json), as_json)


@wallet_app.command("log")
def log(directory: Path = DirOption, parties: bool = typer.Option(False, help="The dashboard of parties instead."),
        as_json: bool = JsonOption) -> None:
    """The transaction log: every issuance and presentation, with exactly which claims went out."""

    async def go(w: Wallet) -> list[dict[str, Any]]:
        return w.log.parties() if parties else w.log.entries()

    res = _with_wallet(directory, go, as_json)
    if as_json:
        print_json(res)
    else:
        for e in res:
            console.print(e)


@wallet_app.command("ui")
def ui(directory: Path = DirOption, port: int = typer.Option(8770, help="Port (loopback only).")) -> None:
    """The local web UI of the wallet on http://localhost:PORT/wallet (Bulgarian and English)."""
    import uvicorn

    from portfeil.wallet.service import standalone_app

    os.environ.setdefault("PORTFEIL_WALLET_DIR", str(wallet_dir(directory)))
    uvicorn.run(standalone_app(wallet_dir(directory)), host="127.0.0.1", port=port, log_config=None)


def register(app: typer.Typer) -> None:
    app.add_typer(wallet_app, name="wallet")
