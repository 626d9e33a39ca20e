"""HTTP API of the eID registry under ``/eid/``. Every route states who may call it (OpenAPI description):

- **public** (no authentication): the register of administrators and centres (JSON, CSV, HTML), the CRL, the OCSP
  responder, the CA certificates, challenges, misuse reports, online renewal (proved by the old key's signature);
- **administrator desk**: ``Authorization: Bearer <administrator API key>`` (issued once at registration; the key
  identifies the administrator, so a desk acts only as itself and stops working when the administrator is
  suspended or terminated);
- **service provider**: ``Authorization: Bearer <provider API key>`` (verification of an eID authentication);
- **holder**: the ``eid_session`` cookie set by an eID login (challenge signature), 15 minutes;
- **authority (operator)**: ``Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>`` (register management, sectors,
  providers, suspension/termination for cause, jobs).
"""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal

from cryptography.hazmat.primitives.serialization import Encoding
from fastapi import APIRouter, Cookie, Depends, Header, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, Field

from portfeil.eid import register as reg_module
from portfeil.eid.errors import EidError
from portfeil.eid.register import Document, EntryView
from portfeil.eid.registry import (
    ATTRIBUTES,
    SESSION_TTL,
    SUSPEND_REASONS,
    TERMINATE_REASONS,
    EidRegistry,
    IssueRequest,
    ProviderView,
)
from portfeil.web.deps import Ctx, Operator, bearer_token

PUBLIC = "**Who may call:** anyone (public, free, no authentication)."
DESK = "**Who may call:** a registered, active eID administrator (`Authorization: Bearer <administrator API key>`)."
PROVIDER = "**Who may call:** a registered service provider (`Authorization: Bearer <provider API key>`)."
HOLDER = "**Who may call:** the holder, after an eID login (`eid_session` cookie)."
AUTHORITY = "**Who may call:** the eID authority's operators (`Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>`)."
SESSION_COOKIE = "eid_session"


def registry(ctx: Ctx) -> EidRegistry:
    return EidRegistry.for_context(ctx)


Reg = Annotated[EidRegistry, Depends(registry)]


async def desk_administrator(reg: Reg, authorization: Annotated[str | None, Header()] = None) -> EntryView:
    token = bearer_token(authorization)
    entry = await reg.register.by_api_key(token) if token else None
    if entry is None:
        raise EidError("api_key_required", "an administrator API key is required")
    if entry.kind != "administrator" or entry.status != "registered":
        raise EidError("administrator_not_active", "the administrator is not registered and active")
    return entry


async def service_provider(reg: Reg, authorization: Annotated[str | None, Header()] = None) -> ProviderView:
    token = bearer_token(authorization)
    prov = await reg.provider_by_key(token) if token else None
    if prov is None:
        raise EidError("api_key_required", "a service provider API key is required")
    if prov.status != "active":
        raise EidError("provider_not_active", "the provider is not active")
    return prov


async def holder(reg: Reg, eid_session: Annotated[str | None, Cookie()] = None) -> str:
    eid = await reg.holder_session(eid_session)
    if eid is None:
        raise EidError("holder_login_required", "log in with your eID first")
    return eid


Desk = Annotated[EntryView, Depends(desk_administrator)]
ProviderDep = Annotated[ProviderView, Depends(service_provider)]
Holder = Annotated[str, Depends(holder)]


# --- bodies -------------------------------------------------------------------------------------------------------


class IssueIn(BaseModel):
    personal_number: str = Field(pattern=r"^[0-9]{10}$", description="ЕГН or ЛНЧ of the applicant")
    csr_pem: str = Field(max_length=20_000, description="PKCS#10 request made by the holder (PEM)")
    officer: str = Field(min_length=1, max_length=100, description="Officer who saw the applicant in person")
    document_number: str = Field(min_length=1, max_length=20, description="Identity document shown")
    centre_id: str | None = Field(default=None, description="eID centre where the applicant appeared")
    co_signer_personal_number: str | None = Field(default=None, pattern=r"^[0-9]{10}$",
                                                  description="Parent or guardian co-signing for a minor, or "
                                                              "guardian/trustee of an adult under guardianship")
    co_signer_appeared: bool = Field(default=False, description="The parent or guardian appeared in person")


class ReasonIn(BaseModel):
    reason: str = Field(max_length=40)
    note: str | None = Field(default=None, max_length=500)


class DeskActionIn(BaseModel):
    officer: str = Field(min_length=1, max_length=100, description="Officer who checked the holder's identity")
    note: str | None = Field(default=None, max_length=500)


class DeskTerminateIn(DeskActionIn):
    reason: Literal["holder_request", "compromise"] = "holder_request"


class MisuseIn(BaseModel):
    serial: str = Field(pattern=r"^[0-9a-fA-F]{1,40}$")
    reporter: str = Field(min_length=1, max_length=100, description="Who reports")
    evidence: str = Field(min_length=1, max_length=500, description="What shows the misuse")


class AuthIn(BaseModel):
    challenge: str = Field(max_length=64)
    signature: str = Field(max_length=400, description="base64url DER ECDSA-SHA256 (or Ed25519) over the challenge")
    chain: list[str] = Field(min_length=1, max_length=8, description="base64 DER certificates, leaf first")


class VerifyIn(AuthIn):
    service_id: str = Field(max_length=36)


class RenewIn(BaseModel):
    serial: str = Field(pattern=r"^[0-9a-fA-F]{1,40}$")
    csr_pem: str = Field(max_length=20_000)
    challenge: str = Field(max_length=64)
    signature: str = Field(max_length=400, description="signature over the challenge with the CURRENT key")


class DocumentIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class ApplicationIn(BaseModel):
    kind: Literal["administrator", "centre"]
    name: str = Field(min_length=1, max_length=200)
    eik: str = Field(pattern=r"^[0-9]{9}([0-9]{4})?$")
    address: str = Field(min_length=1, max_length=300)
    documents: list[DocumentIn] = Field(max_length=50)
    administrator_id: str | None = None
    is_state_body: bool = False


class EntryActionIn(BaseModel):
    action: Literal["register", "refuse", "measure", "reinstate", "terminate", "change"]
    reason: str | None = Field(default=None, max_length=500)
    measure: Literal["warning", "suspension"] | None = None
    name: str | None = Field(default=None, max_length=200)
    address: str | None = Field(default=None, max_length=300)
    documents: list[DocumentIn] = Field(default_factory=list, max_length=50)


class SectorIn(BaseModel):
    code: str = Field(pattern=r"^[a-z][a-z0-9-]{1,30}$")
    name_bg: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


class ProviderIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    eik: str = Field(pattern=r"^[0-9]{9}([0-9]{4})?$")
    is_state_body: bool


class ServiceIn(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    register_code: str = Field(min_length=1, max_length=40,
                               description="Number in the administrative services register")
    attributes: list[str] = Field(min_length=1, max_length=len(ATTRIBUTES), description=f"Of: {', '.join(ATTRIBUTES)}")
    sector_code: str | None = None


def _entry_json(e: EntryView) -> dict[str, Any]:
    return e.public() | {"id": e.id}


def _provider_json(p: ProviderView) -> dict[str, Any]:
    return {"id": p.id, "name": p.name, "eik": p.eik, "is_state_body": p.is_state_body, "status": p.status,
            "services": list(p.services)}


def _b64_any(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except (binascii.Error, ValueError):
        raise EidError("invalid_request", "not base64") from None


def routers() -> list[APIRouter]:
    public = APIRouter(prefix="/eid", tags=["eid: public"])
    desk = APIRouter(prefix="/eid/api/v1/desk", tags=["eid: administrator desk"])
    prov = APIRouter(prefix="/eid/api/v1", tags=["eid: service providers"])
    hold = APIRouter(prefix="/eid/api/v1/holder", tags=["eid: holder"])
    auth = APIRouter(prefix="/eid/api/v1", tags=["eid: authority"], dependencies=[Operator])

    # --- public ---------------------------------------------------------------------------------------------
    for kind, plural in (("administrator", "administrators"), ("centre", "centres")):
        def make(kind: str = kind, plural: str = plural) -> None:
            @public.get(f"/register/{plural}.json", summary=f"Public register of eID {plural} (JSON)",
                        description=PUBLIC)
            async def register_json(reg: Reg) -> JSONResponse:
                entries = await reg.register.entries(kind, public=True)
                return JSONResponse({"kind": kind, "count": len(entries), "entries": [e.public() for e in entries]},
                                    headers={"Access-Control-Allow-Origin": "*"})

            @public.get(f"/register/{plural}.csv", summary=f"Public register of eID {plural} (CSV)",
                        description=PUBLIC, response_class=PlainTextResponse)
            async def register_csv(reg: Reg) -> Response:
                entries = await reg.register.entries(kind, public=True)
                return Response(reg_module.to_csv(entries), media_type="text/csv; charset=utf-8",
                                headers={"Access-Control-Allow-Origin": "*",
                                         "Content-Disposition": f'inline; filename="{plural}.csv"'})
        make()

    @public.get("/crl/eid-ca.crl", summary="CRL of the eID issuing CA (DER, RFC 5280 §5)", description=PUBLIC)
    async def crl(reg: Reg) -> Response:
        return Response(await reg.crl(), media_type="application/pkix-crl")

    @public.get("/ca/eid-root-ca.pem", summary="eID root CA certificate (PEM)", description=PUBLIC)
    async def root_pem(reg: Reg) -> Response:
        return Response((await reg.root_ca()).public_bytes(Encoding.PEM), media_type="application/x-pem-file")

    @public.get("/ca/eid-issuing-ca.pem", summary="eID issuing CA certificate (PEM)", description=PUBLIC)
    async def issuing_pem(reg: Reg) -> Response:
        ca = await reg.issuing_ca()
        return Response(ca.certificate.public_bytes(Encoding.PEM), media_type="application/x-pem-file")

    @public.post("/ocsp", summary="OCSP responder (RFC 6960 §A.1, POST)", description=PUBLIC,
                 response_class=Response)
    async def ocsp_post(reg: Reg, request: Request) -> Response:
        body = await request.body()
        return Response(await reg.ocsp(body), media_type="application/ocsp-response")

    @public.get("/ocsp/{encoded:path}", summary="OCSP responder (RFC 6960 §A.1, GET)", description=PUBLIC,
                response_class=Response)
    async def ocsp_get(reg: Reg, encoded: str) -> Response:
        from urllib.parse import unquote

        try:
            der = base64.b64decode(unquote(encoded), validate=False)
        except (binascii.Error, ValueError):
            der = b""
        return Response(await reg.ocsp(der), media_type="application/ocsp-response",
                        headers={"Cache-Control": "max-age=60"})

    @public.post("/api/v1/challenges", summary="A single-use authentication challenge (5 minutes)",
                 description=PUBLIC, tags=["eid: public"])
    async def challenge(reg: Reg) -> dict[str, Any]:
        ch = await reg.new_challenge()
        return {"challenge": ch.challenge, "expires_at": ch.expires_at.isoformat()}

    @public.post("/api/v1/misuse-reports", summary="Report misuse of an eID certificate: suspends it, the holder is "
                 "notified (Art. 22)", description=PUBLIC)
    async def misuse(reg: Reg, body: MisuseIn) -> dict[str, Any]:
        cert = await reg.suspend(body.serial, "misuse_report", actor=f"reporter:{body.reporter}", note=body.evidence)
        return {"serial": cert.serial, "status": cert.status}

    @public.post("/api/v1/renewals", summary="Online renewal before expiry, proved by the current key",
                 description=PUBLIC + " The signature over a fresh challenge with the current key is the proof.")
    async def renew(reg: Reg, body: RenewIn) -> dict[str, Any]:
        cert = await reg.renew(body.serial, body.csr_pem.encode(), body.challenge, body.signature)
        return cert.to_dict(with_pem=True)

    # --- administrator desk ---------------------------------------------------------------------------------
    @desk.post("/certificates", summary="Issue an eID certificate from the holder's CSR (Art. 20)", description=DESK,
               status_code=201)
    async def issue(reg: Reg, adm: Desk, body: IssueIn) -> dict[str, Any]:
        cert = await reg.issue(IssueRequest(
            personal_number=body.personal_number, csr=body.csr_pem.encode(), administrator_id=adm.id,
            officer=body.officer, document_number=body.document_number, centre_id=body.centre_id,
            co_signer_personal_number=body.co_signer_personal_number, co_signer_appeared=body.co_signer_appeared,
        ), actor=f"administrator:{adm.id}:{body.officer}")
        chain = [c.public_bytes(Encoding.PEM).decode() for c in await reg.ca_chain()]
        return cert.to_dict(with_pem=True) | {"ca_chain_pem": chain}

    @desk.get("/certificates/{serial}", summary="Show a certificate issued by this administrator", description=DESK)
    async def desk_show(reg: Reg, adm: Desk, serial: str) -> dict[str, Any]:
        cert = await reg.get(serial)
        if cert.administrator_id != adm.id:
            raise EidError("certificate_not_found", "no such eID certificate")
        return cert.to_dict()

    @desk.post("/certificates/{serial}/suspend", summary="Suspend at the holder's request after an identity check",
               description=DESK)
    async def desk_suspend(reg: Reg, adm: Desk, serial: str, body: DeskActionIn) -> dict[str, Any]:
        return (await reg.suspend(serial, "holder_request", actor=f"administrator:{adm.id}:{body.officer}",
                                  note=body.note, identity_checked=True)).to_dict()

    @desk.post("/certificates/{serial}/resume", summary="Resume at the holder's request after an identity check",
               description=DESK)
    async def desk_resume(reg: Reg, adm: Desk, serial: str, body: DeskActionIn) -> dict[str, Any]:
        return (await reg.resume(serial, actor=f"administrator:{adm.id}:{body.officer}",
                                 identity_checked=True)).to_dict()

    @desk.post("/certificates/{serial}/terminate", summary="Terminate at the holder's request or for compromise",
               description=DESK)
    async def desk_terminate(reg: Reg, adm: Desk, serial: str, body: DeskTerminateIn) -> dict[str, Any]:
        cert = await reg.terminate(serial, body.reason, actor=f"administrator:{adm.id}:{body.officer}",
                                   note=body.note)
        assert cert is not None
        return cert.to_dict()

    # --- service providers ----------------------------------------------------------------------------------
    @prov.post("/verifications", summary="Verify an eID authentication for one of your services",
               description=PROVIDER + " Returns only the attributes registered for the service, plus the sector "
               "identifier if the service is in a sector. No client address or device data is stored.")
    async def verify(reg: Reg, provider: ProviderDep, body: VerifyIn) -> dict[str, Any]:
        vid = await reg.verify_authentication(body.service_id, body.challenge, body.signature, body.chain,
                                              provider_id=provider.id)
        return vid.to_dict()

    # --- holder ---------------------------------------------------------------------------------------------
    @hold.post("/login", summary="Log in with your eID (challenge signature); sets the eid_session cookie",
               description=PUBLIC)
    async def login(reg: Reg, body: AuthIn, response: Response) -> dict[str, Any]:
        token, eid = await reg.holder_login(body.challenge, body.signature, body.chain)
        response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                            samesite="strict", path="/eid", secure=reg.ctx.public_url.startswith("https://"))
        return {"electronic_id": eid, "expires_in": int(SESSION_TTL.total_seconds())}

    @hold.post("/logout", summary="End the holder session", description=HOLDER)
    async def logout(reg: Reg, response: Response, eid_session: Annotated[str | None, Cookie()] = None
                     ) -> dict[str, Any]:
        await reg.holder_logout(eid_session)
        response.delete_cookie(SESSION_COOKIE, path="/eid")
        return {"logged_out": True}

    @hold.get("/certificates", summary="My eID certificates", description=HOLDER)
    async def my_certs(reg: Reg, eid: Holder) -> dict[str, Any]:
        return {"electronic_id": eid, "certificates": [c.to_dict() for c in await reg.certificates(electronic_id=eid)]}

    @hold.get("/notifications", summary="Notices about my certificates (e.g. suspended on a misuse report)",
              description=HOLDER)
    async def my_notifications(reg: Reg, eid: Holder) -> dict[str, Any]:
        return {"electronic_id": eid, "notifications": await reg.notifications(await reg.person_of(eid))}

    @hold.get("/log", summary="My verification log (free)", description=HOLDER)
    async def my_log(reg: Reg, eid: Holder) -> dict[str, Any]:
        return {"electronic_id": eid, "entries": await reg.verification_log(eid)}

    # --- authority ------------------------------------------------------------------------------------------
    @auth.get("/certificates", summary="List eID certificates (by person or electronic identifier)",
              description=AUTHORITY)
    async def list_certs(ctx: Ctx, reg: Reg, personal_number: str | None = None, electronic_id: str | None = None,
                         status: str | None = None) -> dict[str, Any]:
        person_id = None
        if personal_number:
            from portfeil.sources import registry as population

            person_id = (await population.find_person(ctx.db, personal_number, clock=ctx.clock)).id
        certs = await reg.certificates(person_id=person_id, electronic_id=electronic_id, status=status)
        return {"certificates": [c.to_dict() for c in certs]}

    @auth.get("/certificates/{serial}", summary="Show a certificate with its transitions", description=AUTHORITY)
    async def show_cert(reg: Reg, serial: str) -> dict[str, Any]:
        return (await reg.get(serial)).to_dict(with_pem=True)

    @auth.post("/certificates/{serial}/suspend", summary="Suspend (any reason of Art. 22)", description=AUTHORITY)
    async def auth_suspend(reg: Reg, serial: str, body: ReasonIn) -> dict[str, Any]:
        if body.reason not in SUSPEND_REASONS:
            raise EidError("invalid_reason", "unknown suspension reason", allowed=sorted(SUSPEND_REASONS))
        return (await reg.suspend(serial, body.reason, actor="authority", note=body.note,
                                  identity_checked=True)).to_dict()

    @auth.post("/certificates/{serial}/resume", summary="Resume at the holder's request", description=AUTHORITY)
    async def auth_resume(reg: Reg, serial: str) -> dict[str, Any]:
        return (await reg.resume(serial, actor="authority", identity_checked=True)).to_dict()

    @auth.post("/certificates/{serial}/terminate", summary="Terminate (any reason of Art. 24)", description=AUTHORITY)
    async def auth_terminate(reg: Reg, serial: str, body: ReasonIn) -> dict[str, Any]:
        if body.reason not in TERMINATE_REASONS:
            raise EidError("invalid_reason", "unknown termination reason", allowed=sorted(TERMINATE_REASONS))
        cert = await reg.terminate(serial, body.reason, actor="authority", note=body.note)
        assert cert is not None
        return cert.to_dict()

    @auth.post("/register/applications", summary="Record an application with its documents", description=AUTHORITY,
               status_code=201)
    async def apply(reg: Reg, body: ApplicationIn) -> dict[str, Any]:
        e = await reg.register.apply(body.kind, name=body.name, eik=body.eik, address=body.address,
                                     documents=[Document(d.name, d.sha256) for d in body.documents],
                                     administrator_id=body.administrator_id, is_state_body=body.is_state_body,
                                     actor="authority")
        return _entry_json(e)

    @auth.post("/register/{entry_id}/actions", summary="Register, refuse, change, measure, reinstate or terminate",
               description=AUTHORITY + " Registering an administrator returns its desk API key once.")
    async def entry_action(reg: Reg, entry_id: str, body: EntryActionIn) -> dict[str, Any]:
        r = reg.register
        key: str | None = None
        reason = body.reason or ""
        if body.action == "register":
            e, key = await r.register(entry_id, actor="authority")
        elif body.action == "refuse":
            e = await r.refuse(entry_id, reason=reason, actor="authority")
        elif body.action == "measure":
            if body.measure is None:
                raise EidError("invalid_measure", "a measure is 'warning' or 'suspension'")
            e = await r.measure(entry_id, body.measure, reason=reason, actor="authority")
        elif body.action == "reinstate":
            e = await r.reinstate(entry_id, reason=reason, actor="authority")
        elif body.action == "terminate":
            e = await r.terminate(entry_id, reason=reason, actor="authority")
        else:
            e = await r.change(entry_id, actor="authority", reason=reason, name=body.name, address=body.address,
                               documents=[Document(d.name, d.sha256) for d in body.documents])
        out = _entry_json(await r.get(e.id))
        if key:
            out["api_key"] = key
        return out

    @auth.get("/register/entries", summary="All register entries, applications included", description=AUTHORITY)
    async def entries(reg: Reg) -> dict[str, Any]:
        return {"entries": [_entry_json(e) for e in await reg.register.entries()]}

    @auth.get("/sectors", summary="Sectors and their current key versions", description=AUTHORITY)
    async def list_sectors(reg: Reg) -> dict[str, Any]:
        return {"sectors": await reg.sectors()}

    @auth.post("/sectors", summary="Add a sector (creates key version 1 in the keystore)", description=AUTHORITY,
               status_code=201)
    async def add_sector(reg: Reg, body: SectorIn) -> dict[str, Any]:
        return await reg.add_sector(body.code, body.name_bg, body.name_en)

    @auth.post("/sectors/{code}/rotate", summary="Add a new key version (existing identifiers keep theirs)",
               description=AUTHORITY)
    async def rotate(reg: Reg, code: str) -> dict[str, Any]:
        return {"code": code, "current_version": await reg.rotate_sector_key(code)}

    @auth.get("/providers", summary="Service providers and their services", description=AUTHORITY)
    async def list_providers(reg: Reg) -> dict[str, Any]:
        return {"providers": [_provider_json(p) for p in await reg.providers()]}

    @auth.post("/providers", summary="Register a service provider (returns its API key once)",
               description=AUTHORITY, status_code=201)
    async def add_provider(reg: Reg, body: ProviderIn) -> dict[str, Any]:
        p, key = await reg.register_provider(body.name, body.eik, is_state_body=body.is_state_body)
        return _provider_json(p) | {"api_key": key}

    @auth.post("/providers/{provider_id}/services", summary="Register a service with its attributes and sector",
               description=AUTHORITY, status_code=201)
    async def add_service(reg: Reg, provider_id: str, body: ServiceIn) -> dict[str, Any]:
        return await reg.add_service(provider_id, body.name, body.register_code, body.attributes, body.sector_code)

    @auth.get("/billing", summary="Billing records of verifications for non-state providers", description=AUTHORITY)
    async def billing(reg: Reg, provider_id: str | None = None) -> dict[str, Any]:
        return {"records": await reg.billing(provider_id)}

    @auth.post("/jobs/expire", summary="Terminate expired certificates (reason expiry)", description=AUTHORITY)
    async def expire(reg: Reg) -> dict[str, Any]:
        return {"terminated": await reg.expire_due()}

    @auth.post("/jobs/purge-log", summary="Delete verification log entries older than 10 years",
               description=AUTHORITY)
    async def purge(reg: Reg) -> dict[str, Any]:
        return {"deleted": await reg.purge_log()}

    return [public, desk, prov, hold, auth]
