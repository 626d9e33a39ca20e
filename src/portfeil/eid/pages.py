"""Bilingual pages: the public register (``/eid/register``) and the holder's pages (``/eid/my``, ``/eid/my/log``),
which show an eID login form (challenge to sign) until the holder has a session."""

from __future__ import annotations

import json
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Cookie, Request
from fastapi.responses import RedirectResponse, Response

import portfeil.eid.messages  # noqa: F401 - registers the texts
from portfeil.eid.api import SESSION_COOKIE
from portfeil.eid.errors import EidError
from portfeil.eid.registry import SESSION_TTL, EidRegistry
from portfeil.web.deps import Ctx
from portfeil.web.pages import render

_NEXT = {"my": "/eid/my", "log": "/eid/my/log"}


def build_pages() -> APIRouter:
    r = APIRouter(prefix="/eid", include_in_schema=False)

    @r.get("/register")
    async def register_page(request: Request, ctx: Ctx) -> Response:
        reg = EidRegistry.for_context(ctx)
        sections = [("eid.register.administrators", await reg.register.entries("administrator", public=True)),
                    ("eid.register.centres", await reg.register.entries("centre", public=True))]
        return render(request, "eid/register.html", sections=sections)

    async def login_form(request: Request, reg: EidRegistry, nxt: str, error: str | None = None) -> Response:
        ch = await reg.new_challenge()
        return render(request, "eid/login.html", challenge=ch.challenge, next=nxt, error=error,
                      status_code=200 if error is None else 400)

    @r.get("/my")
    async def my(request: Request, ctx: Ctx, eid_session: Annotated[str | None, Cookie()] = None) -> Response:
        reg = EidRegistry.for_context(ctx)
        eid = await reg.holder_session(eid_session)
        if eid is None:
            return await login_form(request, reg, "my")
        return render(request, "eid/my.html", electronic_id=eid, certificates=await reg.certificates(electronic_id=eid),
                      notifications=await reg.notifications(await reg.person_of(eid)))

    @r.get("/my/log")
    async def my_log(request: Request, ctx: Ctx, eid_session: Annotated[str | None, Cookie()] = None) -> Response:
        reg = EidRegistry.for_context(ctx)
        eid = await reg.holder_session(eid_session)
        if eid is None:
            return await login_form(request, reg, "log")
        return render(request, "eid/log.html", entries=await reg.verification_log(eid))

    @r.post("/my/login")
    async def login(request: Request, ctx: Ctx) -> Response:
        reg = EidRegistry.for_context(ctx)
        nxt = request.query_params.get("next", "my")
        nxt = nxt if nxt in _NEXT else "my"
        form = parse_qs((await request.body()).decode("utf-8", "replace"))
        try:
            body = json.loads((form.get("auth") or [""])[0])
            if not isinstance(body, dict):
                raise EidError("invalid_request", "not a JSON object")
            token, _ = await reg.holder_login(str(body.get("challenge", "")), str(body.get("signature", "")),
                                              [str(c) for c in body.get("chain") or []])
        except (ValueError, EidError) as exc:
            code = exc.code if isinstance(exc, EidError) else "invalid_request"
            return await login_form(request, reg, nxt, code)
        response = RedirectResponse(_NEXT[nxt], status_code=303)
        response.set_cookie(SESSION_COOKIE, token, max_age=int(SESSION_TTL.total_seconds()), httponly=True,
                            samesite="strict", path="/eid", secure=ctx.public_url.startswith("https://"))
        return response

    @r.post("/my/logout")
    async def logout(ctx: Ctx, eid_session: Annotated[str | None, Cookie()] = None) -> Response:
        await EidRegistry.for_context(ctx).holder_logout(eid_session)
        response = RedirectResponse("/eid/my", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/eid")
        return response

    return r
