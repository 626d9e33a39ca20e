"""The holder wallet: keys, credentials, trust anchors and log in one encrypted directory (Art. 5a(4), 5a(14)).

Library entry point::

    wallet = Wallet.create(Path("~/.portfeil-wallet"), passphrase, http=httpx.AsyncClient())
    await wallet.setup_from_registry("https://trust.example.bg/trust",   # anchors from the signed lists
                                     scheme_operator=pem_bytes)         # + wallet unit attestation
    await wallet.accept(offer_uri, tx_code="123456")                      # OpenID4VCI (receive.py)
    pending = await wallet.load_request(request_link)                     # OpenID4VP (present.py)
    await wallet.present(pending)

The HTTP client is injectable (``httpx.AsyncClient``, e.g. with an ASGI transport in tests). Nothing here talks
to an issuer at presentation time.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509

from portfeil.clock import SYSTEM_CLOCK, Clock
from portfeil.formats import trusted_list as tl
from portfeil.formats.dcql import CandidateCredential
from portfeil.formats.errors import FormatError
from portfeil.formats.jws import sign_compact
from portfeil.formats.mdoc import Mdoc
from portfeil.pki.certs import cert_sha256_b64url
from portfeil.pki.keys import PrivateKey, generate_private_key, key_from_jwk, private_jwk, public_jwk
from portfeil.wallet.errors import WalletError
from portfeil.wallet.log import TransactionLog
from portfeil.wallet.store import KdfParams, WalletStore
from portfeil.wallet.trust import (
    LIST_SOURCES,
    MAX_LIST_BYTES,
    PINNED_BY_FILE,
    PINNED_BY_TOFU,
    ListSource,
    TrustAnchors,
    parse_pin,
)

__all__ = ["WALLET_NAME", "Wallet", "jsonable"]

WALLET_NAME = "portfeil"
WALLET_VERSION = "0.1.0"
CLOCK_SKEW = timedelta(seconds=60)
"""Trusted lists are checked at receipt time + this: a list issued up to a minute "in the future" by the registry's
clock is accepted, and one whose NextUpdate is less than a minute away is already refused."""
WP_POP_TYP = "wallet-unit-pop+jwt"  # portfeil.trust.wallet_provider.POP_TYP (HTTP contract)


def jsonable(value: Any) -> Any:
    """mdoc element values (dates, bytes, CBOR tags) as JSON for display."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        return "base64:" + base64.b64encode(value).decode()
    if hasattr(value, "value") and hasattr(value, "tag"):
        return jsonable(value.value)
    return value


def _private(jwk: dict[str, Any]) -> PrivateKey:
    key = key_from_jwk(jwk)
    if not hasattr(key, "public_key"):
        raise WalletError("wallet_file_corrupt", "a wallet key is not a private key")
    return key  # type: ignore[return-value]


class Wallet:
    """An unlocked wallet. Create with :meth:`create` or :meth:`open`."""

    def __init__(self, store: WalletStore, *, http: httpx.AsyncClient | None = None, clock: Clock = SYSTEM_CLOCK,
                 allow_http_localhost: bool = True) -> None:
        self.store = store
        self.clock = clock
        self._http = http
        self.allow_http_localhost = allow_http_localhost
        self.anchors = TrustAnchors(store)
        self.log = TransactionLog(store)

    # -- lifecycle ------------------------------------------------------------------------------------------
    @classmethod
    def create(cls, root: Path, passphrase: str, *, kdf: KdfParams | None = None, **kw: Any) -> Wallet:
        store = WalletStore.create(root, passphrase, kdf=kdf)
        wallet = cls(store, **kw)
        instance = generate_private_key("ES256")
        store.write_json("keys", {"instance": private_jwk(instance)})
        store.write_json("meta", {"created_at": wallet.clock.now().isoformat(), "wallet_unit": None,
                                  "registry": None, "allow_unsigned_requests": False,
                                  "refuse_beyond_registration": True, "batch_size": 3})
        return wallet

    @classmethod
    def open(cls, root: Path, passphrase: str, **kw: Any) -> Wallet:
        return cls(WalletStore.open(root, passphrase), **kw)

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=30.0, follow_redirects=False)
        return self._http

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()

    # -- settings and metadata ------------------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        data = self.store.read_json("meta", {})
        return data if isinstance(data, dict) else {}

    def update_meta(self, **changes: Any) -> dict[str, Any]:
        meta = self.meta
        meta.update(changes)
        self.store.write_json("meta", meta)
        return meta

    @property
    def instance_key(self) -> PrivateKey:
        keys = self.store.read_json("keys")
        if not isinstance(keys, dict):
            raise WalletError("wallet_file_corrupt", "the wallet keys are missing")
        return _private(keys["instance"])

    # -- wallet provider and trust registry -----------------------------------------------------------------
    async def _json(self, method: str, url: str, **kw: Any) -> Any:
        try:
            resp = await self.http.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise WalletError("network_error", "the service could not be reached") from exc
        if resp.status_code >= 400:
            try:
                code = str(resp.json().get("error", "http_error"))
            except ValueError:
                code = "http_error"
            raise WalletError("remote_error", f"the service refused the request ({resp.status_code} {code})",
                              remote_error=code, status_code=resp.status_code)
        try:
            return resp.json()
        except ValueError:
            raise WalletError("remote_error", "the service answered with something other than JSON") from None

    # -- trust: the registry's signed trusted lists (ETSI TS 119 612), verified against a pinned operator ---------
    async def _get_bytes(self, url: str, *, max_bytes: int, what: str) -> bytes:
        """GET ``url`` and return at most ``max_bytes`` of body (streamed: a larger answer is refused unread)."""
        try:
            async with self.http.stream("GET", url) as resp:
                if resp.status_code >= 400:
                    raise WalletError(f"{what}_unavailable", f"the {what.replace('_', ' ')} could not be fetched "
                                      f"({resp.status_code})", status_code=resp.status_code, url=url)
                declared = resp.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > max_bytes:
                    raise WalletError(f"{what}_too_large", f"the {what.replace('_', ' ')} is larger than "
                                      f"{max_bytes} bytes", url=url)
                body = bytearray()
                async for chunk in resp.aiter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise WalletError(f"{what}_too_large", f"the {what.replace('_', ' ')} is larger than "
                                          f"{max_bytes} bytes", url=url)
                return bytes(body)
        except httpx.HTTPError as exc:
            raise WalletError(f"{what}_unreachable", f"the {what.replace('_', ' ')} could not be reached",
                              url=url) from exc

    async def _first_use_pin(self, base: str) -> list[x509.Certificate]:
        """Trust on first use: the scheme operator certificate as the registry's list index announces it
        (``GET {registry}/api/v1/lists``). Only for a demo or test ecosystem, and only when asked for."""
        data = await self._json("GET", base + "/api/v1/lists")
        pem = data.get("scheme_operator_certificate") if isinstance(data, dict) else None
        if not isinstance(pem, str):
            raise WalletError("invalid_list_index", "the list index names no scheme operator certificate")
        return parse_pin(pem)

    async def refresh_trust(self, registry_url: str | None = None, *, scheme_operator: bytes | str | None = None,
                            trust_on_first_use: bool = False) -> dict[str, Any]:
        """Take the trust anchors from the registry's signed lists (``{registry}/lists/{name}.xml``).

        The pin: ``scheme_operator`` (PEM, given by the user: replaces any pin), else the stored pin, else, only
        with ``trust_on_first_use``, the certificate the registry announces (recorded as such). Every list of
        :data:`LIST_SOURCES` must then pass ``verify_trusted_list`` (signature by a pinned certificate covering
        the whole list, list type, sequence number not below the one stored for its URL, issued before and
        NextUpdate after the time of receipt + ``CLOCK_SKEW``, entity-free XML of at most ``MAX_LIST_BYTES``);
        only then are the list-derived anchors replaced, in one atomic write. On any failure nothing changes and a
        WalletError says why (``trusted_list_rejected`` with ``details.reason`` = the format code,
        ``trusted_list_unreachable``, ``trusted_list_unavailable``, ``trusted_list_too_large``,
        ``scheme_operator_not_pinned``)."""
        base = (registry_url or self.anchors.registry() or self.meta.get("registry") or "").rstrip("/")
        if not base:
            raise WalletError("no_registry", "no trust registry URL configured")
        now = self.clock.now()
        pin_how: str | None = None
        if scheme_operator is not None:
            pinned, pin_how = parse_pin(scheme_operator), PINNED_BY_FILE
        elif self.anchors.scheme_operator():
            pinned = self.anchors.scheme_operator()
        elif trust_on_first_use:
            pinned, pin_how = await self._first_use_pin(base), PINNED_BY_TOFU
        else:
            raise WalletError("scheme_operator_not_pinned", "no scheme operator certificate is pinned: give its PEM "
                              "file (--scheme-operator), or --trust-on-first-use for a test ecosystem")
        verified: list[tuple[ListSource, str, tl.TrustedList]] = []
        for source in LIST_SOURCES:
            url = f"{base}/lists/{source.name}.xml"
            xml = await self._get_bytes(url, max_bytes=MAX_LIST_BYTES, what="trusted_list")
            # checked at receipt (a list may be issued while we fetch it), shifted by the clock skew allowance
            at = self.clock.now() + CLOCK_SKEW
            try:
                tlist = tl.verify_trusted_list(xml, pinned, now=at, min_sequence=self.anchors.min_sequence(url),
                                               expected_types=source.list_type, max_bytes=MAX_LIST_BYTES)
            except FormatError as exc:
                raise WalletError("trusted_list_rejected", f"the trusted list {source.name} was refused ({exc.code})",
                                  reason=exc.code, list=source.name) from exc
            verified.append((source, url, tlist))
        out = self.anchors.apply_lists(base, verified, now=now, pin=(pinned, pin_how) if pin_how else None)
        self.update_meta(registry=base)
        return {**out, "scheme_operator": [cert_sha256_b64url(c) for c in pinned],
                "pinned_by": self.anchors.pinned_by(), "trust_on_first_use": self.anchors.pinned_by() == PINNED_BY_TOFU}

    def _wp_proof(self, audience: str, nonce: str) -> str:
        key = self.instance_key
        return sign_compact({"aud": audience, "nonce": nonce, "iat": self.clock.timestamp()}, key, typ=WP_POP_TYP,
                            header={"jwk": public_jwk(key)})

    async def register_unit(self, registry_url: str | None = None) -> dict[str, Any]:
        """Register this wallet unit with the wallet provider: proof of possession of the instance key over a
        fresh nonce; returns and keeps the client attestation and the wallet unit attestation."""
        base = (registry_url or self.meta.get("registry") or "").rstrip("/")
        if not base:
            raise WalletError("no_registry", "no trust registry URL configured")
        nonce = (await self._json("POST", base + "/wallet-provider/nonce"))["nonce"]
        audience = await self._wallet_provider_id(base)
        unit = self.meta.get("wallet_unit")
        if unit:
            out = await self._json("POST", f"{base}/wallet-provider/wallet-units/{unit['client_id']}/attestations",
                                   json={"proof": self._wp_proof(audience, nonce)})
        else:
            out = await self._json("POST", base + "/wallet-provider/wallet-units",
                                   json={"proof": self._wp_proof(audience, nonce), "wallet_name": WALLET_NAME,
                                         "wallet_version": WALLET_VERSION})
        record = {"client_id": out["client_id"], "client_attestation": out["client_attestation"],
                  "wallet_unit_attestation": out["wallet_unit_attestation"],
                  "expires_at": self.clock.timestamp() + int(out.get("expires_in", 3600)), "provider": audience}
        self.update_meta(wallet_unit=record, registry=base)
        self.log.append("registration", now=self.clock.now(), party={"id": audience, "name": audience})
        return record

    async def _wallet_provider_id(self, base: str) -> str:
        """The wallet provider identifier (the ``aud`` of the PoP): the ``iss`` it puts into its attestations is
        ``{registry}/wallet-provider`` in portfeil's trust registry."""
        return base + "/wallet-provider"

    async def client_attestation(self) -> tuple[str, str]:
        """(client_id, client attestation JWT), refreshed when it is about to expire."""
        unit = self.meta.get("wallet_unit")
        if not unit:
            raise WalletError("wallet_not_registered", "the wallet unit has no attestation (run wallet init)")
        if unit["expires_at"] - 60 < self.clock.timestamp():
            unit = await self.register_unit()
        return unit["client_id"], unit["client_attestation"]

    async def setup_from_registry(self, registry_url: str, *, scheme_operator: bytes | str | None = None,
                                  trust_on_first_use: bool = False) -> dict[str, Any]:
        """``wallet init``: the anchors from the signed lists (:meth:`refresh_trust`), then a wallet unit
        attestation from the wallet provider."""
        out = await self.refresh_trust(registry_url, scheme_operator=scheme_operator,
                                       trust_on_first_use=trust_on_first_use)
        unit = await self.register_unit(registry_url)
        return {**out, "wallet_unit_id": unit["client_id"]}

    # -- credentials ----------------------------------------------------------------------------------------
    def credential_ids(self) -> list[str]:
        return [n.removeprefix("cred-") for n in self.store.names("cred-")]

    def credential(self, credential_id: str) -> dict[str, Any]:
        try:
            rec = self.store.read_json("cred-" + credential_id)
        except WalletError as exc:
            if exc.code == "invalid_name":
                raise WalletError("credential_not_found", "no such credential") from None
            raise
        if not isinstance(rec, dict):
            raise WalletError("credential_not_found", "no such credential")
        return rec

    def save_credential(self, rec: dict[str, Any]) -> None:
        self.store.write_json("cred-" + rec["id"], rec)

    def new_credential_id(self) -> str:
        return secrets.token_hex(8)

    def credentials(self) -> list[dict[str, Any]]:
        return [self.credential(i) for i in self.credential_ids()]

    def delete_credential(self, credential_id: str) -> None:
        rec = self.credential(credential_id)
        self.store.delete("cred-" + credential_id)
        self.log.append("deletion", now=self.clock.now(), party={"id": rec.get("issuer"),
                        "name": rec.get("issuer_name") or rec.get("issuer")}, credential_id=credential_id)

    @staticmethod
    def summary(rec: dict[str, Any], *, with_claims: bool = False) -> dict[str, Any]:
        """What ``wallet list`` / the cards show: no raw credential, no keys."""
        out = {k: rec.get(k) for k in ("id", "format", "configuration_id", "issuer", "issuer_name", "vct", "doctype",
                                        "display", "received_at", "valid_until")}
        out["instances"] = len(rec.get("instances", []))
        out["unused"] = sum(1 for i in rec.get("instances", []) if not i.get("used"))
        if with_claims:
            out["claims"] = rec.get("claims")
            out["claims_display"] = rec.get("claims_display", [])
        return out

    def candidates(self) -> list[tuple[CandidateCredential, dict[str, Any]]]:
        """Credentials with at least one unused one-time instance, as the DCQL engine sees them."""
        out = []
        for rec in self.credentials():
            inst = next((i for i in rec.get("instances", []) if not i.get("used")), None)
            if inst is None:
                continue
            if rec["format"] == "mso_mdoc":
                claims: dict[str, Any] = Mdoc.parse(inst["credential"]).claims()
            else:
                claims = rec.get("claims") or {}
            out.append((CandidateCredential(rec["id"], rec["format"], claims, vct=rec.get("vct"),
                                            doctype=rec.get("doctype")), rec))
        return out
