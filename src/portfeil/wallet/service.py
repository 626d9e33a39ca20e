"""The wallet's local web UI as a service (``/wallet``): credential cards, offer acceptance (a pasted link or a QR
image), the consent screen, the log and the dashboard of parties. Bulgarian and English.

It works on ONE wallet directory on this machine (``PORTFEIL_WALLET_DIR``, default ``<data_dir>/wallet``). The
unlocked wallet lives in this process only, bound to the browser by a random ``HttpOnly``, ``SameSite=Strict``
cookie (so no other site can post to these forms); ``Lock`` forgets it. Started alone by ``portfeil wallet ui``
(loopback only) and mounted by ``portfeil demo``. The wallet's HTTP client is ``ctx.services["wallet.http"]``
when set (tests inject an ASGI transport).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

import portfeil.wallet.messages  # noqa: F401 - registers the texts
from portfeil.consttime import text_equal
from portfeil.context import AppContext
from portfeil.errors import PortfeilError
from portfeil.web.deps import Ctx
from portfeil.web.pages import render
from portfeil.web.service import Service

COOKIE = "pfw_session"
AUTHORIZATION_TIMEOUT = 900.0  # seconds the browser may spend at the issuer's authorization pages


@dataclass
class UiState:
    root: Path
    wallet: Any = None  # portfeil.wallet.core.Wallet when unlocked
    session: str | None = None
    pending: dict[str, Any] = field(default_factory=dict)
    offers: dict[str, str] = field(default_factory=dict)
    #: the authorization code flow waiting for the browser to come back to /wallet/callback: (future, task)
    authorizing: Any = None


def wallet_root(ctx: AppContext) -> Path:
    env = os.environ.get("PORTFEIL_WALLET_DIR")
    return Path(env) if env else ctx.settings.data_dir / "wallet"


def demo_pin_path(ctx: AppContext) -> Path:
    """Where ``portfeil demo`` leaves the demo trust registry's scheme operator certificate for the UI to pin."""
    return ctx.settings.data_dir / "wallet-scheme-operator.pem"


def scheme_operator_pin(ctx: AppContext) -> tuple[bytes | None, bool]:
    """The scheme operator certificate (PEM) a wallet made in the UI pins, and whether trust on first use is
    allowed: ``ctx.services["wallet.scheme_operator"]`` (embedders, tests), else the file named by
    ``PORTFEIL_WALLET_SCHEME_OPERATOR``, else the one ``portfeil demo`` wrote into the data directory; with none
    of them, trust on first use only when ``PORTFEIL_WALLET_TRUST_ON_FIRST_USE=1`` (else the wallet refuses with
    ``scheme_operator_not_pinned``)."""
    given = ctx.services.get("wallet.scheme_operator")
    if given:
        return (given.encode() if isinstance(given, str) else bytes(given)), False
    for path in (os.environ.get("PORTFEIL_WALLET_SCHEME_OPERATOR"), demo_pin_path(ctx)):
        if path and Path(path).is_file():
            return Path(path).read_bytes(), False
    return None, os.environ.get("PORTFEIL_WALLET_TRUST_ON_FIRST_USE", "").lower() in ("1", "true", "yes")


async def demo_seed(ctx: AppContext) -> None:
    """Demo: hand the demo registry's scheme operator certificate to the wallet UI out of band (as an app store
    would ship the pin with the wallet), so that a wallet created in the demo pins it instead of trusting the
    network on first use."""
    from portfeil.pki.certs import cert_to_pem
    from portfeil.trust.registry import TrustRegistry

    registry = await TrustRegistry.of(ctx)
    path = demo_pin_path(ctx)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert_to_pem(registry.scheme_operator_certificate()))


def _state(ctx: AppContext) -> UiState:
    st = ctx.services.get("wallet.ui")
    if st is None:
        st = UiState(wallet_root(ctx))
        ctx.services["wallet.ui"] = st
    return st


def _session_ok(request: Request, st: UiState) -> bool:
    got = request.cookies.get(COOKIE, "")
    return st.wallet is not None and st.session is not None and text_equal(got, st.session)


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _lang(request: Request) -> str:
    from portfeil.web.i18n import language

    return language(request)


def _claim_rows(rec: dict[str, Any], lang: str) -> list[tuple[str, str]]:
    names: dict[tuple[Any, ...], str] = {}
    for c in rec.get("claims_display") or []:
        disp = {d.get("locale"): d.get("name") for d in c.get("display", []) if isinstance(d, dict)}
        if disp:
            names[tuple(c.get("path", []))] = str(disp.get(lang) or next(iter(disp.values())))
    rows: list[tuple[str, str]] = []

    def walk(prefix: tuple[Any, ...], value: Any) -> None:
        if isinstance(value, dict) and not (prefix and prefix in names and not isinstance(value, dict)):
            for k, v in value.items():
                walk((*prefix, k), v)
            return
        label = names.get(prefix) or " / ".join(str(p) for p in prefix)
        text = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        if text.startswith("base64:") or text.startswith("data:"):
            text = "[image]" if lang == "en" else "[изображение]"
        rows.append((label, text))

    claims = rec.get("claims") or {}
    if rec.get("format") == "mso_mdoc":
        for ns_values in claims.values():
            if isinstance(ns_values, dict):
                for k, v in ns_values.items():
                    walk((k,), v)
    else:
        walk((), claims)
    return rows


def _name(display: Any, lang: str, default: str) -> str:
    if isinstance(display, list):
        for d in display:
            if isinstance(d, dict) and str(d.get("locale", "")).startswith(lang) and d.get("name"):
                return str(d["name"])
        for d in display:
            if isinstance(d, dict) and d.get("name"):
                return str(d["name"])
    return default


def decode_qr(data: bytes) -> str | None:
    """The text of the first QR code in an image (zxing-cpp + Pillow when installed), else None."""
    try:
        import io

        import zxingcpp  # type: ignore[import-not-found,unused-ignore]
        from PIL import Image  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return None
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
        results = zxingcpp.read_barcodes(image.convert("RGB"))
    except Exception:  # noqa: BLE001 - any undecodable upload is simply "no QR found"
        return None
    for r in results:
        if getattr(r, "text", None):
            return str(r.text)
    return None


def build_pages() -> APIRouter:
    from portfeil.wallet.core import Wallet
    from portfeil.wallet.present import load_request, respond
    from portfeil.wallet.receive import accept_offer, preview_offer
    from portfeil.wallet.store import WalletStore

    r = APIRouter(prefix="/wallet", include_in_schema=False)

    def open_kwargs(ctx: AppContext) -> dict[str, Any]:
        return {"http": ctx.services.get("wallet.http"), "clock": ctx.clock}

    def page(request: Request, template: str, st: UiState, status_code: int = 200, **kw: Any) -> Response:
        return render(request, template, status_code=status_code, unlocked=_session_ok(request, st), **kw)

    def guard(request: Request, st: UiState) -> Response | None:
        if not _session_ok(request, st):
            return _redirect("/wallet/")
        return None

    def error_page(request: Request, st: UiState, exc: PortfeilError) -> Response:
        return page(request, "wallet/error.html", st, status_code=400, code=exc.code, message=exc.message)

    @r.get("/")
    async def home(request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if not WalletStore.exists(st.root):
            return page(request, "wallet/create.html", st)
        if not _session_ok(request, st):
            return page(request, "wallet/unlock.html", st)
        lang = _lang(request)
        cards = []
        for rec in st.wallet.credentials():
            s = Wallet.summary(rec)
            s["name"] = _name(rec.get("display"), lang, str(rec.get("vct") or rec.get("doctype")))
            cards.append(s)
        return page(request, "wallet/cards.html", st, cards=cards, notice=request.query_params.get("notice"))

    def _login(st: UiState, wallet: Any) -> Response:
        st.wallet = wallet
        st.session = secrets.token_urlsafe(32)
        resp = _redirect("/wallet/")
        resp.set_cookie(COOKIE, st.session, httponly=True, samesite="strict", path="/wallet")
        return resp

    @r.post("/create")
    async def create(request: Request, ctx: Ctx, passphrase: str = Form(...), passphrase2: str = Form(...)) -> Response:
        st = _state(ctx)
        if passphrase != passphrase2 or len(passphrase) < 8:
            return page(request, "wallet/create.html", st, status_code=400, failed=True)
        try:
            wallet = Wallet.create(st.root, passphrase, **open_kwargs(ctx))
            registry = ctx.services.get("wallet.registry") or ctx.url("/trust")
            pin, tofu = scheme_operator_pin(ctx)
            await wallet.setup_from_registry(registry, scheme_operator=pin, trust_on_first_use=tofu)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        return _login(st, wallet)

    @r.post("/unlock")
    async def unlock(request: Request, ctx: Ctx, passphrase: str = Form(...)) -> Response:
        st = _state(ctx)
        try:
            wallet = Wallet.open(st.root, passphrase, **open_kwargs(ctx))
        except PortfeilError:
            return page(request, "wallet/unlock.html", st, status_code=401, failed=True)
        return _login(st, wallet)

    @r.post("/lock")
    async def lock(ctx: Ctx) -> Response:
        st = _state(ctx)
        st.wallet, st.session = None, None
        st.pending.clear()
        st.offers.clear()
        if st.authorizing is not None:  # an authorization code flow left at the issuer's pages
            st.authorizing[1].cancel()
            st.authorizing = None
        resp = _redirect("/wallet/")
        resp.delete_cookie(COOKIE, path="/wallet")
        return resp

    @r.get("/credentials/{cid}")
    async def credential(cid: str, request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        try:
            rec = st.wallet.credential(cid)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        lang = _lang(request)
        s = Wallet.summary(rec)
        s["name"] = _name(rec.get("display"), lang, str(rec.get("vct") or rec.get("doctype")))
        return page(request, "wallet/credential.html", st, card=s, rows=_claim_rows(rec, lang))

    @r.post("/credentials/{cid}/delete")
    async def delete(cid: str, request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        try:
            st.wallet.delete_credential(cid)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        return _redirect("/wallet/?notice=deleted")

    @r.get("/offer")
    async def offer_form(request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        link = request.query_params.get("credential_offer") or request.query_params.get("credential_offer_uri")
        if link:  # a same-device link opened straight in the wallet
            from urllib.parse import urlencode

            key = "credential_offer" if "credential_offer" in request.query_params else "credential_offer_uri"
            return await _preview(request, ctx, "openid-credential-offer://?" + urlencode({key: link}))
        return page(request, "wallet/offer.html", st)

    async def _preview(request: Request, ctx: Ctx, link: str) -> Response:
        st = _state(ctx)
        try:
            preview = await preview_offer(st.wallet, link)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        oid = secrets.token_urlsafe(12)
        st.offers = {oid: link}
        lang = _lang(request)
        return page(request, "wallet/offer_preview.html", st, offer_id=oid, preview=preview.to_dict(),
                    issuer_name=preview.display_name(lang), configs=preview.configurations(lang))

    @r.post("/offer")
    async def offer_submit(request: Request, ctx: Ctx, link: str = Form(""),
                           qr: UploadFile | None = None) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        if not link.strip() and qr is not None and qr.filename:
            decoded = decode_qr(await qr.read(2_000_000))
            if decoded is None:
                return page(request, "wallet/offer.html", st, status_code=400, qr_failed=True)
            link = decoded
        return await _preview(request, ctx, link.strip())

    @r.post("/offer/accept")
    async def offer_accept(request: Request, ctx: Ctx, offer_id: str = Form(...), tx_code: str = Form("")) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        link = st.offers.pop(offer_id, None)
        if link is None:
            return _redirect("/wallet/offer")
        try:
            if (await preview_offer(st.wallet, link)).offer.pre_authorized_code is None:
                return await _authorize(st, link, str(request.base_url).rstrip("/") + "/wallet/callback")
            out = await accept_offer(st.wallet, link, tx_code=tx_code.strip() or None)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        return page(request, "wallet/offer_done.html", st, n=len(out["credentials"]))

    async def _authorize(st: UiState, link: str, redirect_uri: str) -> Response:
        """The authorization code flow (OpenID4VCI §5): run it in a task whose browser step sends this browser to
        the issuer's authorization page and waits for it to come back to ``redirect_uri`` (``/wallet/callback``
        on the host this browser uses, so that the session cookie comes along)."""
        loop = asyncio.get_running_loop()
        auth_url: asyncio.Future[str] = loop.create_future()
        back: asyncio.Future[str] = loop.create_future()

        async def step(url: str) -> str:
            auth_url.set_result(url)
            return await asyncio.wait_for(back, AUTHORIZATION_TIMEOUT)

        task = asyncio.create_task(accept_offer(st.wallet, link, authorize=step, redirect_uri=redirect_uri))
        first: set[asyncio.Future[Any]] = {auth_url, task}
        await asyncio.wait(first, return_when=asyncio.FIRST_COMPLETED)
        if not auth_url.done():  # failed before the browser step (e.g. the PAR was refused)
            out = await task
            return _redirect(f"/wallet/?notice=received&n={len(out['credentials'])}")
        if st.authorizing is not None:
            st.authorizing[1].cancel()
        st.authorizing = (back, task)
        return _redirect(auth_url.result())

    @r.post("/offer/pid")
    async def offer_pid(request: Request, ctx: Ctx) -> Response:
        """Wallet-initiated issuance: ask this server's PID provider for a PID (authorization code flow)."""
        from portfeil.protocols import oid4vci

        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        offer = oid4vci.build_credential_offer(ctx.url("/issuer"), ["pid_sd_jwt", "pid_mdoc"],
                                               authorization_code=True)
        return await _preview(request, ctx, oid4vci.credential_offer_uri(offer))

    @r.get("/callback")
    async def callback(request: Request, ctx: Ctx) -> Response:
        """The issuer's redirect back with ``code`` and ``state`` (checked by the flow, RFC 6749 §10.12)."""
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        pending, st.authorizing = st.authorizing, None
        if pending is None:
            return _redirect("/wallet/offer")
        back, task = pending
        if not back.done():
            back.set_result(str(request.url))
        try:
            out = await task
        except PortfeilError as exc:
            return error_page(request, st, exc)
        except (asyncio.CancelledError, TimeoutError):
            return _redirect("/wallet/offer")
        return page(request, "wallet/offer_done.html", st, n=len(out["credentials"]))

    @r.get("/present")
    async def present_form(request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        if "client_id" in request.query_params:  # openid4vp link parameters opened in the wallet
            from urllib.parse import urlencode

            return await _consent(request, ctx, "openid4vp://?" + urlencode(dict(request.query_params)))
        return page(request, "wallet/present.html", st)

    async def _consent(request: Request, ctx: Ctx, link: str) -> Response:
        st = _state(ctx)
        try:
            pending = await load_request(st.wallet, link)
        except PortfeilError as exc:
            return error_page(request, st, exc)
        st.pending = {pending.id: pending}
        return page(request, "wallet/consent.html", st, p=pending.to_dict(), pid=pending.id,
                    within=pending.within_registration, verified=pending.request.verified)

    @r.post("/present")
    async def present_submit(request: Request, ctx: Ctx, link: str = Form(...)) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        return await _consent(request, ctx, link.strip())

    @r.post("/present/{pid}")
    async def present_answer(pid: str, request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        pending = st.pending.pop(pid, None)
        if pending is None:
            return _redirect("/wallet/present")
        form = await request.form()
        if form.get("decision") != "send":
            st.wallet.log.append("presentation_refused", now=st.wallet.clock.now(), party=pending.party,
                                 outcome="declined")
            return page(request, "wallet/present_done.html", st, declined=True)
        choices = {k[7:]: str(v) for k, v in form.items() if k.startswith("choice:")}
        only = [str(v) for k, v in form.multi_items() if k == "claim"]
        try:
            out = await respond(st.wallet, pending, choices=choices, only=only or ["-"])
        except PortfeilError as exc:
            return error_page(request, st, exc)
        return page(request, "wallet/present_done.html", st, declined=False, name=out["party"]["name"],
                    redirect_uri=out.get("redirect_uri"), sent=out["sent"])

    @r.get("/log")
    async def log_page(request: Request, ctx: Ctx) -> Response:
        st = _state(ctx)
        if (g := guard(request, st)) is not None:
            return g
        return page(request, "wallet/log.html", st, entries=list(reversed(st.wallet.log.entries())),
                    parties=st.wallet.log.parties())

    return r


def _routers(_ctx: AppContext) -> list[APIRouter]:
    return [build_pages()]


def standalone_app(root: Path) -> FastAPI:
    """The wallet UI alone (``portfeil wallet ui``): no database needed."""
    from pathlib import Path as _P

    from fastapi.staticfiles import StaticFiles

    from portfeil.context import AppContext as _Ctx
    from portfeil.db import Database
    from portfeil.settings import get_settings

    settings = get_settings()
    ctx = _Ctx(settings=settings, db=Database("sqlite+aiosqlite:///:memory:"))
    ctx.services["wallet.ui"] = UiState(root)
    app = FastAPI(title="portfeil wallet", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.ctx = ctx
    app.mount("/static", StaticFiles(directory=_P(__file__).parent.parent / "web" / "static"), name="static")

    @app.get("/", include_in_schema=False)
    async def root_redirect() -> Response:
        return _redirect("/wallet/")

    app.include_router(build_pages())
    return app


SERVICE = Service(
    name="wallet",
    title="Holder wallet / Портфейл",
    routers=_routers,
    demo_seed=demo_seed,
    links=(("Wallet", "/wallet/"),),
)
