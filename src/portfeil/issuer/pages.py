"""Bilingual pages of the PID provider: the index and the authorization endpoint (eID authentication, preview of
the attributes, consent)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

import portfeil.issuer.messages  # noqa: F401 - registers the texts
from portfeil.errors import PortfeilError
from portfeil.issuer.flows import PidIssuer
from portfeil.web.deps import Ctx
from portfeil.web.pages import render

DEMO_MARKER = Path("issuer") / "demo-mode"


def demo_enabled(ctx: Any) -> Path | None:
    """The demo person's PKCS#12, when this data directory was prepared by ``portfeil demo`` (only then)."""
    data_dir: Path = ctx.settings.data_dir
    if not (data_dir / DEMO_MARKER).exists():
        return None
    try:
        from portfeil.eid.demo import demo_p12_path
    except ImportError:
        return None
    p12: Path = demo_p12_path(data_dir)
    return p12 if p12.exists() else None


def _demo_sign(p12: Path, challenge: str) -> dict[str, Any]:
    from portfeil.eid.demo import DEMO_P12_PASSPHRASE
    from portfeil.eid.holder import authentication, load_p12

    body: dict[str, Any] = authentication(load_p12(p12, DEMO_P12_PASSPHRASE), challenge)
    return body


def build_pages() -> APIRouter:
    r = APIRouter(prefix="/issuer", include_in_schema=False)

    def error_page(request: Request, exc: PortfeilError) -> Response:
        return render(request, "issuer/error.html", status_code=exc.status if exc.status < 500 else 400,
                      code=exc.code, message=exc.message)

    @r.get("/")
    async def index(request: Request, ctx: Ctx) -> Response:
        iss = await PidIssuer.of(ctx)
        return render(request, "issuer/index.html", configs=list(iss.configs.values()))

    @r.get("/authorize")
    async def authorize(request: Request, ctx: Ctx, client_id: str = "", request_uri: str = "") -> Response:
        iss = await PidIssuer.of(ctx)
        try:
            row, challenge = await iss.start_authentication(client_id, request_uri)
        except PortfeilError as exc:
            return error_page(request, exc)
        from portfeil.web.i18n import language

        lang = language(request)
        names = [iss.config(c).display.get(lang, iss.config(c).display["en"]) for c in row.config_ids]
        return render(request, "issuer/authorize.html", client_id=client_id, request_uri=request_uri,
                      challenge=challenge, credential_names=names, demo=demo_enabled(ctx) is not None)

    @r.post("/authorize/eid")
    async def eid(
        request: Request, ctx: Ctx, client_id: str = Form(...), request_uri: str = Form(...),
        challenge: str = Form(...), eid_response: str = Form(""), demo: str = Form(""),
    ) -> Response:
        iss = await PidIssuer.of(ctx)
        try:
            p12 = demo_enabled(ctx)
            if demo and p12 is not None:
                body = _demo_sign(p12, challenge)
            else:
                try:
                    body = json.loads(eid_response)
                except ValueError:
                    raise PortfeilError("invalid_eid_response", "the signed response is not JSON") from None
                if not isinstance(body, dict):
                    raise PortfeilError("invalid_eid_response", "the signed response is not a JSON object")
            signature, chain = body.get("signature"), body.get("chain")
            if not isinstance(signature, str) or not isinstance(chain, list):
                raise PortfeilError("invalid_eid_response", "the response needs signature and chain")
            row, person = await iss.authenticate(client_id, request_uri, challenge, signature, chain)
        except PortfeilError as exc:
            return error_page(request, exc)
        from portfeil.web.i18n import language

        preview = iss.preview(row, person, language(request))
        return render(request, "issuer/consent.html", client_id=client_id, request_uri=request_uri,
                      credentials=preview)

    @r.post("/authorize/consent")
    async def consent(
        request: Request, ctx: Ctx, client_id: str = Form(...), request_uri: str = Form(...),
        decision: str = Form(...),
    ) -> Response:
        iss = await PidIssuer.of(ctx)
        try:
            target = await iss.decide(client_id, request_uri, consent=decision == "accept")
        except PortfeilError as exc:
            return error_page(request, exc)
        return RedirectResponse(target, status_code=303)

    return r
