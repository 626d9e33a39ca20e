"""The verifier's use cases: relying parties, presentation transactions, responses, results, webhooks.

A transaction (OpenID4VP 1.0 §5) is created for a registered party from a DCQL query or a named template. It gets
a fresh ``state`` and ``nonce`` and, for ``direct_post.jwt`` (§8.3, HAIP 1.0 §5), a fresh ECDH-ES P-256 key.
The wallet fetches the request object by reference (``request_uri``, GET or POST with ``wallet_nonce``, §5.10);
it is a JAR (RFC 9101, ``typ`` ``oauth-authz-req+jwt``, numeric ``exp``) signed with the party's access
certificate key, client id ``x509_san_dns:<dns>`` or ``x509_hash:<hash>`` (§5.9.3), with the registration
certificate (ETSI TS 119 475) in ``verifier_info``. The response arrives at the transaction's ``response_uri``;
it is accepted once (``response_already_received`` afterwards), only with the right ``state`` and before expiry.
A response that fails the protocol checks (state, decryption, shape) is refused without consuming the
transaction; a response that passes them is consumed, verified (:mod:`portfeil.verifier.verify`) and its result
kept. When the party has a webhook URL, a signed notification is queued in the same database transaction
(outbox) and delivered with retries.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal
from urllib.parse import urlencode, urlsplit

import segno
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Row, Table, Text, bindparam, cast, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.context import AppContext
from portfeil.errors import PortfeilError
from portfeil.formats.dcql import DcqlQuery
from portfeil.formats.jws import b64url_encode, bounded_put, public_jwk
from portfeil.formats.mdoc import MdocVerifier
from portfeil.outbox import Event, emit
from portfeil.pki.certs import cert_to_pem, certs_from_pem
from portfeil.pki.keys import PrivateKey, jwk_thumbprint, sign
from portfeil.pki.keystore import FileKeyStore, KeyStore
from portfeil.pki.roles import Role
from portfeil.protocols.jwe import EncryptionKey, generate_encryption_key
from portfeil.protocols.oid4vp import (
    OPENID4VP_SCHEME,
    build_client_metadata,
    build_request_object,
    parse_authorization_response,
    parse_request_uri_post,
    request_link,
    x509_hash,
)
from portfeil.verifier.errors import VerifierError, VerifierNotFound, VerifierUnauthorized
from portfeil.verifier.models import VerParty, VerTransaction, VerWebhook
from portfeil.verifier.templates import TEMPLATES, shared_template_query, template_query
from portfeil.verifier.verify import PresentationVerifier, StatusFetcher, StatusListCache, VerificationResult

__all__ = ["WEBHOOK_TOPIC", "CreatedTransaction", "Verifier", "sign_webhook", "verify_webhook_signature"]

log = logging.getLogger("portfeil.verifier")

TRANSACTION_LIFETIME: Final = timedelta(minutes=5)
#: How long a known API key is served from memory (see :meth:`Verifier.party_by_api_key`).
API_KEY_CACHE_SECONDS: Final = 30.0
#: Distinct stored DCQL queries kept decoded and parsed (see :meth:`Verifier._query`).
QUERY_CACHE_SIZE: Final = 256


def qr_code(link: str) -> segno.QRCode:
    """A QR code of ``link`` (error correction M). The data mask is fixed (pattern 0) instead of chosen by scoring
    all eight (ISO/IEC 18004 §7.8.3): every mask decodes the same, the score only tunes the pattern for print, and
    scoring costs 4-5x the encoding (about 11 ms against 2 ms of CPU per code, measured)."""
    return segno.make(link, error="m", mask=0)

# Hot-path statements, built once on the table (SQLAlchemy Core: no ORM session, no ORM DML plugin, the compiled
# form is found by the statement's memoized cache key). One statement per step where the step allows it: the wallet's
# fetch marks the transaction in the same UPDATE that reads it (RETURNING), a read returns only the columns its step
# uses. ``status IN (...)`` is spelled as an OR of two comparisons: an IN list is an "expanding" parameter that
# SQLAlchemy re-renders on every execution.
_TX: Table = VerTransaction.__table__  # type: ignore[assignment]
_C = _TX.c
#: a Core row of ``ver_transactions`` (the columns a statement selected, as attributes)
TxRow = Row[*tuple[Any, ...]]
_IS_OPEN = or_(_C.status == "created", _C.status == "fetched")
_TX_INSERT = insert(_TX)
#: the DCQL query as stored text: the key of :meth:`Verifier._query` (no JSON decoding per request)
_DCQL_TEXT = cast(_C.dcql, Text).label("dcql_text")
#: what building the request object needs
_REQUEST_COLS = (_C.id, _C.party_id, _C.status, _C.client_id, _C.response_mode, _C.state, _C.nonce, _DCQL_TEXT,
                 _C.enc_key_pem, _C.enc_kid, _C.expires_at)
#: the wallet's first fetch: ``created`` -> ``fetched`` (only before expiry), returning what the request needs
_TX_FETCH = (update(_TX).where(_C.id == bindparam("tx_id"), _C.status == "created", _C.expires_at > bindparam("now"))
             .values(status="fetched", fetched_at=bindparam("fetched_now")).returning(*_REQUEST_COLS))
_TX_REQUEST_READ = select(*_REQUEST_COLS).where(_C.id == bindparam("tx_id"))
#: what checking and verifying a response needs
_TX_RESPONSE_READ = select(_C.id, _C.party_id, _C.status, _C.client_id, _C.response_mode, _C.state, _C.nonce,
                           _DCQL_TEXT, _C.enc_key_pem, _C.enc_kid, _C.return_url, _C.expires_at
                           ).where(_C.id == bindparam("tx_id"))
#: one statement claims the transaction: a replay (or a concurrent response) finds it taken
_TX_CLAIM = (update(_TX).where(_C.id == bindparam("tx_id"), _IS_OPEN)
             .values(status="responding", responded_at=bindparam("responded_now")))
_TX_STORE = (update(_TX).where(_C.id == bindparam("tx_id"))
             .values(status=bindparam("new_status"), result=bindparam("new_result"), enc_key_pem=None,
                     response_code_hash=bindparam("code_hash")))
#: what the status/result views need (never the keys, the state or the nonce)
_TX_VIEW = select(_C.id, _C.party_id, _C.status, _C.template, _C.client_id, _C.response_mode, _C.created_at,
                  _C.expires_at, _C.responded_at, _C.result, _C.view_secret_hash, _C.response_code_hash
                  ).where(_C.id == bindparam("tx_id"))
WEBHOOK_TOPIC: Final = "verifier.webhook"
WEBHOOK_KEY: Final = "verifier-webhook-signer"
WEBHOOK_TYP: Final = "portfeil-webhook+jws"
SIGNATURE_HEADER: Final = "Portfeil-Signature"
OPEN_STATES: Final = ("created", "fetched")
FINAL_STATES: Final = ("verified", "failed", "wallet_error", "expired")
_CTX_KEY: Final = "verifier"
ClientIdPrefix = Literal["x509_san_dns", "x509_hash"]
ResponseMode = Literal["direct_post", "direct_post.jwt"]


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _token() -> str:
    return secrets.token_urlsafe(24)


@dataclass(frozen=True)
class CreatedTransaction:
    id: str
    link: str
    request_uri: str
    request_uri_method: str
    client_id: str
    expires_at: datetime
    view_secret: str | None = None

    def qr_svg(self, *, title: str = "QR") -> str:
        """The link as an inline SVG QR code (:func:`qr_code`), ``role=img`` with ``title`` as its accessible name."""
        svg = qr_code(self.link).svg_inline(scale=4, title=title, border=2)
        return svg.replace("<svg ", '<svg role="img" focusable="false" ', 1)

    def to_dict(self, *, qr: bool = True) -> dict[str, Any]:
        """The API answer; ``qr=False`` leaves out ``qr_svg`` (encoding the QR code costs ~3 ms of CPU, the largest
        part of creating a transaction; a same-device flow only needs the link)."""
        out: dict[str, Any] = {"id": self.id, "link": self.link, "request_uri": self.request_uri,
                               "request_uri_method": self.request_uri_method, "client_id": self.client_id,
                               "expires_at": self.expires_at.isoformat()}
        if qr:
            out["qr_svg"] = self.qr_svg(title="OpenID4VP")
        return out


@dataclass(frozen=True)
class _Signing:
    key: PrivateKey
    chain: tuple[x509.Certificate, ...]


# ------------------------------------------------------------------------------------------------ webhooks


def sign_webhook(body: bytes, key: PrivateKey, *, kid: str, now: datetime) -> str:
    """A JWS with detached payload (RFC 7515 Appendix F) over the exact body bytes: ``<header>..<signature>``;
    the protected header carries ``alg`` ES256, ``typ`` ``portfeil-webhook+jws``, ``kid`` and ``iat``."""
    header = {"alg": "ES256", "typ": WEBHOOK_TYP, "kid": kid, "iat": int(now.timestamp())}
    h64 = b64url_encode(json.dumps(header, separators=(",", ":")).encode())
    signing_input = f"{h64}.{b64url_encode(body)}".encode("ascii")
    return f"{h64}..{b64url_encode(sign(key, 'ES256', signing_input))}"


def verify_webhook_signature(body: bytes, signature: str, jwks: dict[str, Any], *, now: datetime,
                             max_age: int = 300) -> dict[str, Any]:
    """What a receiving service does (docs/verifier.md): re-attach the body, verify with the key of ``kid`` from
    the verifier's JWKS, check ``typ`` and that ``iat`` is recent. Returns the header; raises VerifierError."""
    from portfeil.formats.jws import b64url_decode, public_key_from_jwk
    from portfeil.pki.keys import verify

    try:
        h64, empty, s64 = signature.split(".")
        header = json.loads(b64url_decode(h64))
        if empty or header.get("alg") != "ES256" or header.get("typ") != WEBHOOK_TYP:
            raise ValueError("header")
        jwk = next(k for k in jwks.get("keys", []) if k.get("kid") == header.get("kid"))
        pub = public_key_from_jwk(jwk)
        verify(pub, "ES256", b64url_decode(s64), f"{h64}.{b64url_encode(body)}".encode())  # type: ignore[arg-type]
    except (ValueError, StopIteration, PortfeilError, AttributeError) as exc:
        raise VerifierError("invalid_webhook_signature", "the webhook signature does not verify") from exc
    iat = header.get("iat")
    if not isinstance(iat, int) or abs(now.timestamp() - iat) > max_age:
        raise VerifierError("invalid_webhook_signature", "the webhook signature is too old")
    return dict(header)


# ---------------------------------------------------------------------------------------------------- service


class Verifier:
    """The verifier of one application context (``await Verifier.of(ctx)``)."""

    def __init__(self, ctx: AppContext, *, keystore: KeyStore | None = None, fetcher: StatusFetcher | None = None,
                 http: Any = None) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        if keystore is None:
            keystore = ctx.services.get("verifier.keystore") or ctx.services.get("trust.keystore")
        if keystore is None:
            keystore = FileKeyStore(ctx.settings.keystore_dir, ctx.settings.keystore_passphrase.get_secret_value()
                                    .encode())
        self.keystore: KeyStore = keystore
        fetcher = fetcher or ctx.services.get("verifier.status_fetcher")
        self.status_cache = StatusListCache(fetcher)
        #: an ``httpx.AsyncClient``-like object for webhooks (tests plug an ASGI client in)
        self.http = http or ctx.services.get("verifier.http")
        self._signing: dict[str, _Signing] = {}
        self._parties: dict[str, tuple[VerParty, float]] = {}
        self._api_keys: dict[str, tuple[VerParty, float]] = {}
        self._mdoc: tuple[object, MdocVerifier] | None = None
        self._queries: dict[str, tuple[dict[str, Any], DcqlQuery]] = {}
        self.lifetime = TRANSACTION_LIFETIME
        self._attempts: dict[str, int] = {}

    @classmethod
    async def of(cls, ctx: AppContext) -> Verifier:
        verifier = ctx.services.get(_CTX_KEY)
        if verifier is None:
            verifier = ctx.services[_CTX_KEY] = cls(ctx)
        assert isinstance(verifier, Verifier)
        return verifier

    # -- trust -------------------------------------------------------------------------------------------------
    async def _registry(self) -> Any:
        from portfeil.trust.registry import TrustRegistry

        return await TrustRegistry.of(self.ctx)

    async def presentation_verifier(self, *, mdoc: bool = True) -> PresentationVerifier:
        """A verifier with the current trust anchors; ``mdoc=False`` leaves out the IACA validator (a response
        without mdoc presentations does not need it, and looking a validator up is not free)."""
        registry = await self._registry()
        pid = await registry.validator(Role.PID_PROVIDER)
        mdoc_verifier = None
        if mdoc:
            iaca = await registry.validator(Role.IACA)
            if self._mdoc is None or self._mdoc[0] is not iaca:
                self._mdoc = (iaca, MdocVerifier(iaca))
            mdoc_verifier = self._mdoc[1]
        return PresentationVerifier(pid_trust=pid, mdoc=mdoc_verifier, status=self.status_cache)

    # -- parties -----------------------------------------------------------------------------------------------
    async def register_party(
        self,
        *,
        name: str,
        eik: str,
        dns: str | None = None,
        email: str = "dpo@example.bg",
        privacy_policy_url: str = "https://example.bg/privacy",
        purpose: dict[str, str] | None = None,
        templates: tuple[str, ...] = tuple(TEMPLATES),
        slug: str | None = None,
        webhook_url: str | None = None,
        public_body: bool = False,
    ) -> tuple[dict[str, Any], str]:
        """Register a relying party with the trust registry (approved at once: the demo registrar), obtain its
        access certificate for a key kept in the keystore and its registration certificate, and record it here.
        Returns the party and its API key (shown once; only its hash is stored)."""
        if dns is None:
            host = (urlsplit(self.ctx.public_url).hostname or "localhost").lower()
            try:
                ipaddress.ip_address(host)
                host = "localhost"  # an IP address is no DNS name: such a party uses x509_hash
            except ValueError:
                pass
            dns = host
        dns = dns.lower()
        registry = await self._registry()
        uses = []
        for tname in templates:
            query = template_query(tname)
            creds = []
            for c in query["credentials"]:
                use: dict[str, Any] = {"format": c["format"], "claims": [cl["path"] for cl in c["claims"]]}
                if c["format"] == "dc+sd-jwt":
                    use["vct"] = c["meta"]["vct_values"][0]
                else:
                    use["doctype"] = c["meta"]["doctype_value"]
                creds.append(use)
            uses.append({"purpose": purpose or {"bg": f"Проверка ({tname})", "en": f"Verification ({tname})"},
                         "credentials": creds})
        rp = await registry.registrar.register({
            "legal_name": name, "eik": eik, "dns": dns, "contacts": {"email": email},
            "privacy_policy_url": privacy_policy_url, "intended_uses": uses, "public_body": public_body,
        })
        await registry.registrar.approve(rp["id"])
        key_name = f"verifier-party-{rp['id']}"
        key = await asyncio.to_thread(self.keystore.get_or_create_key, key_name, "ES256")
        access = await registry.registrar.issue_access_certificate(rp["id"], public_key=key.public_key())
        rcs = await registry.registrar.registration_certificates(rp["id"])
        api_key = "pfv_" + secrets.token_urlsafe(32)
        now = self.clock.now()
        async with self.db.transaction() as s:
            party = VerParty(rp_id=rp["id"], slug=slug, name=name, dns=dns, key_name=key_name,
                             chain_pem="".join(cert_to_pem(c).decode() for c in access.chain),
                             registration_certificate=rcs[0]["jwt"] if rcs else None,
                             api_key_hash=_sha256(api_key), webhook_url=webhook_url, created_at=now)
            s.add(party)
            await s.flush()
            out = self._party_dict(party)
        return out, api_key

    async def ensure_party(self, slug: str, *, name: str, eik: str, templates: tuple[str, ...]) -> VerParty:
        """The party named ``slug`` (demo services), registered on first use."""
        async with self.db.session() as s:
            party = (await s.execute(select(VerParty).where(VerParty.slug == slug))).scalar_one_or_none()
        if party is None:
            try:
                await self.register_party(name=name, eik=eik, slug=slug, templates=templates)
            except PortfeilError:
                async with self.db.session() as s:  # a concurrent first use may have registered it
                    if (await s.execute(select(VerParty).where(VerParty.slug == slug))).first() is None:
                        raise
            async with self.db.session() as s:
                party = (await s.execute(select(VerParty).where(VerParty.slug == slug))).scalar_one()
        return party

    @staticmethod
    def _party_dict(p: VerParty) -> dict[str, Any]:
        return {"id": p.id, "rp_id": p.rp_id, "slug": p.slug, "name": p.name, "dns": p.dns,
                "webhook_url": p.webhook_url, "has_registration_certificate": p.registration_certificate is not None,
                "created_at": p.created_at.isoformat()}

    async def party(self, party_id: str) -> VerParty:
        """A party, remembered for :data:`API_KEY_CACHE_SECONDS` (other server processes may change it)."""
        cached = self._parties.get(party_id)
        if cached is not None and time.monotonic() - cached[1] < API_KEY_CACHE_SECONDS:
            return cached[0]
        async with self.db.session() as s:
            party = await s.get(VerParty, party_id)
        if party is None:
            raise VerifierNotFound("party_not_found", "no such relying party")
        if len(self._parties) >= 10_000:
            self._parties.clear()
        self._parties[party_id] = (party, time.monotonic())
        return party

    async def party_by_api_key(self, api_key: str | None) -> VerParty:
        """The party of an API key. A key found in the database is remembered for :data:`API_KEY_CACHE_SECONDS`
        (saves a database round trip per API call; keys are never rotated in place, a party's changes through
        this process drop its entry); unknown keys are never remembered."""
        if not api_key:
            raise VerifierUnauthorized("api_key_required", "an API key is required")
        digest = _sha256(api_key)
        cached = self._api_keys.get(digest)
        if cached is not None and time.monotonic() - cached[1] < API_KEY_CACHE_SECONDS:
            return cached[0]
        async with self.db.session() as s:
            party = (await s.execute(select(VerParty).where(VerParty.api_key_hash == digest))).scalar_one_or_none()
        if party is None or not hmac.compare_digest(party.api_key_hash, digest):
            self._api_keys.pop(digest, None)
            raise VerifierUnauthorized("invalid_api_key", "the API key is not valid")
        if len(self._api_keys) >= 10_000:
            self._api_keys.clear()
        self._api_keys[digest] = (party, time.monotonic())
        return party

    async def list_parties(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(VerParty).order_by(VerParty.created_at))).scalars().all()
        return [self._party_dict(p) for p in rows]

    async def set_webhook(self, party_id: str, url: str | None) -> None:
        if url is not None and not url.startswith(("https://", "http://localhost", "http://127.0.0.1")):
            raise VerifierError("invalid_webhook_url", "webhook URLs must be https")
        async with self.db.transaction() as s:
            party = await s.get(VerParty, party_id)
            if party is None:
                raise VerifierNotFound("party_not_found", "no such relying party")
            party.webhook_url = url
        self._parties.pop(party_id, None)
        self._api_keys.clear()

    async def _signing_of(self, party: VerParty) -> _Signing:
        got = self._signing.get(party.id)
        if got is None:
            key = await asyncio.to_thread(self.keystore.get_key, party.key_name)
            if key is None:
                raise VerifierError("party_key_missing", "the party's access certificate key is not in the keystore")
            got = self._signing[party.id] = _Signing(key, tuple(certs_from_pem(party.chain_pem.encode())))
        return got

    def _query(self, dcql_text: str) -> tuple[dict[str, Any], DcqlQuery]:
        """A stored DCQL query, decoded and parsed once per distinct text (most transactions share a template's);
        both values are shared: read them, never change them."""
        got = self._queries.get(dcql_text)
        if got is None:
            raw = json.loads(dcql_text)
            got = (raw, DcqlQuery.parse(raw))
            bounded_put(self._queries, dcql_text, got, QUERY_CACHE_SIZE)
        return got

    # -- transactions -----------------------------------------------------------------------------------------
    async def create(
        self,
        party_id: str,
        *,
        dcql: dict[str, Any] | None = None,
        template: str | None = None,
        client_id_prefix: ClientIdPrefix = "x509_san_dns",
        response_mode: ResponseMode = "direct_post.jwt",
        request_uri_method: Literal["get", "post"] = "get",
        return_url: str | None = None,
        browser: bool = False,
    ) -> CreatedTransaction:
        """A new presentation transaction: ``dcql`` (checked with :meth:`DcqlQuery.parse`) or ``template``."""
        if (dcql is None) == (template is None):
            raise VerifierError("invalid_request", "give exactly one of dcql and template")
        if template is not None:
            query = shared_template_query(template)  # checked once per process; only serialized here
        else:
            assert dcql is not None
            query = dcql
            try:
                DcqlQuery.parse(query)
            except PortfeilError as exc:
                raise VerifierError("invalid_dcql", "the DCQL query is not valid", reason=exc.code) from None
        if client_id_prefix not in ("x509_san_dns", "x509_hash"):
            raise VerifierError("invalid_request", "client_id_prefix must be x509_san_dns or x509_hash")
        if response_mode not in ("direct_post", "direct_post.jwt"):
            raise VerifierError("invalid_request", "response_mode must be direct_post or direct_post.jwt")
        party = await self.party(party_id)
        signing = await self._signing_of(party)
        tx_id = secrets.token_urlsafe(16)
        if return_url is not None:
            if not return_url.startswith(("https://", "http://localhost", "http://127.0.0.1", self.ctx.public_url)):
                raise VerifierError("invalid_return_url", "return_url must be an https URL")
            return_url = return_url.replace("{transaction_id}", tx_id)
        response_uri = self.ctx.url(f"/verifier/response/{tx_id}")
        if client_id_prefix == "x509_san_dns":
            if (urlsplit(response_uri).hostname or "").lower() != party.dns.lower():
                raise VerifierError("client_id_prefix_unavailable",
                                    "x509_san_dns needs the party's DNS name to be this verifier's host; use x509_hash")
            client_id = f"x509_san_dns:{party.dns}"
        else:
            client_id = f"x509_hash:{x509_hash(signing.chain[0])}"
        enc: EncryptionKey | None = generate_encryption_key() if response_mode == "direct_post.jwt" else None
        enc_pem = None
        if enc is not None:
            enc_pem = enc.private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                    serialization.NoEncryption()).decode()
        view_secret = secrets.token_urlsafe(24) if browser else None
        now = self.clock.now()
        expires = now + self.lifetime
        async with self.db.connection() as c:  # one Core statement: the hot path of every service's call
            await c.execute(_TX_INSERT, {
                "id": tx_id, "party_id": party.id, "template": template, "dcql": query,
                "client_id_prefix": client_id_prefix, "client_id": client_id, "response_mode": response_mode,
                "state": _token(), "nonce": _token(), "enc_key_pem": enc_pem, "enc_kid": enc.kid if enc else None,
                "view_secret_hash": _sha256(view_secret) if view_secret else None, "return_url": return_url,
                "status": "created", "created_at": now, "expires_at": expires,
            })
        request_uri = self.ctx.url(f"/verifier/request/{tx_id}")
        link = request_link(client_id=client_id, request_uri=request_uri,
                            request_uri_method="post" if request_uri_method == "post" else None,
                            scheme=OPENID4VP_SCHEME)
        return CreatedTransaction(tx_id, link, request_uri, request_uri_method, client_id, expires, view_secret)

    async def link_of(self, tx_id: str) -> str:
        """The same-device link of a transaction (rebuilt from what is stored)."""
        tx = await self._load(tx_id)
        return request_link(client_id=tx.client_id, request_uri=self.ctx.url(f"/verifier/request/{tx.id}"),
                            scheme=OPENID4VP_SCHEME)

    async def _load(self, tx_id: str) -> TxRow:
        """What the status and result views show of a transaction, read with one Core statement."""
        async with self.db.connection() as c:
            row = (await c.execute(_TX_VIEW, {"tx_id": tx_id})).first()
        if row is None:
            raise VerifierNotFound("transaction_not_found", "no such transaction")
        return row

    async def request_object(self, tx_id: str, *, form: dict[str, Any] | None = None) -> str:
        """The signed request object (§5, RFC 9101) for a GET (``form`` None) or a POST to ``request_uri``
        (§5.10: ``wallet_nonce`` echoed). The first fetch marks the transaction ``fetched`` with the statement
        that reads it; a later fetch (or a refused one) reads it to serve it again or to say why not."""
        now = self.clock.now()
        wallet_nonce = None
        form_error: PortfeilError | None = None
        if form is not None:
            try:
                _metadata, wallet_nonce = parse_request_uri_post(form)
            except PortfeilError as exc:  # reported after the transaction's own errors, as before
                form_error = exc
        async with self.db.connection() as c:
            tx = None
            if form_error is None:
                tx = (await c.execute(_TX_FETCH, {"tx_id": tx_id, "now": now, "fetched_now": now})).first()
            if tx is None:
                tx = (await c.execute(_TX_REQUEST_READ, {"tx_id": tx_id})).first()
        if tx is None:
            raise VerifierNotFound("transaction_not_found", "no such transaction")
        if tx.status not in OPEN_STATES:
            raise VerifierError("invalid_request_uri", "the request is no longer available")
        if now >= tx.expires_at:
            raise VerifierError("invalid_request_uri", "the request has expired")
        if form_error is not None:
            raise form_error
        party = await self.party(tx.party_id)
        signing = await self._signing_of(party)
        metadata = None
        if tx.response_mode == "direct_post.jwt":
            assert tx.enc_key_pem is not None
            metadata = build_client_metadata(self._enc_key(tx).jwk)
        else:
            metadata = build_client_metadata(None)
        info = ([{"format": "registration_cert", "data": party.registration_certificate}]
                if party.registration_certificate else [])
        return build_request_object(
            signing.key, signing.chain, client_id=tx.client_id,
            response_uri=self.ctx.url(f"/verifier/response/{tx.id}"),
            nonce=tx.nonce, state=tx.state, dcql_query=self._query(tx.dcql_text)[0], now=now,
            response_mode=tx.response_mode,
            client_metadata=metadata, verifier_info=info, wallet_nonce=wallet_nonce,
            lifetime=max(tx.expires_at - now, timedelta(seconds=1)),
        )

    @staticmethod
    def _enc_key(tx: TxRow) -> EncryptionKey:
        assert tx.enc_key_pem is not None
        assert tx.enc_kid is not None
        key = serialization.load_pem_private_key(tx.enc_key_pem.encode(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        jwk: dict[str, str] = dict(public_jwk(key))
        jwk.update({"kid": tx.enc_kid, "use": "enc", "alg": "ECDH-ES"})
        return EncryptionKey(key, jwk)

    async def accept_response(self, tx_id: str, form: dict[str, Any]) -> dict[str, Any]:
        """The ``response_uri`` (§8.2/§8.3): check and consume, verify, store. Returns the JSON to answer the
        wallet with (``redirect_uri`` for a same-device flow that has a return URL, §8.2)."""
        now = self.clock.now()
        async with self.db.connection() as c:  # the read and the claim share one pooled connection
            tx = (await c.execute(_TX_RESPONSE_READ, {"tx_id": tx_id})).first()
            if tx is None:
                raise VerifierNotFound("transaction_not_found", "no such transaction")
            if tx.status not in OPEN_STATES:
                raise VerifierError("response_already_received", "this transaction has already been answered")
            expired = now >= tx.expires_at
            if not expired:
                query = self._query(tx.dcql_text)[1]
                decryption_key = self._enc_key(tx) if tx.response_mode == "direct_post.jwt" else None
                response = parse_authorization_response(
                    form, response_mode=tx.response_mode, expected_state=tx.state,
                    credential_query_ids={cq.id for cq in query.credentials}, decryption_key=decryption_key,
                )
                # one statement claims the transaction: a replay finds it taken
                claimed = await c.execute(_TX_CLAIM, {"tx_id": tx.id, "responded_now": now})
        if expired:
            await self._expire(tx.id)
            raise VerifierError("transaction_expired", "the transaction has expired")
        if claimed.rowcount != 1:
            raise VerifierError("response_already_received", "this transaction has already been answered")
        if response.error is not None:
            result: dict[str, Any] = {"verified": False, "wallet_error": response.error, "credentials": [],
                                      "failures": [{"code": "wallet_error", "message": "the wallet declined"}]}
            status = "wallet_error"
        else:
            try:
                has_mdoc = any(cq.is_mdoc for cq in query.credentials if cq.id in response.vp_token)
                verifier = await self.presentation_verifier(mdoc=has_mdoc)
                outcome: VerificationResult = await verifier.verify(
                    response.vp_token, query=query, client_id=tx.client_id, nonce=tx.nonce,
                    response_uri=self.ctx.url(f"/verifier/response/{tx.id}"),
                    enc_thumbprint=tx.enc_kid if tx.response_mode == "direct_post.jwt" else None, now=now,
                )
                result = outcome.to_dict()
                status = "verified" if outcome.ok else "failed"
            except Exception:
                log.exception("verification crashed", extra={"event": "verifier_crash"})
                result = {"verified": False, "credentials": [],
                          "failures": [{"code": "server_error", "message": "verification failed internally"}]}
                status = "failed"
        answer: dict[str, Any] = {}
        code = None
        if tx.return_url:
            code = secrets.token_urlsafe(24)
            sep = "&" if "?" in tx.return_url else "?"
            answer["redirect_uri"] = f"{tx.return_url}{sep}{urlencode({'response_code': code})}"
        party = await self.party(tx.party_id)
        stored = {"tx_id": tx.id, "new_status": status, "new_result": result,
                  "code_hash": _sha256(code) if code else None}
        if not party.webhook_url:
            async with self.db.connection() as c:  # one statement
                await c.execute(_TX_STORE, stored)
        else:
            async with self.db.transaction() as s:  # the result and its webhook event together
                await s.execute(_TX_STORE, stored)
                hook = VerWebhook(transaction_id=tx.id, url=party.webhook_url, attempts=0, created_at=now)
                s.add(hook)
                await s.flush()
                await emit(s, WEBHOOK_TOPIC, {"webhook_id": hook.id}, clock=self.clock)
        log.info("presentation processed", extra={"event": "presentation_processed", "status": status})
        return answer

    async def _expire(self, tx_id: str) -> None:
        async with self.db.transaction() as s:
            await s.execute(update(VerTransaction).where(VerTransaction.id == tx_id,
                                                         VerTransaction.status.in_(OPEN_STATES))
                            .values(status="expired", enc_key_pem=None))

    def _public(self, tx: VerTransaction | TxRow, now: datetime) -> dict[str, Any]:
        status = tx.status
        if status in OPEN_STATES and now >= tx.expires_at:
            status = "expired"
        out: dict[str, Any] = {
            "id": tx.id, "status": status, "template": tx.template, "client_id": tx.client_id,
            "response_mode": tx.response_mode, "created_at": tx.created_at.isoformat(),
            "expires_at": tx.expires_at.isoformat(),
            "responded_at": tx.responded_at.isoformat() if tx.responded_at else None,
        }
        if tx.result is not None:
            out["result"] = tx.result
        return out

    async def result(self, tx_id: str, *, party_id: str | None = None, view_secret: str | None = None,
                     response_code: str | None = None) -> dict[str, Any]:
        """The status and, once answered, the result. Access: the owning party (API key), or the browser that
        started it (its view secret), or the same-device return (the ``response_code``)."""
        tx = await self._load(tx_id)
        allowed = (
            (party_id is not None and hmac.compare_digest(tx.party_id, party_id))
            or (view_secret is not None and tx.view_secret_hash is not None
                and hmac.compare_digest(tx.view_secret_hash, _sha256(view_secret)))
            or (response_code is not None and tx.response_code_hash is not None
                and hmac.compare_digest(tx.response_code_hash, _sha256(response_code)))
        )
        if not allowed:
            raise VerifierNotFound("transaction_not_found", "no such transaction")
        return self._public(tx, self.clock.now())

    async def any_result(self, tx_id: str) -> dict[str, Any]:
        """Operator/CLI access (no party check)."""
        return self._public(await self._load(tx_id), self.clock.now())

    # -- webhooks ----------------------------------------------------------------------------------------------
    def webhook_key(self) -> tuple[PrivateKey, str]:
        key = self.keystore.get_or_create_key(WEBHOOK_KEY, "ES256")
        return key, jwk_thumbprint(public_jwk(key))

    def webhook_jwks(self) -> dict[str, Any]:
        key, kid = self.webhook_key()
        jwk = dict(public_jwk(key))
        jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
        return {"keys": [jwk]}

    async def deliver_webhook(self, webhook_id: str, session: AsyncSession | None = None) -> bool:
        """POST the result of a transaction to the party's webhook, signed (header ``Portfeil-Signature``). Returns
        True on a 2xx answer; otherwise raises ``webhook_delivery_failed`` so that the outbox retries it on its
        next run (at-least-once: receivers deduplicate by transaction id). ``session``: the outbox's transaction
        (reads and the delivery record go through it, so that SQLite sees one writer)."""
        if session is None:
            async with self.db.transaction() as s:
                return await self.deliver_webhook(webhook_id, s)
        hook = await session.get(VerWebhook, webhook_id)
        if hook is None or hook.delivered_at is not None:
            return True
        tx = await session.get(VerTransaction, hook.transaction_id)
        assert tx is not None
        now = self.clock.now()
        body = json.dumps({"type": "presentation.result", **self._public(tx, now)}, separators=(",", ":"),
                          ensure_ascii=False).encode()
        key, kid = await asyncio.to_thread(self.webhook_key)
        headers = {"Content-Type": "application/json", SIGNATURE_HEADER: sign_webhook(body, key, kid=kid, now=now)}
        status: int | None = None
        try:
            if self.http is not None:
                resp = await self.http.post(hook.url, content=body, headers=headers)
            else:
                import httpx

                async with httpx.AsyncClient(timeout=10.0, follow_redirects=False) as client:
                    resp = await client.post(hook.url, content=body, headers=headers)
            status = resp.status_code
        except Exception as exc:  # noqa: BLE001 - retried by the outbox
            log.warning("webhook delivery failed", extra={"event": "webhook_failed", "error_type": type(exc).__name__})
        attempts = self._attempts.get(webhook_id, hook.attempts) + 1
        self._attempts[webhook_id] = attempts
        if status is None or not 200 <= status < 300:
            raise VerifierError("webhook_delivery_failed", "the webhook did not accept the notification",
                                status=status, attempts=attempts)
        hook.attempts = attempts
        hook.last_status = status
        hook.delivered_at = now
        self._attempts.pop(webhook_id, None)
        return True

    async def on_webhook_event(self, session: AsyncSession, event: Event) -> None:
        await self.deliver_webhook(str(event.payload["webhook_id"]), session)

    async def webhooks(self, tx_id: str) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(VerWebhook).where(VerWebhook.transaction_id == tx_id))).scalars().all()
        return [{"id": r.id, "attempts": r.attempts, "last_status": r.last_status,
                 "delivered": r.delivered_at is not None} for r in rows]
