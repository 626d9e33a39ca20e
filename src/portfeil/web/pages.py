"""Jinja2 pages: one environment, templates from ``portfeil/web/templates`` and each area's ``templates`` folder."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, PackageLoader, select_autoescape

from portfeil.web.i18n import LANGUAGES, language, translate

AREAS = ("web", "sources", "eid", "trust", "issuer", "wallet", "verifier", "signing", "egov")


@lru_cache(maxsize=1)
def environment() -> Environment:
    loaders = []
    for area in AREAS:
        try:
            loaders.append(PackageLoader(f"portfeil.{area}", "templates"))
        except ValueError:
            continue  # the area has no templates (yet)
    env = Environment(loader=ChoiceLoader(loaders), autoescape=select_autoescape(["html", "xml"]))
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    lang = language(request)

    def t(key: str, **values: object) -> str:
        return translate(key, lang, **values)

    other = [code for code in LANGUAGES if code != lang]
    html = environment().get_template(template).render(
        request=request, lang=lang, t=t, other_languages=other, path=request.url.path, **context
    )
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in LANGUAGES:
        response.set_cookie("lang", lang, samesite="lax", httponly=True)
    return response
