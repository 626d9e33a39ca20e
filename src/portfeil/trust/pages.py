"""Bilingual pages of the trust registry: the index of lists and the register of relying parties (public)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

import portfeil.trust.messages  # noqa: F401 - registers the texts
from portfeil.pki.certs import cert_to_pem
from portfeil.trust.lists import LIST_SPECS
from portfeil.trust.registry import TrustRegistry
from portfeil.web.deps import Ctx
from portfeil.web.pages import render


def build_pages() -> APIRouter:
    r = APIRouter(prefix="/trust", include_in_schema=False)

    @r.get("/")
    async def index(request: Request, ctx: Ctx) -> Response:
        reg = await TrustRegistry.of(ctx)
        lists = []
        for name, spec in LIST_SPECS.items():
            pub = await reg.trusted_list(name)
            lists.append({"name": name, "title_bg": spec.title_bg, "title_en": spec.title_en,
                          "sequence": pub.sequence, "next_update": pub.next_update})
        return render(request, "trust/index.html", lists=lists,
                      operator_pem=cert_to_pem(reg.scheme_operator_certificate()).decode())

    @r.get("/relying-parties")
    async def relying_parties(request: Request, ctx: Ctx) -> Response:
        reg = await TrustRegistry.of(ctx)
        return render(request, "trust/relying_parties.html", parties=await reg.registrar.list_parties(public=True))

    @r.get("/relying-parties/{rp_id}")
    async def relying_party(rp_id: str, request: Request, ctx: Ctx) -> Response:
        reg = await TrustRegistry.of(ctx)
        return render(request, "trust/relying_party.html", rp=await reg.registrar.get(rp_id, public=True))

    return r
