"""Commands of the eID registry (``portfeil eid ...``, operators) and of a holder (``portfeil eid-holder ...``).

Exit status: 0 success, 1 refused (a :class:`~portfeil.errors.PortfeilError`; with ``--json`` its code is printed),
2 usage error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from portfeil.clitools import JsonOption, console, fail, output, print_json, run, with_context
from portfeil.context import AppContext
from portfeil.eid.errors import EidError
from portfeil.eid.register import Document
from portfeil.eid.registry import EidRegistry, IssueRequest

eid_app = typer.Typer(help="eID registry (Electronic Identification Act): certificates, register, sectors.",
                      no_args_is_help=True)
register_app = typer.Typer(help="Public register of eID administrators and centres.", no_args_is_help=True)
sector_app = typer.Typer(help="Sectors and their identifier keys.", no_args_is_help=True)
provider_app = typer.Typer(help="Service providers and their services.", no_args_is_help=True)
holder_app = typer.Typer(help="Holder tools: eID key, CSR and challenge signatures (PKCS#12 or PKCS#11).",
                         no_args_is_help=True)
eid_app.add_typer(register_app, name="register")
eid_app.add_typer(sector_app, name="sector")
eid_app.add_typer(provider_app, name="provider")



def _go(fn: Any, as_json: bool) -> Any:
    async def inner(ctx: AppContext) -> Any:
        return await fn(EidRegistry.for_context(ctx))

    return run(with_context(inner), as_json)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError:
        raise EidError("file_unreadable", f"cannot read {path.name}") from None


# --- certificates -------------------------------------------------------------------------------------------------
@eid_app.command("issue")
def issue(
    person: str = typer.Option(..., "--person", help="ЕГН or ЛНЧ of the applicant."),
    csr: Path = typer.Option(..., "--csr", help="The holder's PKCS#10 request (PEM or DER)."),
    administrator: str = typer.Option(..., "--administrator", help="Id of the registered eID administrator."),
    officer: str = typer.Option(..., "--officer", help="Officer who saw the applicant in person."),
    document: str = typer.Option(..., "--document", help="Number of the identity document shown."),
    centre: str = typer.Option(None, "--centre", help="Id of the eID centre where the applicant appeared."),
    co_signer: str = typer.Option(
        None, "--co-signer", help="ЕГН of the parent/guardian co-signing (minors, adults under guardianship)."
    ),
    out: Path = typer.Option(None, "--out", help="Write the certificate and CA chain (PEM) here."),
    as_json: bool = JsonOption,
) -> None:
    """Issue an eID certificate from a CSR (the person appeared in person before OFFICER)."""
    data = _read(csr) if csr.exists() else fail(EidError("file_unreadable", "no such CSR file"), as_json)

    async def fn(reg: EidRegistry) -> dict[str, Any]:
        cert = await reg.issue(IssueRequest(
            personal_number=person, csr=data, administrator_id=administrator, officer=officer,
            document_number=document, centre_id=centre, co_signer_personal_number=co_signer,
            co_signer_appeared=co_signer is not None,
        ), actor=f"cli:{officer}")
        out_d = cert.to_dict(with_pem=True)
        if out is not None:
            from cryptography.hazmat.primitives.serialization import Encoding

            chain = "".join(c.public_bytes(Encoding.PEM).decode() for c in await reg.ca_chain())
            out.write_text(out_d["certificate_pem"] + chain)  # noqa: ASYNC240 - one-shot CLI
        return out_d

    result = _go(fn, as_json)
    output(result, as_json, f"issued {result['serial']} to {result['electronic_id']} until {result['not_after']}")


def _transition(action: str, serial: str, reason: str, note: str | None, as_json: bool) -> None:
    async def fn(reg: EidRegistry) -> dict[str, Any]:
        if action == "suspend":
            return (await reg.suspend(serial, reason, actor="cli-operator", note=note,
                                      identity_checked=True)).to_dict()
        if action == "resume":
            return (await reg.resume(serial, actor="cli-operator", identity_checked=True, reason=reason)).to_dict()
        cert = await reg.terminate(serial, reason, actor="cli-operator", note=note)
        assert cert is not None
        return cert.to_dict()

    result = _go(fn, as_json)
    output(result, as_json, f"{result['serial']}: {result['status']} ({result['status_reason']})")


@eid_app.command("suspend")
def suspend(serial: str, reason: str = typer.Option(..., help="holder_request, misuse_report, authority_cause, "
                                                              "document_lost"),
            note: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Suspend a certificate (Art. 22)."""
    _transition("suspend", serial, reason, note, as_json)


@eid_app.command("resume")
def resume(serial: str, reason: str = typer.Option("holder_request"), as_json: bool = JsonOption) -> None:
    """Resume a suspended certificate at the holder's request (Art. 23)."""
    _transition("resume", serial, reason, None, as_json)


@eid_app.command("terminate")
def terminate(serial: str, reason: str = typer.Option(..., help="expiry, death, holder_request, false_data, "
                                                                "data_change, compromise"),
              note: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Terminate a certificate (Art. 24); final."""
    _transition("terminate", serial, reason, note, as_json)


@eid_app.command("show")
def show(serial: str, as_json: bool = JsonOption) -> None:
    """Show a certificate with every transition (who, when, reason, article)."""
    async def fn(reg: EidRegistry) -> dict[str, Any]:
        return (await reg.get(serial)).to_dict(with_pem=True)

    result = _go(fn, as_json)
    if as_json:
        print_json(result)
        return
    console.print(f"{result['serial']} {result['status']} eid={result['electronic_id']} until {result['not_after']}")
    for t in result["transitions"]:
        console.print(f"  {t['at']} {t['from']} -> {t['to']} {t['reason']} [{t['article']}] by {t['actor']}")


@eid_app.command("list")
def list_certificates(person: str = typer.Option(None, "--person", help="ЕГН or ЛНЧ."),
                      status: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """List certificates (all, or one person's)."""
    async def fn(reg: EidRegistry) -> list[dict[str, Any]]:
        person_id = None
        if person:
            from portfeil.sources import registry as population

            person_id = (await population.find_person(reg.db, person, clock=reg.clock)).id
        return [c.to_dict() for c in await reg.certificates(person_id=person_id, status=status)]

    result = _go(fn, as_json)
    if as_json:
        print_json(result)
        return
    for c in result:
        console.print(f"{c['serial']} {c['status']:<10} {c['electronic_id']} until {c['not_after'][:10]}")


@eid_app.command("expire")
def expire(as_json: bool = JsonOption) -> None:
    """Terminate every certificate past its validity (reason expiry)."""
    n = _go(lambda reg: reg.expire_due(), as_json)
    output({"terminated": n}, as_json, f"{n} certificate(s) terminated as expired")


@eid_app.command("purge-log")
def purge_log(as_json: bool = JsonOption) -> None:
    """Delete verification log entries older than 10 years."""
    n = _go(lambda reg: reg.purge_log(), as_json)
    output({"deleted": n}, as_json, f"{n} log entr(ies) deleted")


# --- register -----------------------------------------------------------------------------------------------------
@register_app.command("apply")
def register_apply(kind: str = typer.Option(..., help="administrator or centre"), name: str = typer.Option(...),
                   eik: str = typer.Option(...), address: str = typer.Option(...),
                   document: list[str] = typer.Option(..., help="NAME=SHA256 of each filed document"),
                   administrator: str = typer.Option(None, help="Operating administrator (centres)."),
                   state_body: bool = typer.Option(False), as_json: bool = JsonOption) -> None:
    """Record an application with its documents."""
    docs = []
    for d in document:
        n, _, h = d.partition("=")
        docs.append(Document(n, h.lower()))

    async def fn(reg: EidRegistry) -> dict[str, Any]:
        return (await reg.register.apply(kind, name=name, eik=eik, address=address, documents=docs,
                                         administrator_id=administrator, is_state_body=state_body,
                                         actor="cli-operator")).public()

    result = _go(fn, as_json)
    output(result, as_json, f"application {result['id']} recorded")


@register_app.command("action")
def register_action(entry_id: str, action: str = typer.Option(..., help="register, refuse, warning, suspension, "
                                                                         "reinstate, terminate"),
                    reason: str = typer.Option("", help="Reason (required for measures and termination)."),
                    as_json: bool = JsonOption) -> None:
    """Register an applicant (prints an administrator's desk API key once), or refuse, warn, suspend, reinstate,
    terminate an entry."""
    async def fn(reg: EidRegistry) -> dict[str, Any]:
        r = reg.register
        key = None
        if action == "register":
            e, key = await r.register(entry_id, actor="cli-operator")
        elif action == "refuse":
            e = await r.refuse(entry_id, reason=reason, actor="cli-operator")
        elif action in ("warning", "suspension"):
            e = await r.measure(entry_id, action, reason=reason, actor="cli-operator")
        elif action == "reinstate":
            e = await r.reinstate(entry_id, reason=reason, actor="cli-operator")
        elif action == "terminate":
            e = await r.terminate(entry_id, reason=reason, actor="cli-operator")
        else:
            raise EidError("invalid_action", "unknown register action")
        out = (await r.get(e.id)).public()
        if key:
            out["api_key"] = key
        return out

    result = _go(fn, as_json)
    output(result, as_json, f"{result['id']}: {result['status']}" + (f" api key {result['api_key']}"
                                                                   if "api_key" in result else ""))


@register_app.command("list")
def register_list(as_json: bool = JsonOption) -> None:
    """Every entry, applications included."""
    async def fn(reg: EidRegistry) -> list[dict[str, Any]]:
        return [e.public() for e in await reg.register.entries()]

    result = _go(fn, as_json)
    if as_json:
        print_json(result)
        return
    for e in result:
        console.print(f"{e['id']} {e['kind']:<13} {e['status']:<10} {e['name']}")


# --- sectors and providers ----------------------------------------------------------------------------------------
@sector_app.command("add")
def sector_add(code: str, name_bg: str = typer.Option(...), name_en: str = typer.Option(...),
               as_json: bool = JsonOption) -> None:
    """Add a sector (key version 1 is created in the keystore)."""
    result = _go(lambda reg: reg.add_sector(code, name_bg, name_en), as_json)
    output(result, as_json, f"sector {code} added")


@sector_app.command("rotate")
def sector_rotate(code: str, as_json: bool = JsonOption) -> None:
    """Add a new key version; identifiers already derived keep their version."""
    v = _go(lambda reg: reg.rotate_sector_key(code), as_json)
    output({"code": code, "current_version": v}, as_json, f"sector {code} now at key version {v}")


@provider_app.command("add")
def provider_add(name: str = typer.Option(...), eik: str = typer.Option(...),
                 state_body: bool = typer.Option(False), as_json: bool = JsonOption) -> None:
    """Register a service provider (prints its API key once)."""
    async def fn(reg: EidRegistry) -> dict[str, Any]:
        p, key = await reg.register_provider(name, eik, is_state_body=state_body)
        return {"id": p.id, "name": p.name, "api_key": key}

    result = _go(fn, as_json)
    output(result, as_json, f"provider {result['id']} api key {result['api_key']}")


@provider_app.command("service")
def provider_service(provider_id: str, name: str = typer.Option(...), register_code: str = typer.Option(...),
                     attribute: list[str] = typer.Option(..., help="An attribute the service may receive."),
                     sector: str = typer.Option(None), as_json: bool = JsonOption) -> None:
    """Register a provider's service with its attributes and optional sector."""
    result = _go(lambda reg: reg.add_service(provider_id, name, register_code, attribute, sector), as_json)
    output(result, as_json, f"service {result['id']} registered")


# --- holder -------------------------------------------------------------------------------------------------------
def _pkcs11(lib: str, token: str, pin: str) -> Any:
    from portfeil.pki.keystore_pkcs11 import PKCS11KeyStore

    return PKCS11KeyStore(lib, token, pin)


@holder_app.command("keygen")
def holder_keygen(p12: Path = typer.Option(None, "--p12", help="PKCS#12 file to create."),
                  passphrase: str = typer.Option(None, "--passphrase", envvar="PORTFEIL_EID_P12_PASSPHRASE",
                                                 help="Passphrase of the PKCS#12 file."),
                  pkcs11_lib: str = typer.Option(None, "--pkcs11-lib", help="PKCS#11 module (e.g. SoftHSM2)."),
                  token: str = typer.Option(None, "--token"), pin: str = typer.Option(None, "--pin",
                                                                                       envvar="PORTFEIL_EID_PIN"),
                  key_name: str = typer.Option("eid", "--key-name"), as_json: bool = JsonOption) -> None:
    """Generate an ECDSA P-256 eID key in a PKCS#12 file or a PKCS#11 token."""
    from portfeil.eid.holder import HolderKey, generate_key, save_p12

    if pkcs11_lib:
        store = _pkcs11(pkcs11_lib, token, pin)
        store.get_or_create_key(key_name)
        store.close()
        output({"token": token, "key": key_name}, as_json, f"key {key_name} on token {token}")
        return
    if p12 is None or not passphrase:
        fail(EidError("usage", "--p12 and --passphrase (or --pkcs11-lib) are required"), as_json)
    if p12.exists():
        fail(EidError("file_exists", "the key file exists; refusing to overwrite"), as_json)
    save_p12(p12, HolderKey(generate_key(), None, []), passphrase)
    output({"p12": str(p12)}, as_json, f"key written to {p12}")


@holder_app.command("csr")
def holder_csr(out: Path = typer.Option(..., "--out"), p12: Path = typer.Option(None, "--p12"),
               passphrase: str = typer.Option(None, "--passphrase", envvar="PORTFEIL_EID_P12_PASSPHRASE"),
               pkcs11_lib: str = typer.Option(None, "--pkcs11-lib"), token: str = typer.Option(None, "--token"),
               pin: str = typer.Option(None, "--pin", envvar="PORTFEIL_EID_PIN"),
               key_name: str = typer.Option("eid", "--key-name"), as_json: bool = JsonOption) -> None:
    """Write a PKCS#10 CSR for the key (PKCS#12 file or PKCS#11 token) for the administrator's desk."""
    from portfeil.eid.holder import load_p12, make_csr

    try:
        if pkcs11_lib:
            store = _pkcs11(pkcs11_lib, token, pin)
            key = store.get_key(key_name)
            if key is None:
                raise EidError("no_key", "no key with that name on the token")
            data = make_csr(key)
            store.close()
        else:
            if p12 is None or not passphrase:
                raise EidError("usage", "--p12 and --passphrase (or --pkcs11-lib) are required")
            data = make_csr(load_p12(p12, passphrase).key)
    except EidError as exc:
        fail(exc, as_json)
    out.write_bytes(data)
    output({"csr": str(out)}, as_json, f"CSR written to {out}")


@holder_app.command("import-cert")
def holder_import(cert: Path = typer.Option(..., "--cert", help="PEM: leaf then CA chain"),
                  p12: Path = typer.Option(None, "--p12"),
                  passphrase: str = typer.Option(None, "--passphrase", envvar="PORTFEIL_EID_P12_PASSPHRASE"),
                  pkcs11_lib: str = typer.Option(None, "--pkcs11-lib"), token: str = typer.Option(None, "--token"),
                  pin: str = typer.Option(None, "--pin", envvar="PORTFEIL_EID_PIN"),
                  key_name: str = typer.Option("eid", "--key-name"), as_json: bool = JsonOption) -> None:
    """Store the issued certificate and its issuing CA next to the key (PKCS#12 file or PKCS#11 token)."""
    from cryptography import x509

    from portfeil.eid.holder import store_certificate

    try:
        try:
            certs = x509.load_pem_x509_certificates(_read(cert))
        except ValueError:
            raise EidError("invalid_certificate", "not a PEM certificate") from None
        if pkcs11_lib:
            store = _pkcs11(pkcs11_lib, token, pin)
            key = store.get_key(key_name)
            if key is None or key.public_key() != certs[0].public_key():
                raise EidError("certificate_key_mismatch", "the certificate is not for the token's key")
            store.put_certificates(key_name, certs[:2])
            store.close()
        else:
            if p12 is None or not passphrase:
                raise EidError("usage", "--p12 and --passphrase (or --pkcs11-lib) are required")
            store_certificate(p12, passphrase, certs[0], certs[1:2])
    except EidError as exc:
        fail(exc, as_json)
    output({"stored": True}, as_json, "certificate stored")


@holder_app.command("sign-challenge")
def holder_sign(challenge: str = typer.Option(..., "--challenge"), p12: Path = typer.Option(None, "--p12"),
                passphrase: str = typer.Option(None, "--passphrase", envvar="PORTFEIL_EID_P12_PASSPHRASE"),
                pkcs11_lib: str = typer.Option(None, "--pkcs11-lib"), token: str = typer.Option(None, "--token"),
                pin: str = typer.Option(None, "--pin", envvar="PORTFEIL_EID_PIN"),
                key_name: str = typer.Option("eid", "--key-name")) -> None:
    """Sign an authentication challenge; prints the JSON to send ({challenge, signature, chain})."""
    from portfeil.eid.holder import HolderKey, authentication, chain_b64, load_p12, sign_challenge

    try:
        if pkcs11_lib:
            store = _pkcs11(pkcs11_lib, token, pin)
            key = store.get_key(key_name)
            certs = store.get_certificates(key_name)
            if key is None or not certs:
                raise EidError("no_certificate", "no key or certificate with that name on the token")
            body = {"challenge": challenge, "signature": sign_challenge(key, challenge), "chain": chain_b64(certs)}
            store.close()
        else:
            if p12 is None or not passphrase:
                raise EidError("usage", "--p12 and --passphrase (or --pkcs11-lib) are required")
            holder: HolderKey = load_p12(p12, passphrase)
            body = authentication(holder, challenge)
    except EidError as exc:
        fail(exc, True)
    print_json(body)


def register(app: typer.Typer) -> None:
    app.add_typer(eid_app, name="eid")
    app.add_typer(holder_app, name="eid-holder")


