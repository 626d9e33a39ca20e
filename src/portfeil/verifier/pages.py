"""The two demo services (bilingual pages) and the browser status endpoint.

* ``/demo/egov/``: "e-Government portal login": the citizen signs in with the PID (``pid-basic``:
  names, birth date, personal_administrative_number = ЕГН) and sees a page addressed to them.
* ``/demo/age/``: a shop that learns only ``age_equal_or_over.18`` / ``age_over_18`` (``age-over-18``).

Each starts a transaction (POST), then shows a cross-device QR code (with a text alternative and the link) and
a same-device ``openid4vp://`` link; the page polls ``/verifier/status/{id}`` (authorised by a cookie holding the
transaction's view secret) and moves to the result page, which a same-device wallet also reaches through its
``redirect_uri`` carrying a ``response_code``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

import portfeil.verifier.messages  # noqa: F401 - registers the texts
from portfeil.errors import PortfeilError
from portfeil.verifier.transactions import CreatedTransaction, Verifier
from portfeil.web.deps import Ctx
from portfeil.web.i18n import language, translate
from portfeil.web.pages import render


@dataclass(frozen=True)
class Demo:
    slug: str
    template: str
    party_slug: str
    party_name: str
    eik: str
    title_key: str
    intro_key: str
    start_key: str


DEMOS: dict[str, Demo] = {
    "egov": Demo("egov", "pid-basic", "demo-egov", "Портал еУправление демо", "175074752",
                 "ver.egov.title", "ver.egov.intro", "ver.egov.start"),
    "age": Demo("age", "age-over-18", "demo-age", "Магазин Лоза демо", "177480148",
                "ver.age.title", "ver.age.intro", "ver.age.start"),
}
COOKIE = "pfv_view"


def _cookie_secret(request: Request, tx_id: str) -> str | None:
    raw = request.cookies.get(COOKIE, "")
    got_id, _, secret = raw.partition(".")
    return secret if got_id == tx_id and secret else None


def _claims(result: dict[str, Any]) -> dict[str, Any]:
    for c in (result.get("result") or {}).get("credentials", []):
        if c.get("verified"):
            claims = c.get("claims") or {}
            if c.get("format") == "mso_mdoc":
                return dict(claims.get("eu.europa.ec.eudi.pid.1", {}))
            return dict(claims)
    return {}


def build_pages() -> APIRouter:
    r = APIRouter(include_in_schema=False)

    @r.get("/verifier/status/{tx_id}")
    async def status(tx_id: str, request: Request, ctx: Ctx) -> JSONResponse:
        verifier = await Verifier.of(ctx)
        res = await verifier.result(tx_id, view_secret=_cookie_secret(request, tx_id))
        return JSONResponse({"status": res["status"]}, headers={"Cache-Control": "no-store"})

    for demo in DEMOS.values():
        _demo_routes(r, demo)
    return r


def _demo_routes(r: APIRouter, demo: Demo) -> None:
    base = f"/demo/{demo.slug}"

    async def party_id(ctx: Any) -> str:
        verifier = await Verifier.of(ctx)
        party = await verifier.ensure_party(demo.party_slug, name=demo.party_name, eik=demo.eik,
                                            templates=(demo.template,))
        return party.id

    async def index(request: Request) -> Response:
        return render(request, "verifier/demo_start.html", demo=demo, action=f"{base}/start")

    async def start(request: Request, ctx: Ctx) -> Response:
        verifier = await Verifier.of(ctx)
        pid = await party_id(ctx)
        lang = language(request)
        party = await verifier.party(pid)
        host = urlsplit(ctx.public_url).hostname or ""
        prefix: Any = "x509_san_dns" if party.dns == host.lower() else "x509_hash"
        created = await verifier.create(pid, template=demo.template, browser=True, client_id_prefix=prefix,
                                        return_url=ctx.url(f"{base}/done/{{transaction_id}}"))
        resp = RedirectResponse(f"{base}/wait/{created.id}?lang={lang}", status_code=303)
        resp.set_cookie(COOKIE, f"{created.id}.{created.view_secret}", httponly=True, samesite="lax",
                        max_age=900, path="/")
        return resp

    async def wait(tx_id: str, request: Request, ctx: Ctx) -> Response:
        verifier = await Verifier.of(ctx)
        secret = _cookie_secret(request, tx_id)
        res = await verifier.result(tx_id, view_secret=secret)
        if res["status"] not in ("created", "fetched"):
            return RedirectResponse(f"{base}/done/{tx_id}", status_code=303)
        link = await verifier.link_of(tx_id)
        lang = language(request)
        created = CreatedTransaction(tx_id, link, "", "get", res["client_id"], verifier.clock.now())
        return render(request, "verifier/demo_wait.html", demo=demo, link=link,
                      qr=created.qr_svg(title=translate("ver.wait.qr_alt", lang)),
                      status_url=f"/verifier/status/{tx_id}", done_url=f"{base}/done/{tx_id}",
                      expires=res["expires_at"][11:16])

    async def done(tx_id: str, request: Request, ctx: Ctx, response_code: str | None = None) -> Response:
        verifier = await Verifier.of(ctx)
        try:
            res = await verifier.result(tx_id, view_secret=_cookie_secret(request, tx_id),
                                        response_code=response_code)
        except PortfeilError:
            return render(request, "verifier/demo_done.html", demo=demo, state="expired", claims={}, failures=[],
                          again=f"{base}/", status_code=404)
        result = res.get("result") or {}
        failures = [f["code"] for c in result.get("credentials", []) for f in c.get("failures", [])]
        failures += [f["code"] for f in result.get("failures", [])]
        state = {"verified": "ok", "failed": "failed", "wallet_error": "failed", "expired": "expired"}.get(
            res["status"], "pending")
        return render(request, "verifier/demo_done.html", demo=demo, state=state, claims=_claims(res),
                      failures=sorted(set(failures)), again=f"{base}/", wait_url=f"{base}/wait/{tx_id}")

    r.add_api_route(f"{base}/", index, methods=["GET"])
    r.add_api_route(f"{base}/start", start, methods=["POST"])
    r.add_api_route(f"{base}/wait/{{tx_id}}", wait, methods=["GET"])
    r.add_api_route(f"{base}/done/{{tx_id}}", done, methods=["GET"])
