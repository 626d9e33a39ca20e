"""The wallet provider: registers wallet units, attests them, revokes them, declares breaches (Art. 5a(6),
5a(8)(a), 5a(9)).

Registration of a wallet unit (an installed instance of the wallet):

1. ``POST /trust/wallet-provider/nonce`` gives a one-time nonce (valid 5 minutes);
2. the wallet signs a proof of possession with its instance key: a JWT with ``typ`` :data:`POP_TYP`, header
   ``jwk`` (the public instance key, RFC 7515 §4.1.3), claims ``aud`` (the wallet provider identifier), ``nonce``
   and ``iat`` (the shape of an OpenID4VCI 1.0 Appendix F.1 proof; a typ of its own so that no proof made for an
   issuer can be replayed here). Further keys to attest are proven the same way (``key_proofs``);
3. the provider checks signature, audience, freshness and consumes the nonce (a replay fails ``invalid_nonce``),
   then returns the wallet unit id (also its OAuth ``client_id``), an OAuth client attestation
   (draft-ietf-oauth-attestation-based-client-auth §5.1, ``oauth-client-attestation+jwt``) and a wallet unit
   attestation (the OpenID4VCI 1.0 Annex D key attestation, ``key-attestation+jwt``), both with a status
   reference into ``/trust/status/wallet-units``.

Honesty about keys: this wallet keeps its keys in software. OpenID4VCI 1.0 Annex D.2 defines ``key_storage`` and
``user_authentication`` values only for attack potential resistance under ISO/IEC 18045 (``iso_18045_basic`` ..
``iso_18045_high``); none is evaluated here, so the attestations carry the collision-resistant extension values
:data:`KEY_STORAGE_SOFTWARE` and :data:`USER_AUTHENTICATION_SOFTWARE` (Annex D.2 allows extensions) and no
``certification``. An issuer demanding ``iso_18045_*`` rightly refuses them.

Revocation: by the wallet itself (proof with the instance key), by the operator (compromise, holder's death, ...),
on a ``population.person_died`` outbox event for units bound to that person (the PID provider binds a unit with
:meth:`WalletProvider.bind_person` when it issues a PID to it), or by a declared breach. Each revocation emits the
outbox event ``trust.wallet_unit_revoked`` ``{"wallet_unit_id", "reason"}``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from portfeil.consttime import text_equal
from portfeil.formats.errors import FormatError
from portfeil.formats.jws import parse_compact, public_jwk, public_key_from_jwk, verify_parsed
from portfeil.outbox import Event, emit
from portfeil.pki.keys import jwk_thumbprint
from portfeil.pki.roles import Role
from portfeil.protocols.client_attestation import create_client_attestation, create_key_attestation
from portfeil.trust.errors import TrustError
from portfeil.trust.models import TrustBreach, TrustNonce, TrustWalletNotice, TrustWalletUnit

if TYPE_CHECKING:
    from portfeil.trust.registry import TrustRegistry

__all__ = [
    "KEY_STORAGE_SOFTWARE",
    "POP_TYP",
    "REVOCATION_REASONS",
    "USER_AUTHENTICATION_SOFTWARE",
    "WalletProvider",
]

POP_TYP = "wallet-unit-pop+jwt"
KEY_STORAGE_SOFTWARE = "https://portfeil.example/attack-potential/software-key-storage"
USER_AUTHENTICATION_SOFTWARE = "https://portfeil.example/attack-potential/software-user-authentication"
NONCE_LIFETIME = timedelta(minutes=5)
POP_MAX_AGE = 300
ATTESTATION_LIFETIME = timedelta(hours=24)
MAX_KEYS = 16
REVOCATION_REASONS = frozenset({"user_request", "compromised", "holder_death", "breach", "operator"})
DEATH_TOPIC = "population.person_died"
REVOKED_TOPIC = "trust.wallet_unit_revoked"

_MESSAGES = {
    "revoked": {
        "bg": "Този портфейл е отменен ({reason}). Удостоверенията в него вече не могат да се използват.",
        "en": "This wallet unit has been revoked ({reason}). Its credentials can no longer be used.",
    },
    "suspended": {
        "bg": "Този портфейл е временно спрян поради нарушение на сигурността.",
        "en": "This wallet unit has been suspended because of a security breach.",
    },
}


class WalletProvider:
    def __init__(self, registry: TrustRegistry) -> None:
        self.registry = registry
        self.db = registry.db
        self.clock = registry.clock

    @property
    def issuer(self) -> str:
        return self.registry.wallet_provider_id

    # -- nonces and proofs ----------------------------------------------------------------------------------
    async def nonce(self) -> dict[str, Any]:
        now = self.clock.now()
        value = secrets.token_urlsafe(32)
        async with self.db.transaction() as s:
            await s.execute(delete(TrustNonce).where(TrustNonce.expires_at < now))
            s.add(TrustNonce(nonce=value, expires_at=now + NONCE_LIFETIME))
        return {"nonce": value, "expires_in": int(NONCE_LIFETIME.total_seconds())}

    async def _consume_nonce(self, value: str) -> None:
        now = self.clock.now()
        async with self.db.transaction() as s:
            result = await s.execute(delete(TrustNonce).where(TrustNonce.nonce == value, TrustNonce.expires_at >= now))
            if getattr(result, "rowcount", 0) != 1:
                raise TrustError("invalid_nonce", "the nonce is unknown, expired or already used")

    def _check_proof(self, proof: object) -> tuple[dict[str, Any], str]:
        """Verify a PoP JWT (signature by its header ``jwk``, aud, iat); returns (public jwk, nonce)."""
        if not isinstance(proof, str):
            raise TrustError("invalid_proof", "the proof must be a compact JWT")
        try:
            parsed = parse_compact(proof, typ=POP_TYP, max_size=8192)
            jwk = parsed.header.get("jwk")
            if not isinstance(jwk, dict) or "d" in jwk:
                raise TrustError("invalid_proof", "the proof header must carry the public jwk")
            key = public_key_from_jwk(jwk)
            verify_parsed(parsed, key=key)
        except FormatError as exc:
            raise TrustError("invalid_proof", "the proof does not verify", reason=exc.code) from None
        claims = parsed.payload
        aud = claims.get("aud")
        if not (aud == self.issuer or (isinstance(aud, list) and aud == [self.issuer])):
            raise TrustError("invalid_proof", "the proof is not addressed to this wallet provider")
        iat = claims.get("iat")
        now = self.clock.timestamp()
        if isinstance(iat, bool) or not isinstance(iat, int | float) or not (now - POP_MAX_AGE <= iat <= now + 60):
            raise TrustError("invalid_proof", "the proof is not fresh")
        nonce = claims.get("nonce")
        if not isinstance(nonce, str) or not nonce:
            raise TrustError("invalid_proof", "the proof carries no nonce")
        return public_jwk(key), nonce

    # -- registration and attestations ----------------------------------------------------------------------
    async def register(
        self,
        proof: str,
        *,
        wallet_name: str = "portfeil",
        wallet_version: str = "0",
        key_proofs: list[str] | None = None,
    ) -> dict[str, Any]:
        """Register a wallet unit after checking possession of its instance key (and of each key to attest)."""
        if not isinstance(wallet_name, str) or not 0 < len(wallet_name) <= 100:
            raise TrustError("invalid_wallet_unit", "wallet_name must be 1-100 characters")
        if not isinstance(wallet_version, str) or not 0 < len(wallet_version) <= 50:
            raise TrustError("invalid_wallet_unit", "wallet_version must be 1-50 characters")
        key_proofs = list(key_proofs or [])
        if len(key_proofs) > MAX_KEYS:
            raise TrustError("invalid_wallet_unit", "too many keys to attest")
        jwk, nonce = self._check_proof(proof)
        extra = [self._check_proof(p) for p in key_proofs]
        if any(not text_equal(n, nonce) for _, n in extra):
            raise TrustError("invalid_proof", "every key proof must use the same nonce")
        await self._consume_nonce(nonce)
        jkt = jwk_thumbprint(jwk)
        now = self.clock.now()
        async with self.db.session() as s:
            existing = (await s.execute(select(TrustWalletUnit).where(TrustWalletUnit.jkt == jkt))).scalar_one_or_none()
        if existing is not None:
            raise TrustError("invalid_wallet_unit", "this instance key is already registered")
        idx = await self.registry.status_lists.allocate("wallet-units")
        async with self.db.transaction() as s:
            unit = TrustWalletUnit(jkt=jkt, jwk=jwk, wallet_name=wallet_name, wallet_version=wallet_version,
                                   status_idx=idx, status="active", created_at=now, updated_at=now)
            s.add(unit)
            await s.flush()
            unit_id = unit.id
        return await self._attestations(unit_id, jwk, idx, [jwk, *(k for k, _ in extra)], wallet_name)

    async def refresh(self, unit_id: str, proof: str, *, key_proofs: list[str] | None = None) -> dict[str, Any]:
        """New attestations for a registered, active unit (proof with its instance key over a fresh nonce)."""
        unit = await self._unit(unit_id)
        jwk, nonce = self._check_proof(proof)
        if jwk_thumbprint(jwk) != unit.jkt:
            raise TrustError("invalid_proof", "the proof is not made with this wallet unit's key")
        extra = [self._check_proof(p) for p in (key_proofs or [])[:MAX_KEYS]]
        if any(not text_equal(n, nonce) for _, n in extra):
            raise TrustError("invalid_proof", "every key proof must use the same nonce")
        await self._consume_nonce(nonce)
        if unit.status != "active":
            raise TrustError("wallet_unit_revoked", f"the wallet unit is {unit.status}")
        return await self._attestations(unit.id, unit.jwk, unit.status_idx, [unit.jwk, *(k for k, _ in extra)],
                                        unit.wallet_name)

    async def _attestations(
        self, unit_id: str, jwk: dict[str, Any], idx: int, keys: list[dict[str, Any]], wallet_name: str
    ) -> dict[str, Any]:
        now = self.clock.now()
        signer = self.registry.signer(Role.WALLET_PROVIDER)
        status = {"status_list": {"idx": idx, "uri": self.registry.ctx.url("/trust/status/wallet-units")}}
        client_attestation = create_client_attestation(
            signer.issued.key, issuer=self.issuer, client_id=unit_id, instance_jwk=jwk, now=now,
            x5c=list(signer.chain), lifetime=ATTESTATION_LIFETIME,
            extra_claims={"wallet_name": wallet_name, "wallet_link": self.registry.ctx.url("/"), "status": status},
        )
        wua = create_key_attestation(
            signer.issued.key, attested_keys=keys, now=now, x5c=list(signer.chain),
            key_storage=(KEY_STORAGE_SOFTWARE,), user_authentication=(USER_AUTHENTICATION_SOFTWARE,),
            lifetime=ATTESTATION_LIFETIME, status=status,
        )
        return {
            "wallet_unit_id": unit_id,
            "client_id": unit_id,
            "client_attestation": client_attestation,
            "wallet_unit_attestation": wua,
            "status": status,
            "expires_in": int(ATTESTATION_LIFETIME.total_seconds()),
        }

    # -- status, revocation ---------------------------------------------------------------------------------
    async def _unit(self, unit_id: str) -> TrustWalletUnit:
        async with self.db.session() as s:
            unit = await s.get(TrustWalletUnit, unit_id)
        if unit is None:
            raise TrustError("wallet_unit_not_found", "no such wallet unit")
        return unit

    async def status(self, unit_id: str) -> dict[str, Any]:
        """Art. 5a(8)(a): whether a wallet unit is valid. Reveals nothing about its user."""
        unit = await self._unit(unit_id)
        return {
            "id": unit.id,
            "status": "valid" if unit.status == "active" else unit.status,
            "valid": unit.status == "active",
            "reason": unit.status_reason,
            "since": unit.updated_at.isoformat(),
            "wallet_name": unit.wallet_name,
            "wallet_version": unit.wallet_version,
        }

    async def revoke_by_holder(self, unit_id: str, proof: str, *, reason: str = "user_request") -> dict[str, Any]:
        """The wallet revokes itself (user request, lost or compromised device): proof with its instance key over a
        fresh nonce."""
        if reason not in ("user_request", "compromised"):
            raise TrustError("invalid_wallet_unit", "reason must be user_request or compromised")
        unit = await self._unit(unit_id)
        jwk, nonce = self._check_proof(proof)
        if jwk_thumbprint(jwk) != unit.jkt:
            raise TrustError("invalid_proof", "the proof is not made with this wallet unit's key")
        await self._consume_nonce(nonce)
        return await self.revoke(unit_id, reason)

    async def revoke(self, unit_id: str, reason: str) -> dict[str, Any]:
        """Revoke a wallet unit for good (idempotent). Reasons: :data:`REVOCATION_REASONS`."""
        if reason not in REVOCATION_REASONS:
            raise TrustError("invalid_wallet_unit", "unknown revocation reason", reasons=sorted(REVOCATION_REASONS))
        async with self.db.transaction() as s:
            unit = await s.get(TrustWalletUnit, unit_id, with_for_update=True)
            if unit is None:
                raise TrustError("wallet_unit_not_found", "no such wallet unit")
            await self._revoke_in(s, unit, reason)
        self.registry.status_lists.invalidate("wallet-units")
        return await self.status(unit_id)

    async def _revoke_in(
        self, s: AsyncSession, unit: TrustWalletUnit, reason: str, breach_id: str | None = None
    ) -> None:
        if unit.status == "revoked":
            return
        now = self.clock.now()
        unit.status, unit.status_reason, unit.updated_at = "revoked", reason, now
        s.add(TrustWalletNotice(
            wallet_unit_id=unit.id, breach_id=breach_id, kind="revoked", created_at=now,
            message={lang: text.format(reason=reason) for lang, text in _MESSAGES["revoked"].items()},
        ))
        await emit(s, REVOKED_TOPIC, {"wallet_unit_id": unit.id, "reason": reason}, clock=self.clock)

    async def bind_person(self, unit_id: str, person_ref: str) -> None:
        """Record which person a wallet unit holds a PID of (called by the PID provider at issuance), so that a
        ``population.person_died`` event revokes it. ``person_ref`` is the opaque reference of the population
        register's events (never an ЕГН in clear is needed here)."""
        if not isinstance(person_ref, str) or not 0 < len(person_ref) <= 200:
            raise TrustError("invalid_wallet_unit", "person_ref must be 1-200 characters")
        async with self.db.transaction() as s:
            unit = await s.get(TrustWalletUnit, unit_id)
            if unit is None:
                raise TrustError("wallet_unit_not_found", "no such wallet unit")
            unit.person_ref = person_ref

    async def revoke_wallet_units_of_person(self, person_ref: str, *, reason: str = "holder_death") -> int:
        """Revoke every unit bound to ``person_ref``; returns how many were revoked now."""
        async with self.db.transaction() as s:
            n = await self._revoke_person_in(s, person_ref, reason)
        self.registry.status_lists.invalidate("wallet-units")
        return n

    async def _revoke_person_in(self, s: AsyncSession, person_ref: str, reason: str) -> int:
        units = (await s.execute(
            select(TrustWalletUnit).where(TrustWalletUnit.person_ref == person_ref, TrustWalletUnit.status != "revoked")
        )).scalars().all()
        for unit in units:
            await self._revoke_in(s, unit, reason)
        return len(units)

    async def on_person_died(self, s: AsyncSession, event: Event) -> None:
        """Outbox consumer of ``population.person_died``: revoke the units bound to the person."""
        payload = event.payload
        ref = next((payload[k] for k in ("person_ref", "person_id", "id") if isinstance(payload.get(k), str)), None)
        if ref:
            await self._revoke_person_in(s, ref, "holder_death")
            self.registry.status_lists.invalidate("wallet-units")

    # -- breaches (Art. 5a(6)) ------------------------------------------------------------------------------
    async def declare_breach(
        self, description: dict[str, str], *, affected_versions: list[str] | None = None, action: str = "suspend"
    ) -> dict[str, Any]:
        """Declare a security breach: suspend (or revoke) the active units of the affected wallet versions (all
        when none are named) and leave each a notice (bg/en) that its wallet polls."""
        if set(description) != {"bg", "en"} or not all(isinstance(v, str) and v.strip() for v in description.values()):
            raise TrustError("invalid_breach", "description needs a text in bg and in en")
        if action not in ("suspend", "revoke"):
            raise TrustError("invalid_breach", "action is suspend or revoke")
        now = self.clock.now()
        async with self.db.transaction() as s:
            q = select(TrustWalletUnit).where(TrustWalletUnit.status == "active")
            if affected_versions:
                q = q.where(TrustWalletUnit.wallet_version.in_(affected_versions))
            units = (await s.execute(q)).scalars().all()
            breach = TrustBreach(description=description, affected_versions=affected_versions or None, action=action,
                                 affected_units=len(units), declared_at=now)
            s.add(breach)
            await s.flush()
            for unit in units:
                s.add(TrustWalletNotice(
                    wallet_unit_id=unit.id, breach_id=breach.id, kind="breach", created_at=now,
                    message={"bg": description["bg"].strip(), "en": description["en"].strip()},
                ))
                if action == "revoke":
                    await self._revoke_in(s, unit, "breach", breach.id)
                else:
                    unit.status, unit.status_reason, unit.updated_at = "suspended", "breach", now
                    s.add(TrustWalletNotice(wallet_unit_id=unit.id, breach_id=breach.id, kind="suspended",
                                            created_at=now, message=dict(_MESSAGES["suspended"])))
            result = {"id": breach.id, "affected_units": len(units), "action": action,
                      "affected_versions": affected_versions or None, "declared_at": now.isoformat()}
        self.registry.status_lists.invalidate("wallet-units")
        return result

    async def notices(self, unit_id: str) -> list[dict[str, Any]]:
        await self._unit(unit_id)
        async with self.db.session() as s:
            rows = (await s.execute(
                select(TrustWalletNotice).where(TrustWalletNotice.wallet_unit_id == unit_id)
                .order_by(TrustWalletNotice.created_at, TrustWalletNotice.id)
            )).scalars().all()
        return [{"id": r.id, "kind": r.kind, "breach_id": r.breach_id, "message": r.message,
                 "created_at": r.created_at.isoformat()} for r in rows]

    async def units(self, *, limit: int = 100) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(
                select(TrustWalletUnit).order_by(TrustWalletUnit.created_at.desc()).limit(limit)
            )).scalars().all()
        return [{"id": u.id, "status": u.status, "reason": u.status_reason, "wallet_name": u.wallet_name,
                 "wallet_version": u.wallet_version, "created_at": u.created_at.isoformat()} for u in rows]
