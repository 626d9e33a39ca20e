"""HTTP endpoints of the PID provider: thin over :class:`portfeil.issuer.flows.PidIssuer`.

Public (wallets): metadata at ``/.well-known/openid-credential-issuer/issuer`` (OpenID4VCI 1.0 §12.2.2 path
insertion) and ``/issuer/.well-known/openid-credential-issuer``, AS metadata likewise (RFC 8414 §3.1), ``/issuer/par``,
``/issuer/token``, ``/issuer/nonce``, ``/issuer/credential``, ``/issuer/deferred_credential``,
``/issuer/notification``, ``/issuer/offers/<id>`` (offer by reference), ``/issuer/status/<list>``.
Operators (bearer token): ``/issuer/api/v1/offers``, ``/issuer/api/v1/status``.

Errors are OAuth error objects; protocol errors keep the headers the specifications ask for (``DPoP-Nonce``,
``WWW-Authenticate: DPoP`` on 401, RFC 9449 §7.1).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field

from portfeil.issuer import lifecycle
from portfeil.issuer.flows import HttpAnswer, PidIssuer
from portfeil.protocols.errors import ProtocolError
from portfeil.web.deps import Ctx, Operator, ctx_of

_MAX_FORM_FIELDS = 100


class OAuthRoute(APIRoute):
    """Turns :class:`ProtocolError` into its OAuth error response with the headers it carries."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        original = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await original(request)
            except ProtocolError as exc:
                headers = dict(exc.headers)
                headers["Cache-Control"] = "no-store"
                if exc.status == 401:
                    headers["WWW-Authenticate"] = f'DPoP error="{exc.code}", algs="ES256"'
                return JSONResponse(exc.to_dict(), status_code=exc.status, headers=headers)

        return handler


async def _issuer(request: Request) -> PidIssuer:
    """The issuer of the request's application. The protocol endpoints read the context from the request instead of
    declaring the ``Ctx`` dependency: wallets call them for every issuance, and solving a dependency per request
    costs FastAPI more than the lookup."""
    return await PidIssuer.of(ctx_of(request))


def _respond(answer: HttpAnswer) -> Response:
    if answer.body is None:
        return Response(status_code=answer.status, headers=answer.headers)
    if isinstance(answer.body, str):
        return Response(answer.body, status_code=answer.status, headers=answer.headers, media_type=answer.media_type)
    return JSONResponse(answer.body, status_code=answer.status, headers=answer.headers)


async def _form(request: Request) -> dict[str, Any]:
    ctype = request.headers.get("content-type", "")
    if not ctype.startswith("application/x-www-form-urlencoded"):
        raise ProtocolError("invalid_request", "the body must be application/x-www-form-urlencoded")
    try:  # RFC 6749 appendix B: UTF-8, percent-encoded; a repeated parameter becomes a list (rejected later)
        pairs = parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True, strict_parsing=False,
                          max_num_fields=_MAX_FORM_FIELDS)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("invalid_request", "the form body is not valid") from None
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            previous = out[key]
            out[key] = [*previous, value] if isinstance(previous, list) else [previous, value]
        else:
            out[key] = value
    return out


async def _json(request: Request) -> object:
    raw = await request.body()
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("invalid_credential_request", "the body is not JSON") from None


def _headers(request: Request) -> dict[str, str]:
    return {k.lower(): v for k, v in request.headers.items()}


def _dpop(request: Request) -> str | None:
    values = request.headers.getlist("dpop")
    if len(values) > 1:
        raise ProtocolError("invalid_dpop_proof", "exactly one DPoP header is allowed")
    return values[0] if values else None


class OfferIn(BaseModel):
    person: str = Field(description="ЕГН/ЛНЧ or internal person id", min_length=1, max_length=40)
    configurations: list[str] | None = Field(default=None, description="configuration ids (default: both PIDs)")
    tx_code: bool = True


class StatusIn(BaseModel):
    person: str | None = Field(default=None, max_length=40)
    credential: str | None = Field(default=None, max_length=36)
    status: Literal["revoked", "suspended", "valid"] = "revoked"
    reason: str = "operator"


def build_router() -> APIRouter:
    r = APIRouter(tags=["PID provider (OpenID4VCI 1.0)"], route_class=OAuthRoute)

    async def issuer(ctx: Any) -> PidIssuer:
        return await PidIssuer.of(ctx)

    @r.get("/.well-known/openid-credential-issuer/issuer", summary="Credential Issuer metadata (§12.2.2)")
    @r.get("/issuer/.well-known/openid-credential-issuer", include_in_schema=False)
    async def issuer_metadata(ctx: Ctx) -> Response:
        return Response((await issuer(ctx)).credential_issuer_metadata_json(), media_type="application/json")

    @r.get("/.well-known/oauth-authorization-server/issuer", summary="Authorization Server metadata (RFC 8414)")
    @r.get("/issuer/.well-known/oauth-authorization-server", include_in_schema=False)
    async def as_metadata(ctx: Ctx) -> JSONResponse:
        return JSONResponse((await issuer(ctx)).authorization_server_metadata())

    @r.post("/issuer/par", status_code=201, summary="Pushed authorization request (RFC 9126)")
    async def par(request: Request) -> Response:
        iss = await _issuer(request)
        return _respond(await iss.par(await _form(request), _headers(request), dpop=_dpop(request)))

    @r.post("/issuer/token", summary="Token endpoint (authorization code, pre-authorized code)")
    async def token(request: Request) -> Response:
        iss = await _issuer(request)
        return _respond(await iss.token(await _form(request), _headers(request), dpop=_dpop(request)))

    @r.post("/issuer/nonce", summary="Nonce endpoint (§7): a fresh c_nonce per call")
    async def nonce(request: Request) -> Response:
        return _respond(await (await _issuer(request)).nonce_endpoint())

    @r.post("/issuer/credential", summary="Credential endpoint (§8)")
    async def credential(request: Request) -> Response:
        iss = await _issuer(request)
        return _respond(await iss.credential(await _json(request), authorization=request.headers.get("authorization"),
                                             dpop=_dpop(request)))

    @r.post("/issuer/deferred_credential", summary="Deferred credential endpoint (§9)")
    async def deferred(request: Request) -> Response:
        iss = await _issuer(request)
        return _respond(await iss.deferred(await _json(request), authorization=request.headers.get("authorization"),
                                           dpop=_dpop(request)))

    @r.post("/issuer/notification", status_code=204, summary="Notification endpoint (§11)")
    async def notification(request: Request) -> Response:
        iss = await _issuer(request)
        return _respond(await iss.notification(await _json(request),
                                               authorization=request.headers.get("authorization"),
                                               dpop=_dpop(request)))

    @r.get("/issuer/offers/{offer_id}", summary="A credential offer by reference (§4.1.3)")
    async def offer(offer_id: str, ctx: Ctx) -> JSONResponse:
        body = await (await issuer(ctx)).offer_by_reference(offer_id)
        return JSONResponse(body, headers={"Cache-Control": "no-store"})

    @r.get("/issuer/status/{list_id}", summary="Status list token (statuslist+jwt, or statuslist+cwt on Accept)")
    async def status_list(list_id: str, request: Request, ctx: Ctx) -> Response:
        iss = await issuer(ctx)
        accept = request.headers.get("accept", "")
        form = "cwt" if "statuslist+cwt" in accept else "jwt"
        token = await iss.status.token(list_id, form=form, signer=(await iss.keys()).signer, now=ctx.clock.now())
        media = "application/statuslist+cwt" if form == "cwt" else "application/statuslist+jwt"
        return Response(token, media_type=media, headers={"Cache-Control": f"max-age={iss.status.ttl // 2}"})

    @r.post("/issuer/api/v1/offers", dependencies=[Operator], summary="Operator: create a pre-authorized offer")
    async def create_offer(body: OfferIn, ctx: Ctx) -> dict[str, Any]:
        res = await (await issuer(ctx)).create_offer(body.person, body.configurations, tx_code=body.tx_code)
        return res.to_dict()

    @r.post("/issuer/api/v1/status", dependencies=[Operator], summary="Operator: revoke, suspend or reinstate PIDs")
    async def set_status(body: StatusIn, ctx: Ctx) -> dict[str, Any]:
        return await lifecycle.set_status(ctx, person_ref=body.person, credential_id=body.credential,
                                          status=body.status, reason=body.reason)

    return r
