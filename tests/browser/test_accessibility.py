"""Every user-facing page, in Bulgarian and English, in a real headless Chromium with no serious or critical
axe-core violations. Areas add their pages to PAGES."""

from __future__ import annotations

import pytest

from tests.browser.conftest import LiveServer, axe_violations

pytestmark = pytest.mark.browser

#: (path, a text that must be on the Bulgarian page, one that must be on the English page)
PAGES: list[tuple[str, str, str]] = [
    ("/", "Услуги", "Services"),
    ("/issuer/", "Доставчик на лични данни (PID)", "PID provider"),
    ("/eid/register", "Регистър на администраторите", "Register of eID administrators"),
    ("/eid/my", "Вход с електронна идентичност", "Log in with your eID"),
    ("/eid/my/log", "Вход с електронна идентичност", "Log in with your eID"),
    ("/trust/", "Доверени списъци", "Trusted lists"),
    ("/trust/relying-parties", "Регистър на доверяващите се страни", "Register of relying parties"),
    ("/demo/egov/", "Портал за електронно управление", "e-Government portal"),
    ("/demo/age/", "проверка на възрастта", "age check"),
]


@pytest.mark.parametrize(("path", "bg_text", "en_text"), PAGES)
@pytest.mark.parametrize("lang", ["bg", "en"])
async def test_page_is_accessible(
    live_server: LiveServer, browser_page: object, path: str, bg_text: str, en_text: str, lang: str
) -> None:
    page = browser_page
    sep = "&" if "?" in path else "?"
    response = await page.goto(f"{live_server.url}{path}{sep}lang={lang}")  # type: ignore[attr-defined]
    assert response.status == 200
    assert await page.get_attribute("html", "lang") == lang  # type: ignore[attr-defined]
    body = await page.inner_text("body")  # type: ignore[attr-defined]
    assert (bg_text if lang == "bg" else en_text) in body
    violations = await axe_violations(page)
    assert violations == [], violations
