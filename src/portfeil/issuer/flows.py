"""The PID provider's use cases: offers, PAR, authorization, token, nonce, credential, deferred, notification.

Every message check is :mod:`portfeil.protocols` (OAuth RFC 6749/9126/7636/9449, attestation-based client
authentication, OpenID4VCI 1.0); this module adds storage, the population register, the eID centre, signing and
status lists.

Transaction boundaries (a crash leaves no half-issued credential and no consumed code without a credential):

* token endpoint: the code or offer is consumed with a conditional ``UPDATE ... WHERE state = open`` and the access
  token is written in the SAME transaction; a concurrent second redemption updates no row and fails;
* credential endpoint: the credentials are signed in memory; then ONE transaction consumes the ``c_nonce`` and the
  DPoP proof's ``jti`` (replay table, primary key), records the use of the access token for the configuration
  (primary key: a concurrent second request fails) and every issued credential. If signing or that transaction
  fails, nothing is recorded: the token is not used, the nonce and the proof may be tried once more, and no
  credential left the server (the response is written only after the commit);
* the replay entries of the token endpoint's DPoP proof are written in the transaction that redeems the code, for
  the same reason and to save round trips (one transaction per request on the hot paths).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from portfeil.consttime import text_equal
from portfeil.context import AppContext
from portfeil.errors import PortfeilError
from portfeil.formats.errors import FormatError
from portfeil.formats.jws import b64url_decode, b64url_encode
from portfeil.formats.mdoc import StatusListReference, issue_mdoc
from portfeil.formats.sdjwt import StatusReference, issue_sd_jwt_vc
from portfeil.issuer import mapping
from portfeil.issuer.configs import AttestationConfig, IssuerSettings, default_settings
from portfeil.issuer.errors import IssuerError, IssuerNotFound
from portfeil.issuer.keys import IssuerKeys, issuer_keys
from portfeil.issuer.models import (
    IssAccessToken,
    IssAuthorizationCode,
    IssCredential,
    IssDeferred,
    IssManualCheck,
    IssOffer,
    IssPushedRequest,
    IssSeenJti,
    IssTokenUse,
)
from portfeil.issuer.status import StatusLists
from portfeil.pki.keys import public_key_from_jwk
from portfeil.protocols import oauth, oid4vci
from portfeil.protocols.client_attestation import verify_client_attestation
from portfeil.protocols.dpop import verify_dpop_proof
from portfeil.protocols.errors import ProtocolError
from portfeil.sources import registry as population

log = logging.getLogger("portfeil.issuer")

_CTX_KEY = "issuer.service"
# Hot-path statements, built once (SQLAlchemy Core: no ORM session per call).
_SEEN_INSERT = insert(IssSeenJti)
#: the token, whether its person awaits a manual check, and one row per configuration already issued under it
_TOKEN_READ = select(
    *IssAccessToken.__table__.c,
    select(func.count()).where(IssManualCheck.person_id == IssAccessToken.person_id).scalar_subquery().label("held"),
    IssTokenUse.config_id.label("used_config"),
).outerjoin(IssTokenUse, IssTokenUse.token_hash == IssAccessToken.token_hash).where(
    IssAccessToken.token_hash == bindparam("h"))
_OFFER_READ = select(IssOffer.id, IssOffer.state, IssOffer.expires_at, IssOffer.tx_code_hash, IssOffer.person_id,
                     IssOffer.config_ids).where(IssOffer.code_hash == bindparam("h"))
_OFFER_REDEEM = update(IssOffer).where(
    IssOffer.id == bindparam("offer_id"), IssOffer.state == "open", IssOffer.expires_at > bindparam("at"),
).values(state="redeemed", offer_json=None)
_TOKEN_INSERT = insert(IssAccessToken)
_TOKEN_USE_INSERT = insert(IssTokenUse)
_CREDENTIAL_INSERT = insert(IssCredential)
_NONCE_WINDOW = 120  # seconds per DPoP server-nonce window (a nonce is good for 1-2 windows)


def _collect(into: list[str], result: bool) -> Callable[[str], bool]:
    """A callback for the pure layer that records the value (checked against storage afterwards)."""

    def record(value: str) -> bool:
        into.append(value)
        return result

    return record


def _h(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def new_tx_code(length: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(length))


class EidAuthenticator(Protocol):
    """The seam to the eID centre: a challenge, and the check of its signature giving (person id, certificate)."""

    async def new_challenge(self) -> str: ...

    async def authenticate(self, challenge: str, signature: str, chain: Sequence[str]) -> tuple[str, str]: ...


class RegistryEidAuthenticator:
    """:class:`EidAuthenticator` through the eID registry's Python API (``portfeil.eid.registry``)."""

    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _registry(self) -> Any:
        from portfeil.eid.registry import EidRegistry

        return EidRegistry.for_context(self.ctx)

    async def new_challenge(self) -> str:
        view = await self._registry().new_challenge()
        return str(view.challenge)

    async def authenticate(self, challenge: str, signature: str, chain: Sequence[str]) -> tuple[str, str]:
        row = await self._registry().authenticate(challenge, signature, list(chain))
        return str(row.person_id), str(row.serial)


@dataclass(frozen=True)
class OfferResult:
    offer_id: str
    offer: dict[str, Any]
    uri: str
    uri_by_reference: str
    tx_code: str | None
    expires_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {"offer_id": self.offer_id, "credential_offer_uri": self.uri,
                "credential_offer_uri_by_reference": self.uri_by_reference, "tx_code": self.tx_code,
                "credential_configuration_ids": self.offer["credential_configuration_ids"],
                "expires_at": self.expires_at.isoformat()}


@dataclass
class HttpAnswer:
    """What the HTTP layer sends: status, JSON body (or a compact JWE string), headers."""

    status: int
    body: dict[str, Any] | str | None
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"


@dataclass
class _Replays:
    """Replay-table entries to write in the transaction that completes a request, each with the error that a replay
    of it gives (checked in insertion order when the insert fails)."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    errors: list[ProtocolError] = field(default_factory=list)

    def add(self, row: dict[str, Any], error: ProtocolError) -> None:
        self.rows.append(row)
        self.errors.append(error)


class _Replayed(Exception):
    """Raised inside a transaction when an entry of :class:`_Replays` was already recorded (the transaction rolls
    back; :meth:`PidIssuer._replay_error` then names which)."""

    def __init__(self, replays: _Replays) -> None:
        super().__init__("replayed")
        self.replays = replays


@dataclass(frozen=True)
class _Token:
    token: str
    row: IssAccessToken
    #: configurations already issued under this token, and whether the person awaits a manual check
    used: frozenset[str] = frozenset()
    held: bool = False


#: Status List Token ``ttl`` (seconds) in a data directory prepared by ``portfeil demo`` (issuer/demo-mode)
DEMO_STATUS_LIST_TTL = 5


class PidIssuer:
    """The PID provider of one application context (``await PidIssuer.of(ctx)``)."""

    def __init__(self, ctx: AppContext, settings: IssuerSettings | None = None,
                 eid: EidAuthenticator | None = None) -> None:
        self.ctx = ctx
        self.db = ctx.db
        self.clock = ctx.clock
        self.settings = settings or default_settings()
        if settings is None and (ctx.settings.data_dir / "issuer" / "demo-mode").exists():
            # ``portfeil demo``: a revocation shows at the verifiers within seconds, not after the usual ttl
            self.settings = replace(self.settings, status_list_ttl_seconds=DEMO_STATUS_LIST_TTL)
        self.eid: EidAuthenticator = eid or RegistryEidAuthenticator(ctx)
        self.issuer_id = ctx.url("/issuer")
        self.status = StatusLists(ctx.db, size=self.settings.status_list_size,
                                  ttl=self.settings.status_list_ttl_seconds, uri_for=ctx.url)
        secret = ctx.settings.keystore_passphrase.get_secret_value().encode()
        self._nonce_key = hmac.new(secret, b"portfeil issuer dpop nonce", hashlib.sha256).digest()
        self._c_nonce_key = hmac.new(secret, b"portfeil issuer c_nonce", hashlib.sha256).digest()
        self._keys: IssuerKeys | None = None
        self._last_purge = 0.0
        self._metadata: bytes | None = None
        #: test seam: called inside the recording transaction, after the credentials were signed
        self.before_record: Callable[[], None] | None = None

    @classmethod
    async def of(cls, ctx: AppContext) -> PidIssuer:
        issuer = ctx.services.get(_CTX_KEY)
        if not isinstance(issuer, PidIssuer):
            issuer = ctx.services[_CTX_KEY] = cls(ctx)
        await issuer.keys()
        return issuer

    async def keys(self) -> IssuerKeys:
        if self._keys is None or self._keys.signer.certificate.not_valid_after_utc - timedelta(days=30) \
                <= self.clock.now():
            self._keys = await issuer_keys(self.ctx, self.issuer_id)
        return self._keys

    def url(self, path: str) -> str:
        return self.issuer_id + path

    @property
    def configs(self) -> dict[str, AttestationConfig]:
        return self.settings.configurations

    def config(self, config_id: str) -> AttestationConfig:
        cfg = self.configs.get(config_id)
        if cfg is None:
            raise IssuerError("unknown_configuration", "no such credential configuration",
                              known=sorted(self.configs))
        return cfg

    # ------------------------------------------------------------------------------------------ metadata
    def credential_issuer_metadata_json(self) -> bytes:
        """:meth:`credential_issuer_metadata` serialised, built once per issuer object (its settings and
        configurations do not change while it lives): wallets fetch it before every issuance."""
        if self._metadata is None:
            self._metadata = json.dumps(self.credential_issuer_metadata(), ensure_ascii=False,
                                        separators=(",", ":")).encode()
        return self._metadata

    def credential_issuer_metadata(self) -> dict[str, Any]:
        """OpenID4VCI 1.0 §12.2.4, with ``credential_metadata`` per configuration (display bg/en, claims)."""
        return oid4vci.credential_issuer_metadata(
            self.issuer_id,
            configurations=[c.protocol() for c in self.configs.values()],
            display=self.settings.display,
            credential_endpoint=self.url("/credential"),
            nonce_endpoint=self.url("/nonce"),
            deferred_credential_endpoint=self.url("/deferred_credential"),
            notification_endpoint=self.url("/notification"),
            authorization_servers=[self.issuer_id],
            batch_size=self.settings.batch_size,
            response_encryption_required=False,
        )

    def authorization_server_metadata(self) -> dict[str, Any]:
        """RFC 8414 §2 as HAIP 1.0 §4 asks (PAR required, DPoP, PKCE S256, attest_jwt_client_auth)."""
        return oauth.authorization_server_metadata(
            self.issuer_id,
            authorization_endpoint=self.url("/authorize"),
            token_endpoint=self.url("/token"),
            pushed_authorization_request_endpoint=self.url("/par"),
            nonce_endpoint=self.url("/nonce"),
            scopes_supported=[c.scope for c in self.configs.values()],
        )

    # ------------------------------------------------------------------------------------------ housekeeping
    async def _purge(self) -> None:
        """Drop expired replay entries (at most once a minute)."""
        if time.monotonic() - self._last_purge < 60:
            return
        self._last_purge = time.monotonic()
        async with self.db.connection() as c:
            await c.execute(delete(IssSeenJti).where(IssSeenJti.expires_at < self.clock.now()))

    async def _seen(self, scope: str, value: str, ttl: int = 600) -> bool:
        """Replay check: True when ``value`` was already used in ``scope`` (records it otherwise).

        One statement in its own transaction (one round trip). On PostgreSQL the table is UNLOGGED (migration
        issuer_0002): its commits wait for no WAL flush, and a database crash empties it. That is harmless: what
        must be single-use for good (pre-authorized and authorization codes, a token's use per configuration,
        credentials) is recorded durably elsewhere; this table adds replay protection for DPoP proofs and
        c_nonces within their short freshness windows."""
        try:
            async with self.db.connection() as c:
                await c.execute(_SEEN_INSERT, self._seen_row(scope, value, ttl))
        except IntegrityError:
            return True
        return False

    def _seen_row(self, scope: str, value: str, ttl: int = 600) -> dict[str, Any]:
        return {"jti_hash": _h(scope + "\x00" + value), "expires_at": self.clock.now() + timedelta(seconds=ttl)}

    @staticmethod
    async def _record_replays(c: AsyncConnection | AsyncSession, replays: _Replays) -> None:
        """Inside the request's transaction: write its replay entries in one statement, or raise :class:`_Replayed`
        (the transaction then rolls back, so a replayed request leaves nothing behind)."""
        if not replays.rows:
            return
        try:
            await c.execute(_SEEN_INSERT, replays.rows)
        except IntegrityError:
            raise _Replayed(replays) from None

    async def _replay_error(self, replays: _Replays, otherwise: ProtocolError | None = None) -> ProtocolError:
        """The error of the first entry that is already recorded (after the insert of all of them failed as one,
        or before another error that a replayed request also meets, so that a replay is named as such)."""
        hashes = [r["jti_hash"] for r in replays.rows]
        found: set[str] = set()
        if hashes:
            async with self.db.connection() as c:
                found = set((await c.execute(select(IssSeenJti.jti_hash).where(IssSeenJti.jti_hash.in_(hashes))))
                            .scalars())
        for row, error in zip(replays.rows, replays.errors, strict=True):
            if row["jti_hash"] in found:
                return error
        # none recorded: a concurrent twin rolled back meanwhile (still a replay of this request), or the other error
        return otherwise if otherwise is not None else replays.errors[0]

    # ------------------------------------------------------------------------------------------ DPoP nonces
    def dpop_nonce(self) -> str:
        """A server nonce (RFC 9449 §8): the time window and its HMAC; stateless, valid for about two windows."""
        window = self.clock.timestamp() // _NONCE_WINDOW
        mac = hmac.new(self._nonce_key, str(window).encode(), hashlib.sha256).hexdigest()[:32]
        return f"{window}.{mac}"

    def check_dpop_nonce(self, value: str) -> bool:
        window_text, _, mac = value.partition(".")
        if not window_text.isdigit():
            return False
        window = int(window_text)
        now_window = self.clock.timestamp() // _NONCE_WINDOW
        if window not in (now_window, now_window - 1):
            return False
        expected = hmac.new(self._nonce_key, str(window).encode(), hashlib.sha256).hexdigest()[:32]
        return text_equal(mac, expected)

    async def _dpop(self, proof: str | None, *, htu: str, access_token: str | None = None,
                    expected_jkt: str | None = None, status: int | None = None,
                    replays: _Replays | None = None) -> str:
        """Verify a DPoP proof (RFC 9449 §4.3) with server nonces and the jti replay cache; returns the jkt. With
        ``replays``, the jti is recorded later, in the transaction that completes the request."""
        if not proof:
            if access_token is not None:
                raise ProtocolError("invalid_token", "DPoP-bound access token used without a DPoP proof", status=401)
            raise ProtocolError("invalid_dpop_proof", "a DPoP proof is required", status=status)
        jtis: list[str] = []
        verified = verify_dpop_proof(
            proof, htm="POST", htu=htu, now=self.clock.now(), seen=_collect(jtis, False),
            access_token=access_token,
            check_nonce=self.check_dpop_nonce if self.settings.require_dpop_nonce else None,
            new_nonce=self.dpop_nonce, expected_jkt=expected_jkt, status=status,
        )
        replayed = ProtocolError("invalid_dpop_proof", "DPoP proof was already used", status=status)
        if replays is not None:
            replays.add(self._seen_row("dpop:" + verified.jkt, verified.jti), replayed)
        elif await self._seen("dpop:" + verified.jkt, verified.jti):
            raise replayed
        return verified.jkt

    # ------------------------------------------------------------------------------------------ offers
    async def create_offer(
        self, person_ref: str, config_ids: Sequence[str] | None = None, *, tx_code: bool = True,
    ) -> OfferResult:
        """A credential offer with a pre-authorized code (OpenID4VCI 1.0 §4.1.1) for a person (ЕГН/ЛНЧ or id), made
        at an eID administrator's desk or by an operator who checked the person's identity. The tx_code goes to
        the person through another channel (shown at the desk, printed); the code alone is not enough."""
        ids = list(config_ids or ["pid_sd_jwt", "pid_mdoc"])
        for cid in ids:
            self.config(cid)
        person = await population.find_person(self.db, person_ref, clock=self.clock)
        if not person.alive:
            raise IssuerError("person_deceased", "no PID for a person recorded as deceased")
        code = secrets.token_urlsafe(32)
        tx = new_tx_code(self.settings.tx_code_length) if tx_code else None
        offer = oid4vci.build_credential_offer(
            self.issuer_id, ids, pre_authorized_code=code,
            tx_code=oid4vci.TxCode("numeric", self.settings.tx_code_length,
                                   "Кодът от гишето / the code shown at the desk") if tx else None,
        )
        now = self.clock.now()
        expires = now + timedelta(seconds=self.settings.offer_lifetime_seconds)
        row = IssOffer(code_hash=_h(code), tx_code_hash=_h(tx) if tx else None, tx_attempts=0, person_id=person.id,
                       config_ids=ids, state="open", offer_json=offer, created_at=now, expires_at=expires)
        async with self.db.transaction() as s:
            s.add(row)
            await s.flush()
            offer_id = row.id
        log.info("credential offer created", extra={"event": "issuer_offer_created", "offer_id": offer_id,
                                                    "configurations": ids})
        return OfferResult(
            offer_id, offer, oid4vci.credential_offer_uri(offer),
            oid4vci.credential_offer_uri(offer_uri=self.url(f"/offers/{offer_id}")), tx, expires,
        )

    async def offer_by_reference(self, offer_id: str) -> dict[str, Any]:
        """The offer object behind ``credential_offer_uri`` (§4.1.3), while the offer is open."""
        async with self.db.session() as s:
            row = await s.get(IssOffer, offer_id)
        if row is None or row.state != "open" or row.expires_at <= self.clock.now() or row.offer_json is None:
            raise IssuerNotFound("offer_not_found", "no such open credential offer")
        return dict(row.offer_json)

    # ------------------------------------------------------------------------------------------ c_nonce (§7)
    async def new_c_nonce(self) -> str:
        """A ``c_nonce`` (§7.2) that needs no database write: its expiry, 16 random bytes and an HMAC of both under
        a key derived from the keystore passphrase, base64url. Single use is enforced when a proof consumes it."""
        await self._purge()
        expires = int(self.clock.timestamp()) + self.settings.c_nonce_lifetime_seconds
        body = expires.to_bytes(8, "big") + secrets.token_bytes(16)
        return b64url_encode(body + hmac.new(self._c_nonce_key, body, hashlib.sha256).digest()[:16])

    def c_nonce_remaining(self, value: str) -> int | None:
        """Seconds left for a genuine nonce of this issuer; None if forged, altered or expired. Single use is not
        checked here: the credential endpoint records the nonce in the replay table within the transaction that
        issues (a second use fails there)."""
        try:
            raw = b64url_decode(value)
        except FormatError:
            return None
        if len(raw) != 40:
            return None
        body, mac = raw[:24], raw[24:]
        if not hmac.compare_digest(mac, hmac.new(self._c_nonce_key, body, hashlib.sha256).digest()[:16]):
            return None
        remaining = int.from_bytes(body[:8], "big") - int(self.clock.timestamp())
        return None if remaining < 0 else remaining

    async def nonce_endpoint(self) -> HttpAnswer:
        return HttpAnswer(200, oid4vci.nonce_response(await self.new_c_nonce()),
                          {"Cache-Control": "no-store", "DPoP-Nonce": self.dpop_nonce()})

    # ------------------------------------------------------------------------------------------ client auth
    async def _client_attestation(self, headers: Mapping[str, str], client_id: str | None) -> tuple[str, str]:
        """Attestation-based client authentication (draft §5, HAIP 1.0 §4.3): the wallet provider's attestation must
        chain to a trusted wallet-provider anchor of the trust registry, and the wallet unit must not be revoked.
        Returns (client_id, wallet unit id)."""
        from portfeil.pki.roles import Role
        from portfeil.trust.registry import TrustRegistry

        att = headers.get("oauth-client-attestation")
        pop = headers.get("oauth-client-attestation-pop")
        if not att or not pop:
            raise ProtocolError("invalid_client", "client attestation headers are required")
        registry = await TrustRegistry.of(self.ctx)
        validator = await registry.validator(Role.WALLET_PROVIDER)
        jtis: list[str] = []
        verified = verify_client_attestation(
            att, pop, trust=validator, audience=self.issuer_id, now=self.clock.now(),
            seen=_collect(jtis, False), client_id=client_id,
        )
        if await self._seen("attestation-pop:" + verified.client_id, verified.pop_jti):
            raise ProtocolError("invalid_client", "PoP jti was already used")
        if verified.issuer == registry.wallet_provider_id:
            try:
                unit = await registry.wallet_provider.status(verified.client_id)
            except PortfeilError:
                unit = {"valid": False}
            if not unit.get("valid"):
                raise ProtocolError("invalid_client", "the wallet unit is revoked or unknown")
        return verified.client_id, verified.client_id

    # ------------------------------------------------------------------------------------------ PAR (RFC 9126)
    async def par(self, form: Mapping[str, Any], headers: Mapping[str, str], *, dpop: str | None) -> HttpAnswer:
        client_id, unit = await self._client_attestation(headers, form.get("client_id")
                                                         if isinstance(form.get("client_id"), str) else None)
        req = oauth.validate_par_request(
            form, authenticated_client_id=client_id,
            scope_to_configuration={c.scope: c.id for c in self.configs.values()},
            known_configuration_ids=self.configs, credential_issuer=self.issuer_id,
        )
        jkt = req.dpop_jkt
        if dpop:
            jkt_proof = await self._dpop(dpop, htu=self.url("/par"))
            if jkt is not None and jkt != jkt_proof:
                raise ProtocolError("invalid_dpop_proof", "dpop_jkt does not match the DPoP proof")
            jkt = jkt_proof
        request_uri = oauth.new_request_uri()
        now = self.clock.now()
        async with self.db.transaction() as s:
            s.add(IssPushedRequest(
                uri_hash=_h(request_uri), client_id=client_id, redirect_uri=req.redirect_uri,
                code_challenge=req.code_challenge, config_ids=list(req.credential_configuration_ids),
                state=req.state, dpop_jkt=jkt, wallet_unit_id=unit, status="pushed", created_at=now,
                expires_at=now + timedelta(seconds=self.settings.par_lifetime_seconds),
            ))
        return HttpAnswer(201, oauth.par_response(request_uri, self.settings.par_lifetime_seconds),
                          {"Cache-Control": "no-store"})

    async def pushed_request(self, client_id: str, request_uri: str) -> IssPushedRequest:
        oauth.parse_request_uri(request_uri)
        async with self.db.session() as s:
            row = await s.get(IssPushedRequest, _h(request_uri))
        if row is None or row.client_id != client_id or row.expires_at <= self.clock.now():
            raise ProtocolError("invalid_request_uri", "request_uri is unknown, expired or for another client")
        if row.status in ("authorized", "denied"):
            raise ProtocolError("invalid_request_uri", "request_uri was already used")
        return row

    async def start_authentication(self, client_id: str, request_uri: str) -> tuple[IssPushedRequest, str]:
        """The authorization page: a fresh eID challenge bound to the pushed request."""
        row = await self.pushed_request(client_id, request_uri)
        challenge = await self.eid.new_challenge()
        async with self.db.transaction() as s:
            await s.execute(update(IssPushedRequest).where(IssPushedRequest.uri_hash == row.uri_hash)
                            .values(eid_challenge=challenge))
        return row, challenge

    async def authenticate(self, client_id: str, request_uri: str, challenge: str, signature: str,
                           chain: Sequence[str]) -> tuple[IssPushedRequest, population.PersonRecord]:
        """The citizen's eID signature over the page's challenge, checked by the eID centre; then the attributes
        that would be issued are read from the population register (shown before consent)."""
        row = await self.pushed_request(client_id, request_uri)
        if row.eid_challenge is None or not text_equal(row.eid_challenge, challenge):
            raise IssuerError("challenge_mismatch", "the challenge does not belong to this authorization request")
        person_id, serial = await self.eid.authenticate(challenge, signature, chain)
        person = await population.get_person(self.db, person_id, clock=self.clock)
        if not person.alive:
            raise IssuerError("person_deceased", "no PID for a person recorded as deceased")
        async with self.db.transaction() as s:
            await s.execute(update(IssPushedRequest).where(IssPushedRequest.uri_hash == row.uri_hash)
                            .values(person_id=person_id, eid_serial=serial, status="authenticated"))
        row.person_id, row.eid_serial, row.status = person_id, serial, "authenticated"
        return row, person

    def preview(self, row: IssPushedRequest, person: population.PersonRecord, lang: str) -> list[dict[str, Any]]:
        """What will be issued: for each configuration, its name and the claim names with values, in ``lang``."""
        out = []
        for cid in row.config_ids:
            cfg = self.config(cid)
            claims = self._claims(cfg, person, "PREVIEW")
            items = []
            for c in cfg.claims:
                value: Any = claims
                for p in c.path:
                    value = value.get(p) if isinstance(value, Mapping) else None
                if value is None or isinstance(value, Mapping):
                    continue
                items.append({"name": c.display.get(lang, c.display["en"]), "value": _show(value)})
            out.append({"name": cfg.display.get(lang, cfg.display["en"]), "format": cfg.format, "claims": items})
        return out

    async def decide(self, client_id: str, request_uri: str, *, consent: bool) -> str:
        """The citizen's decision; returns the redirect URI (RFC 6749 §4.1.2, RFC 9207 ``iss``) with a code or
        ``access_denied``. The pushed request is single use."""
        from urllib.parse import urlencode

        row = await self.pushed_request(client_id, request_uri)
        if row.status != "authenticated" or row.person_id is None:
            raise IssuerError("not_authenticated", "authenticate with your eID first")
        params: dict[str, str] = {"iss": self.issuer_id}
        if row.state is not None:
            params["state"] = row.state
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(update(IssPushedRequest).where(
                IssPushedRequest.uri_hash == row.uri_hash, IssPushedRequest.status == "authenticated")
                .values(status="authorized" if consent else "denied"))
            if getattr(result, "rowcount", 0) != 1:
                raise ProtocolError("invalid_request_uri", "request_uri was already used")
            if consent:
                code = secrets.token_urlsafe(32)
                s.add(IssAuthorizationCode(
                    code_hash=_h(code), client_id=row.client_id, redirect_uri=row.redirect_uri,
                    code_challenge=row.code_challenge, person_id=row.person_id, eid_serial=row.eid_serial,
                    config_ids=row.config_ids, dpop_jkt=row.dpop_jkt, wallet_unit_id=row.wallet_unit_id,
                    used_at=None, expires_at=now + timedelta(seconds=self.settings.code_lifetime_seconds),
                ))
                params["code"] = code
            else:
                params["error"] = "access_denied"
        sep = "&" if "?" in row.redirect_uri else "?"
        return row.redirect_uri + sep + urlencode(params)

    # ------------------------------------------------------------------------------------------ token (§6)
    async def token(self, form: Mapping[str, Any], headers: Mapping[str, str], *, dpop: str | None) -> HttpAnswer:
        req = oauth.validate_token_request(form, known_configuration_ids=self.configs)
        pre_authorized = req.grant_type == oauth.PRE_AUTHORIZED_CODE_GRANT
        replays = _Replays()
        jkt = await self._dpop(dpop, htu=self.url("/token"), replays=replays if pre_authorized else None)
        now = self.clock.now()
        access_token = secrets.token_urlsafe(32)
        lifetime = self.settings.token_lifetime_seconds
        if pre_authorized:
            assert req.pre_authorized_code is not None
            code_hash = _h(req.pre_authorized_code)
            async with self.db.connection() as c:
                offer = (await c.execute(_OFFER_READ, {"h": code_hash})).first()
            if offer is None or offer.state != "open" or offer.expires_at <= now:
                raise ProtocolError("invalid_grant", "the pre-authorized code is unknown, used, dead or expired")
            expected = None if offer.tx_code_hash is None else "x"
            probe = oauth.TokenRequest(req.grant_type, req.client_id, pre_authorized_code=req.pre_authorized_code,
                                       tx_code=None if req.tx_code is None else "x")
            oauth.check_pre_authorized_code_grant(probe, expected_tx_code=expected)  # presence rules (§6.1)
            if offer.tx_code_hash is not None:
                assert req.tx_code is not None
                if not hmac.compare_digest(_h(req.tx_code), offer.tx_code_hash):
                    await self._wrong_tx_code(offer.id)
                    raise ProtocolError("invalid_grant", "tx_code is wrong")
            try:
                async with self.db.begin() as c:  # the proof's jti, the code's redemption, the token: all or none
                    await self._record_replays(c, replays)
                    redeemed = await c.execute(_OFFER_REDEEM, {"offer_id": offer.id, "at": now})
                    if redeemed.rowcount != 1:
                        raise ProtocolError("invalid_grant", "the pre-authorized code was already used")
                    await c.execute(_TOKEN_INSERT, {
                        "token_hash": _h(access_token), "person_id": offer.person_id, "eid_serial": None,
                        "client_id": None, "wallet_unit_id": None, "jkt": jkt, "config_ids": list(offer.config_ids),
                        "identifiers": {}, "grant": "pre-authorized", "created_at": now,
                        "expires_at": now + timedelta(seconds=lifetime)})
            except _Replayed as exc:
                raise await self._replay_error(exc.replays) from None
            log.info("token issued", extra={"event": "issuer_token", "grant": "pre-authorized"})
        else:
            assert req.code is not None
            client_id, _unit = await self._client_attestation(headers, req.client_id)
            async with self.db.session() as s:
                code = await s.get(IssAuthorizationCode, _h(req.code))
            if code is None or code.used_at is not None or code.expires_at <= now:
                raise ProtocolError("invalid_grant", "the authorization code is unknown, used or expired")
            oauth.check_authorization_code_grant(req, code_challenge=code.code_challenge,
                                                 redirect_uri=code.redirect_uri, client_id=client_id)
            if code.client_id != client_id:
                raise ProtocolError("invalid_grant", "the code was issued to another client")
            if code.dpop_jkt is not None and code.dpop_jkt != jkt:
                raise ProtocolError("invalid_dpop_proof", "the DPoP key differs from the one bound at PAR")
            async with self.db.transaction() as s:
                result = await s.execute(update(IssAuthorizationCode).where(
                    IssAuthorizationCode.code_hash == code.code_hash, IssAuthorizationCode.used_at.is_(None))
                    .values(used_at=now))
                if getattr(result, "rowcount", 0) != 1:
                    raise ProtocolError("invalid_grant", "the authorization code was already used")
                s.add(IssAccessToken(
                    token_hash=_h(access_token), person_id=code.person_id, eid_serial=code.eid_serial,
                    client_id=client_id, wallet_unit_id=code.wallet_unit_id, jkt=jkt, config_ids=list(code.config_ids),
                    identifiers={}, grant="authorization_code", created_at=now,
                    expires_at=now + timedelta(seconds=lifetime)))
            log.info("token issued", extra={"event": "issuer_token", "grant": "authorization_code"})
        return HttpAnswer(200, oauth.token_response(access_token, expires_in=lifetime),
                          {"Cache-Control": "no-store", "DPoP-Nonce": self.dpop_nonce()})

    async def _wrong_tx_code(self, offer_id: str) -> None:
        """Count a wrong tx_code; at the limit the offer dies (no more guesses, §13.6 brute force)."""
        limit = self.settings.tx_code_max_attempts
        async with self.db.transaction() as s:
            await s.execute(update(IssOffer).where(IssOffer.id == offer_id, IssOffer.state == "open")
                            .values(tx_attempts=IssOffer.tx_attempts + 1))
            await s.execute(update(IssOffer).where(IssOffer.id == offer_id, IssOffer.state == "open",
                                                   IssOffer.tx_attempts >= limit).values(state="dead", offer_json=None))
        log.warning("wrong tx_code", extra={"event": "issuer_wrong_tx_code", "offer_id": offer_id})

    # ------------------------------------------------------------------------------------------ credential (§8)
    async def _access_token(self, authorization: str | None, dpop: str | None, htu: str,
                            replays: _Replays | None = None) -> _Token:
        """RFC 9449 §7: ``Authorization: DPoP <token>`` and a proof with ``ath``, bound to the token's key."""
        scheme, _, token = (authorization or "").partition(" ")
        token = token.strip()
        if scheme.lower() != "dpop" or not token:
            raise ProtocolError("invalid_token", "a DPoP-bound access token is required", status=401)
        async with self.db.connection() as c:  # Core, one statement: the hottest read of the credential endpoint
            found = (await c.execute(_TOKEN_READ, {"h": _h(token)})).mappings().all()
        row = None
        if found:
            first = found[0]
            held = bool(first["held"])
            used = frozenset(f["used_config"] for f in found if f["used_config"] is not None)
            row = IssAccessToken(**{k: v for k, v in first.items() if k not in ("held", "used_config")})
        if row is None or row.expires_at <= self.clock.now():
            raise ProtocolError("invalid_token", "the access token is unknown or expired", status=401)
        await self._dpop(dpop, htu=htu, access_token=token, expected_jkt=row.jkt, status=401, replays=replays)
        return _Token(token, row, used, held)

    async def credential(self, body: object, *, authorization: str | None, dpop: str | None) -> HttpAnswer:
        await self._purge()
        replays = _Replays()
        tok = await self._access_token(authorization, dpop, self.url("/credential"), replays)
        row = tok.row
        req = oid4vci.validate_credential_request(
            body, known_configuration_ids=self.configs, authorized_configuration_ids=row.config_ids,
            batch_size=self.settings.batch_size,
        )
        assert req.credential_configuration_id is not None
        cfg = self.config(req.credential_configuration_id)
        if cfg.id in tok.used:  # a replayed request meets this first: name the replay if it is one
            raise await self._replay_error(replays, ProtocolError(
                "invalid_token", "this access token was already used for this credential", status=401))
        nonces: list[str] = []
        holder_keys = oid4vci.verify_proofs(
            req, credential_issuer=self.issuer_id, now=self.clock.now(),
            consume_nonce=_collect(nonces, True), client_id=row.client_id,
            algorithms=cfg.proof_algs,
        )
        remaining = self.c_nonce_remaining(nonces[0]) if nonces else None
        bad_nonce = ProtocolError("invalid_nonce", "c_nonce is unknown, used or expired")
        if remaining is None:
            raise bad_nonce
        replays.add(self._seen_row("c_nonce", nonces[0], ttl=remaining + 1), bad_nonce)
        jwks = [k.jwk for k in holder_keys]
        try:
            if cfg.deferred or tok.held:
                return await self._defer(tok, cfg, jwks, req.response_encryption, replays)
            answer_body = await self._issue(row, cfg, jwks, token_hash=row.token_hash, replays=replays)
        except _Replayed as exc:
            raise await self._replay_error(exc.replays) from None
        return self._answer(200, answer_body, req.response_encryption)

    def _answer(self, status: int, body: dict[str, Any], enc: oid4vci.ResponseEncryption | None) -> HttpAnswer:
        headers = {"Cache-Control": "no-store", "DPoP-Nonce": self.dpop_nonce()}
        if enc is None:
            return HttpAnswer(status, body, headers)
        return HttpAnswer(status, oid4vci.encrypt_credential_response(body, enc), headers, "application/jwt")

    def _claims(self, cfg: AttestationConfig, person: population.PersonRecord, document_number: str,
                today: date | None = None) -> dict[str, Any]:
        today = today or self.clock.now().date()
        expiry = today + timedelta(days=cfg.validity_days)
        args = {"today": today, "expiry": expiry, "issuing_authority": self.settings.issuing_authority,
                "issuing_country": self.settings.issuing_country, "document_number": document_number}
        if cfg.format == "mso_mdoc":
            full_ns = mapping.mdoc_namespaces(person, **args)  # type: ignore[arg-type]
            return mapping.select_claims(full_ns, cfg.claim_paths)
        return mapping.select_claims(mapping.sd_jwt_claims(person, **args), cfg.claim_paths)  # type: ignore[arg-type]

    def _sign(self, cfg: AttestationConfig, keys: IssuerKeys, claims: dict[str, Any], jwk: dict[str, Any],
              now: datetime, position: tuple[str, int]) -> str:
        exp = now + timedelta(days=cfg.validity_days)
        uri = self.status.uri(position[0])
        if cfg.format == "mso_mdoc":
            assert cfg.doctype is not None
            issuer_signed = issue_mdoc(
                cfg.doctype, claims, issuer_key=keys.document_signer.key,
                issuer_chain=list(keys.document_signer.chain), device_key=public_key_from_jwk(jwk), now=now,
                valid_until=exp, status=StatusListReference(position[1], uri),
            )
            from portfeil.formats.mdoc import Mdoc

            return Mdoc.parse(issuer_signed).to_base64url()
        assert cfg.vct is not None
        return issue_sd_jwt_vc(
            claims, issuer_key=keys.signer.key, issuer_chain=list(keys.signer.chain), vct=cfg.vct, now=now,
            iss=self.issuer_id, holder_jwk=jwk, exp=exp, status=StatusReference(position[1], uri),
        )

    async def _issue(self, row: IssAccessToken | IssDeferred, cfg: AttestationConfig, jwks: list[dict[str, Any]], *,
                     token_hash: str | None, deferred_hash: str | None = None,
                     replays: _Replays | None = None) -> dict[str, Any]:
        """Read the person NOW, sign one credential per holder key (fresh salts, own status index), then record
        everything and consume the token (or the deferred transaction) in one transaction."""
        keys = await self.keys()
        person = await population.get_person(self.db, row.person_id, clock=self.clock)
        if not person.alive:
            raise ProtocolError("credential_request_denied", "the person is recorded as deceased")
        now = self.clock.now()
        positions = await self.status.allocate(len(jwks), now)
        ids = [_new_id() for _ in jwks]
        credentials = [self._sign(cfg, keys, self._claims(cfg, person, cid[:8].upper()), jwk, now, pos)
                       for cid, jwk, pos in zip(ids, jwks, positions, strict=True)]
        notification_id = secrets.token_urlsafe(16)
        fields = mapping.source_fields(cfg.claim_paths)
        try:
            async with self.db.begin() as c:  # Core: replay entries, the token's use, every credential: all or none
                if replays is not None:
                    await self._record_replays(c, replays)
                if token_hash is not None:
                    await c.execute(_TOKEN_USE_INSERT, {"token_hash": token_hash, "config_id": cfg.id, "at": now})
                if deferred_hash is not None:
                    result = await c.execute(update(IssDeferred).where(
                        IssDeferred.transaction_hash == deferred_hash, IssDeferred.state == "approved")
                        .values(state="issued"))
                    if result.rowcount != 1:
                        raise ProtocolError("invalid_transaction_id", "the transaction was already completed")
                await c.execute(_CREDENTIAL_INSERT, [{
                    "id": cid, "credential_hash": _h(cred), "person_id": person.id, "eid_serial": row.eid_serial,
                    "wallet_unit_id": row.wallet_unit_id, "config_id": cfg.id, "format": cfg.format,
                    "status_list_id": pos[0], "status_idx": pos[1], "status": "valid", "source_fields": fields,
                    "notification_id": notification_id, "issued_at": now,
                    "expires_at": now + timedelta(days=cfg.validity_days),
                } for cid, cred, pos in zip(ids, credentials, positions, strict=True)])
                if self.before_record is not None:
                    self.before_record()
        except IntegrityError:
            raise ProtocolError("invalid_token", "this access token was already used for this credential",
                                status=401) from None
        log.info("credentials issued", extra={"event": "issuer_credentials_issued", "configuration": cfg.id,
                                              "count": len(credentials)})
        if row.wallet_unit_id is not None:
            await self._bind_wallet_unit(row.wallet_unit_id, person.id)
        return oid4vci.credential_response(credentials, notification_id=notification_id)

    async def _bind_wallet_unit(self, unit_id: str, person_id: str) -> None:
        """Tell the wallet provider which person the unit holds a PID of (its death revokes the unit)."""
        from portfeil.trust.registry import TrustRegistry

        try:
            registry = await TrustRegistry.of(self.ctx)
            await registry.wallet_provider.bind_person(unit_id, person_id)
        except PortfeilError:
            log.warning("wallet unit binding failed", extra={"event": "issuer_bind_failed"})

    # ------------------------------------------------------------------------------------------ deferred (§9)
    async def _defer(self, tok: _Token, cfg: AttestationConfig, jwks: list[dict[str, Any]],
                     enc: oid4vci.ResponseEncryption | None, replays: _Replays) -> HttpAnswer:
        transaction_id = secrets.token_urlsafe(32)
        now = self.clock.now()
        row = tok.row
        try:
            async with self.db.transaction() as s:
                await self._record_replays(s, replays)
                s.add(IssTokenUse(token_hash=row.token_hash, config_id=cfg.id, at=now))
                await s.flush()
                s.add(IssDeferred(transaction_hash=_h(transaction_id), person_id=row.person_id,
                                  eid_serial=row.eid_serial, wallet_unit_id=row.wallet_unit_id, config_id=cfg.id,
                                  holder_jwks=jwks, state="pending", created_at=now,
                                  expires_at=now + timedelta(days=30)))
        except IntegrityError:
            raise ProtocolError("invalid_token", "this access token was already used for this credential",
                                status=401) from None
        log.info("issuance deferred", extra={"event": "issuer_deferred", "configuration": cfg.id})
        body = oid4vci.deferred_pending_response(transaction_id, interval=self.settings.deferred_interval_seconds)
        return self._answer(202, body, enc)

    async def deferred(self, body: object, *, authorization: str | None, dpop: str | None) -> HttpAnswer:
        tok = await self._access_token(authorization, dpop, self.url("/deferred_credential"))
        transaction_id, enc = oid4vci.validate_deferred_credential_request(body)
        async with self.db.session() as s:
            d = await s.get(IssDeferred, _h(transaction_id))
        if d is None or d.person_id != tok.row.person_id or d.expires_at <= self.clock.now():
            raise ProtocolError("invalid_transaction_id", "transaction_id is unknown or expired")
        if d.state == "pending":
            return self._answer(202, oid4vci.deferred_pending_response(
                transaction_id, interval=self.settings.deferred_interval_seconds), enc)
        if d.state != "approved":
            raise ProtocolError("credential_request_denied" if d.state == "rejected" else "invalid_transaction_id",
                                f"the deferred issuance is {d.state}")
        answer = await self._issue(d, self.config(d.config_id), list(d.holder_jwks), token_hash=None,
                                   deferred_hash=d.transaction_hash)
        return self._answer(200, answer, enc)

    async def hold_person(self, person_ref: str, reason: str) -> None:
        """Mark a person's register data for a manual check: their PID requests become deferred."""
        person = await population.find_person(self.db, person_ref, clock=self.clock)
        async with self.db.transaction() as s:
            if await s.get(IssManualCheck, person.id) is None:
                s.add(IssManualCheck(person_id=person.id, reason=reason[:200], created_at=self.clock.now()))

    async def decide_deferred(self, reference: str, *, approve: bool) -> dict[str, Any]:
        """An operator's decision on a pending deferred issuance (by its reference)."""
        async with self.db.transaction() as s:
            d = (await s.execute(select(IssDeferred).where(IssDeferred.reference == reference))).scalar_one_or_none()
            if d is None:
                raise IssuerNotFound("deferred_not_found", "no such deferred issuance")
            if d.state != "pending":
                raise IssuerError("deferred_not_pending", f"the deferred issuance is {d.state}")
            d.state = "approved" if approve else "rejected"
            if approve:
                await s.execute(delete(IssManualCheck).where(IssManualCheck.person_id == d.person_id))
            return {"reference": d.reference, "state": d.state, "configuration": d.config_id}

    async def pending_deferred(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(IssDeferred).where(IssDeferred.state == "pending")
                                    .order_by(IssDeferred.created_at))).scalars().all()
        return [{"reference": r.reference, "configuration": r.config_id, "person_id": r.person_id,
                 "created_at": r.created_at.isoformat()} for r in rows]

    # ------------------------------------------------------------------------------------------ notification (§11)
    async def notification(self, body: object, *, authorization: str | None, dpop: str | None) -> HttpAnswer:
        tok = await self._access_token(authorization, dpop, self.url("/notification"))
        async with self.db.session() as s:
            candidates = (await s.execute(select(IssCredential).where(
                IssCredential.person_id == tok.row.person_id, IssCredential.notification_id.is_not(None))
            )).scalars().all()
        known = {c.notification_id for c in candidates}
        note = oid4vci.validate_notification_request(body, known_notification_id=lambda n: n in known)
        async with self.db.transaction() as s:
            await s.execute(update(IssCredential).where(IssCredential.notification_id == note.notification_id,
                                                        IssCredential.person_id == tok.row.person_id)
                            .values(notification_event=note.event))
        log.info("notification", extra={"event": "issuer_notification", "notification_event": note.event})
        return HttpAnswer(204, None, {"Cache-Control": "no-store"})


def _new_id() -> str:
    from portfeil.db import new_id

    return new_id()


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "✓" if value else "✗"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)

