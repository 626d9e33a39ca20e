"""Whatever the input, the wallet's parsers raise only WalletError: a damaged header, damaged files, any text as an
offer link or as a presentation request link."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.wallet.core import Wallet
from portfeil.wallet.errors import WalletError
from portfeil.wallet.present import load_request
from portfeil.wallet.receive import preview_offer
from portfeil.wallet.store import WalletStore
from tests.wallet.conftest import FAST_KDF, PASS

HEADER_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=40), st.binary(max_size=40).map(lambda b: b.hex()),
                          st.dictionaries(st.text(max_size=10), st.integers(), max_size=3))


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(["format", "salt", "wallet_id", "check", "kdf"]), value=HEADER_VALUES)
def test_damaged_header_raises_wallet_error(tmp_path_factory: object, key: str, value: object) -> None:
    root = Path(tmp_path_factory.mktemp("w"))  # type: ignore[attr-defined]
    WalletStore.create(root, PASS, kdf=FAST_KDF)
    header = json.loads((root / "wallet.json").read_text())
    header[key] = value
    (root / "wallet.json").write_text(json.dumps(header))
    with contextlib.suppress(WalletError):
        WalletStore.open(root, PASS)


@settings(max_examples=60, deadline=None)
@given(blob=st.binary(max_size=200))
def test_damaged_file_raises_wallet_error(tmp_path_factory: object, blob: bytes) -> None:
    root = Path(tmp_path_factory.mktemp("w"))  # type: ignore[attr-defined]
    store = WalletStore.create(root, PASS, kdf=FAST_KDF)
    store.write("x", b"data")
    (root / "files" / "x.enc").write_bytes(blob)
    with contextlib.suppress(WalletError):
        store.read("x")


@settings(max_examples=80, deadline=None)
@given(link=st.one_of(st.text(max_size=300), st.sampled_from([
    "openid-credential-offer://?credential_offer=%7B%7D", "openid4vp://?client_id=x&request_uri=ftp://a",
    "openid4vp://?client_id=redirect_uri:http://localhost/r&response_type=vp_token",
    "openid-credential-offer://?credential_offer_uri=https%3A%2F%2F127.0.0.2%3A1%2Fo"])))
def test_any_link_raises_wallet_error(tmp_path_factory: object, link: str) -> None:
    root = Path(tmp_path_factory.mktemp("w"))  # type: ignore[attr-defined]
    import httpx

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"error": "not_found"})

    wallet = Wallet.create(root, PASS, kdf=FAST_KDF, http=httpx.AsyncClient(transport=httpx.MockTransport(refuse)))

    async def go() -> None:
        for fn in (preview_offer, load_request):
            with contextlib.suppress(WalletError):
                await fn(wallet, link)

    asyncio.run(go())
