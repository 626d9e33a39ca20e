"""End-to-end presentation flows against the verifier over HTTP (ASGI), with both formats, both client id
prefixes, both response modes and request_uri by GET and POST."""

from __future__ import annotations

import pytest

from tests.verifier.conftest import Env


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
async def test_sd_jwt_presentation_verified(env: Env, prefix: str, mode: str) -> None:
    created = await env.create(client_id_prefix=prefix, response_mode=mode)
    req = await env.wallet_request(created)
    assert req.client_id.startswith(prefix + ":")
    assert req.verifier_info
    assert req.verifier_info[0]["format"] == "registration_cert"
    resp = await env.respond(req, {"pid": [env.present_sd_jwt(req)]})
    assert resp.status_code == 200, resp.text
    res = await env.result(created.id)
    assert res["status"] == "verified", res
    cred = res["result"]["credentials"][0]
    assert cred["claims"]["personal_administrative_number"] == "8506258485"
    assert cred["claims"]["given_name"] == "Мария"
    assert "cnf" not in cred["claims"]


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
async def test_mdoc_presentation_verified(env: Env, mode: str) -> None:
    created = await env.create(response_mode=mode, client_id_prefix="x509_hash")
    req = await env.wallet_request(created)
    resp = await env.respond(req, {"pid_mdoc": [env.present_mdoc(req)]})
    assert resp.status_code == 200, resp.text
    res = await env.result(created.id)
    assert res["status"] == "verified", res
    claims = res["result"]["credentials"][0]["claims"]
    assert claims["eu.europa.ec.eudi.pid.1"]["birth_date"] == "1985-06-25"


async def test_request_uri_post_echoes_wallet_nonce(env: Env) -> None:
    created = await env.create(request_uri_method="post")
    assert "request_uri_method=post" in created.link
    req = await env.wallet_request(created, post=True)
    assert req.payload["wallet_nonce"] == "wn-1"


async def test_age_over_18_learns_only_age(env: Env) -> None:
    created = await env.create(template="age-over-18")
    req = await env.wallet_request(created)
    resp = await env.respond(req, {"pid": [env.present_sd_jwt(req, [("age_equal_or_over", "18")])]})
    assert resp.status_code == 200
    res = await env.result(created.id)
    assert res["status"] == "verified", res
    claims = res["result"]["credentials"][0]["claims"]
    assert claims["age_equal_or_over"] == {"18": True}
    assert "given_name" not in claims
    assert "birthdate" not in claims


async def test_status_list_is_cached(env: Env) -> None:
    for _ in range(2):
        created = await env.create()
        req = await env.wallet_request(created)
        await env.respond(req, {"pid": [env.present_sd_jwt(req)]})
        assert (await env.result(created.id))["status"] == "verified"
    assert len(env.status_fetches) == 1


async def test_link_and_qr(env: Env) -> None:
    created = await env.create()
    assert created.link.startswith("openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=")
    svg = created.qr_svg(title="QR")
    assert svg.startswith('<svg role="img"')
    assert "<title>QR</title>" in svg


async def test_qr_code_decodes_back_to_the_link(env: Env) -> None:
    """The fixed data mask must still give a code any reader decodes (zxing-cpp, as the wallet's QR import)."""
    import io

    import zxingcpp
    from PIL import Image

    from portfeil.verifier.transactions import qr_code

    created = await env.create()
    png = io.BytesIO()
    qr_code(created.link).save(png, kind="png", scale=4, border=4)
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.getvalue())))
    assert [d.text for d in decoded] == [created.link]
