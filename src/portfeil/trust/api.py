"""HTTP API of the trust registry (prefix ``/trust``). Every endpoint says who may call it.

Public (anyone, no authentication): trusted lists, status lists, the CRL, the relying-party register, the free
validation services (Art. 5a(8)), wallet-provider nonce and registration (the wallet proves its key), wallet-unit
status and notices. Operator (``Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>``): registering and changing
relying parties, issuing access certificates, adding anchors, revoking wallet units, declaring breaches.
"""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from fastapi import APIRouter
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from portfeil.pki.certs import cert_to_pem
from portfeil.pki.keys import public_key_from_jwk
from portfeil.pki.roles import Role
from portfeil.trust.errors import TrustError
from portfeil.trust.lists import LIST_SPECS
from portfeil.trust.registrar import RegistrationIn, parse_chain
from portfeil.trust.registry import TrustRegistry
from portfeil.trust.status import STATUS_LISTS
from portfeil.web.deps import Ctx, Operator

PUBLIC = "**Who may call:** anyone (public, no authentication)."
OPERATOR = "**Who may call:** the operator only (`Authorization: Bearer <PORTFEIL_OPERATOR_TOKEN>`)."
WALLET = "**Who may call:** a wallet instance, proving possession of its instance key over a server nonce."


async def registry_of(ctx: Any) -> TrustRegistry:
    return await TrustRegistry.of(ctx)


class ReasonIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=1000)


class AccessCertIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    csr_pem: str | None = Field(default=None, max_length=20000)
    public_jwk: dict[str, Any] | None = None
    generate: bool = False


class ChainIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    certificate_chain: list[str] = Field(min_length=1, max_length=10, description="PEM or base64 DER, leaf first")


class AnchorIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: str
    certificate_pem: str = Field(max_length=20000)


class WalletUnitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proof: str = Field(max_length=8192)
    wallet_name: str = Field(default="portfeil", max_length=100)
    wallet_version: str = Field(default="0", max_length=50)
    key_proofs: list[str] = Field(default_factory=list, max_length=16)


class ProofIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proof: str = Field(max_length=8192)
    key_proofs: list[str] = Field(default_factory=list, max_length=16)


class HolderRevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    proof: str = Field(max_length=8192)
    reason: str = "user_request"


class OperatorRevokeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str


class BreachIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: dict[str, str]
    affected_versions: list[str] | None = None
    action: str = "suspend"


def build_router() -> APIRouter:
    r = APIRouter(prefix="/trust", tags=["trust"])

    # -- trusted lists, status lists, CRL (public) ----------------------------------------------------------
    @r.get("/lists/{name}.xml", summary="A trusted list (ETSI TS 119 612 XML, XAdES-signed)", description=PUBLIC)
    async def list_xml(name: str, ctx: Ctx) -> Response:
        reg = await registry_of(ctx)
        pub = await reg.trusted_list(name)
        return Response(pub.body, media_type=pub.media_type, headers={"Cache-Control": "public, max-age=300"})

    @r.get("/lists/{name}.json", summary="A list of trusted entities (ETSI TS 119 602 LoTE, JSON in a compact JWS)",
           description=PUBLIC)
    async def list_lote(name: str, ctx: Ctx) -> Response:
        reg = await registry_of(ctx)
        pub = await reg.lote(name)
        return Response(pub.body, media_type=pub.media_type, headers={"Cache-Control": "public, max-age=300"})

    @r.get("/api/v1/lists", summary="Index of the published lists", description=PUBLIC)
    async def lists_index(ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        out = []
        for name, spec in LIST_SPECS.items():
            pub = await reg.trusted_list(name)
            out.append({"name": name, "title": {"bg": spec.title_bg, "en": spec.title_en}, "type": spec.lote_type,
                        "sequence_number": pub.sequence, "next_update": pub.next_update.isoformat(),
                        "xml": ctx.url(f"/trust/lists/{name}.xml"), "lote": ctx.url(f"/trust/lists/{name}.json")})
        return {"scheme_operator_certificate": cert_to_pem(reg.scheme_operator_certificate()).decode(),
                "lists": out}

    @r.get("/status/{name}", summary="A Token Status List (statuslist+jwt)", description=PUBLIC)
    async def status_list(name: str, ctx: Ctx) -> Response:
        spec = STATUS_LISTS.get(name)
        if spec is None:
            raise TrustError("unknown_list", "no such status list")
        reg = await registry_of(ctx)
        signer = reg.signer(Role.REGISTRAR if name == "rp" else Role.WALLET_PROVIDER)
        token = await reg.status_lists.token(name, uri=ctx.url(spec.path), signer=signer.issued,
                                             x5c=list(signer.chain), now=ctx.clock.now())
        return Response(token, media_type="application/statuslist+jwt", headers={"Cache-Control": "max-age=60"})

    @r.get("/crl/rp-access.crl", summary="CRL of the relying-party access CA (DER)", description=PUBLIC)
    async def crl(ctx: Ctx) -> Response:
        reg = await registry_of(ctx)
        return Response(await reg.registrar.crl(), media_type="application/pkix-crl")

    @r.get("/api/v1/anchors", summary="Trust anchors per role (PEM)", description=PUBLIC)
    async def anchors(ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {role.value: [cert_to_pem(c).decode() for c in await reg.anchors(role)] for role in Role}

    @r.post("/api/v1/anchors", summary="Trust an external CA for a role", description=OPERATOR,
            dependencies=[Operator], status_code=201)
    async def add_anchor(body: AnchorIn, ctx: Ctx) -> dict[str, str]:
        reg = await registry_of(ctx)
        return await reg.add_anchor(body.role, parse_chain(body.certificate_pem)[0])

    # -- relying parties ------------------------------------------------------------------------------------
    @r.get("/api/v1/relying-parties", summary="The public register of relying parties", description=PUBLIC)
    async def rp_list(ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {"relying_parties": await reg.registrar.list_parties(public=True)}

    @r.get("/api/v1/relying-parties/{rp_id}", summary="One registered relying party", description=PUBLIC)
    async def rp_get(rp_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.registrar.get(rp_id, public=True)

    @r.get("/api/v1/relying-parties/{rp_id}/status", summary="Is this relying party registered? (Art. 5a(8)(b))",
           description=PUBLIC)
    async def rp_status(rp_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.registrar.status(rp_id)

    @r.get("/api/v1/relying-parties/{rp_id}/registration-certificates",
           summary="The registration certificates of a relying party (rc-wrp+jwt)", description=PUBLIC)
    async def rp_rcs(rp_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {"registration_certificates": await reg.registrar.registration_certificates(rp_id)}

    @r.post("/api/v1/validate/access-certificate",
            summary="Validate an access certificate: registered? for which attributes? (Art. 5a(8)(b))",
            description=PUBLIC)
    async def validate_access(body: ChainIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.registrar.validate_access_certificate(parse_chain(body.certificate_chain))

    @r.post("/api/v1/relying-parties", summary="Register a relying party (state pending)", description=OPERATOR,
            dependencies=[Operator], status_code=201)
    async def rp_register(body: RegistrationIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.registrar.register(body)

    @r.get("/api/v1/relying-parties/{rp_id}/history", summary="Status history with reasons", description=OPERATOR,
           dependencies=[Operator])
    async def rp_history(rp_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {"events": await reg.registrar.events(rp_id)}

    @r.post("/api/v1/relying-parties/{rp_id}/approve", summary="Approve (issues registration certificates)",
            description=OPERATOR, dependencies=[Operator])
    async def rp_approve(rp_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.registrar.approve(rp_id)

    for action in ("suspend", "reinstate", "deregister"):
        def make(act: str) -> Any:
            async def handler(rp_id: str, body: ReasonIn, ctx: Ctx) -> dict[str, Any]:
                reg = await registry_of(ctx)
                result: dict[str, Any] = await getattr(reg.registrar, act)(rp_id, body.reason)
                return result
            return handler

        r.add_api_route(f"/api/v1/relying-parties/{{rp_id}}/{action}", make(action), methods=["POST"],
                        summary=f"{action.capitalize()} a relying party (reason required)", description=OPERATOR,
                        dependencies=[Operator])

    @r.post("/api/v1/relying-parties/{rp_id}/access-certificates",
            summary="Issue an access certificate (from a CSR, a public JWK, or a generated key returned once)",
            description=OPERATOR, dependencies=[Operator], status_code=201)
    async def rp_access_cert(rp_id: str, body: AccessCertIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        pub = None
        if body.public_jwk is not None:
            try:
                pub = public_key_from_jwk(body.public_jwk)
            except Exception as exc:
                raise TrustError("invalid_certificate_request", "the public JWK does not decode") from exc
        issued = await reg.registrar.issue_access_certificate(
            rp_id, csr_pem=body.csr_pem.encode() if body.csr_pem else None, public_key=pub, generate=body.generate
        )
        out: dict[str, Any] = {
            "certificate_chain_pem": [cert_to_pem(c).decode() for c in issued.chain],
            "x5c": [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in issued.chain],
        }
        if issued.private_key is not None:
            out["private_key_pem"] = issued.private_key.private_bytes(
                Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()
            ).decode()
        return out

    # -- wallet provider ------------------------------------------------------------------------------------
    @r.post("/wallet-provider/nonce", summary="A one-time nonce for a proof of possession", description=PUBLIC)
    async def wp_nonce(ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.nonce()

    @r.post("/wallet-provider/wallet-units", summary="Register a wallet unit; get its client and unit attestations",
            description=WALLET, status_code=201)
    async def wp_register(body: WalletUnitIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.register(body.proof, wallet_name=body.wallet_name,
                                                  wallet_version=body.wallet_version, key_proofs=body.key_proofs)

    @r.post("/wallet-provider/wallet-units/{unit_id}/attestations", summary="Fresh attestations for a wallet unit",
            description=WALLET)
    async def wp_refresh(unit_id: str, body: ProofIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.refresh(unit_id, body.proof, key_proofs=body.key_proofs)

    @r.post("/wallet-provider/wallet-units/{unit_id}/revoke",
            summary="The wallet revokes itself (user request or compromise)", description=WALLET)
    async def wp_holder_revoke(unit_id: str, body: HolderRevokeIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.revoke_by_holder(unit_id, body.proof, reason=body.reason)

    @r.get("/api/v1/wallet-units/{unit_id}/status", summary="Is this wallet unit valid? (Art. 5a(8)(a))",
           description=PUBLIC)
    async def wu_status(unit_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.status(unit_id)

    @r.get("/api/v1/wallet-units/{unit_id}/notices",
           summary="Notices to the user of a wallet unit (breaches, suspension, revocation)",
           description=PUBLIC + " The unit id is a random capability known only to its wallet and the provider.")
    async def wu_notices(unit_id: str, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {"notices": await reg.wallet_provider.notices(unit_id)}

    @r.get("/api/v1/wallet-units", summary="Recent wallet units", description=OPERATOR, dependencies=[Operator])
    async def wu_list(ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return {"wallet_units": await reg.wallet_provider.units()}

    @r.post("/api/v1/wallet-units/{unit_id}/revoke", summary="Revoke a wallet unit (compromise, death, ...)",
            description=OPERATOR, dependencies=[Operator])
    async def wu_revoke(unit_id: str, body: OperatorRevokeIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.revoke(unit_id, body.reason)

    @r.post("/api/v1/breaches", summary="Declare a security breach (Art. 5a(6)): suspend/revoke and notify",
            description=OPERATOR, dependencies=[Operator], status_code=201)
    async def breach(body: BreachIn, ctx: Ctx) -> dict[str, Any]:
        reg = await registry_of(ctx)
        return await reg.wallet_provider.declare_breach(body.description, affected_versions=body.affected_versions,
                                                        action=body.action)

    return r
