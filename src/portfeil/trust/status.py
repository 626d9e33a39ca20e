"""Revocation the wallets can see: Token Status Lists (draft-ietf-oauth-status-list-13) and the CRL of the
relying-party access CA (RFC 5280 §5).

Two status lists, 2 bits per entry (§4.1: VALID 0, INVALID 1, SUSPENDED 2):

* ``rp`` at ``/trust/status/rp``: one entry per registration certificate, signed by the registrar;
* ``wallet-units`` at ``/trust/status/wallet-units``: one entry per wallet unit, signed by the wallet provider.

Indices come from :class:`~portfeil.formats.status_list.IndexAllocator` (keyed pseudo-random permutation, §12.4,
§13.3): the allocator key lives in the ``trust_status_lists`` row and the counter is advanced by a compare-and-set
``UPDATE`` so that concurrent processes never hand out one index twice. The token is rebuilt from the tables on
request and cached briefly (invalidated at once in this process when a status changes).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portfeil.db import Database
from portfeil.formats.errors import FormatError
from portfeil.formats.status_list import AllocatorState, IndexAllocator, StatusList, issue_status_list_jwt
from portfeil.pki.ca import IssuedCertificate
from portfeil.trust.errors import TrustError
from portfeil.trust.models import TrustCertificate, TrustRegistrationCertificate, TrustStatusList, TrustWalletUnit

__all__ = [
    "STATUS_INVALID",
    "STATUS_LISTS",
    "STATUS_SUSPENDED",
    "STATUS_VALID",
    "StatusListSpec",
    "StatusLists",
    "build_crl",
]

STATUS_VALID = 0
STATUS_INVALID = 1
STATUS_SUSPENDED = 2
WALLET_STATUS_VALUES = {"active": STATUS_VALID, "suspended": STATUS_SUSPENDED, "revoked": STATUS_INVALID}


@dataclass(frozen=True)
class StatusListSpec:
    name: str
    path: str
    size: int
    bits: int = 2


STATUS_LISTS: dict[str, StatusListSpec] = {
    "rp": StatusListSpec("rp", "/trust/status/rp", 1 << 16),
    "wallet-units": StatusListSpec("wallet-units", "/trust/status/wallet-units", 1 << 18),
}
TOKEN_TTL = 300
TOKEN_LIFETIME = timedelta(days=1)
CACHE_SECONDS = 60


class StatusLists:
    """Allocation of indices and the signed status list tokens."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tuple[datetime, str]] = {}
        self._lock = asyncio.Lock()

    def invalidate(self, name: str | None = None) -> None:
        if name is None:
            self._cache.clear()
        else:
            self._cache.pop(name, None)

    async def allocate(self, name: str) -> int:
        """A fresh index of list ``name`` (its own short transaction; an index lost to a later failure stays VALID)."""
        spec = STATUS_LISTS[name]
        for attempt in range(100):
            if attempt:
                await asyncio.sleep(0.005 * min(attempt, 20))
            async with self.db.transaction() as s:
                row = await s.get(TrustStatusList, name, with_for_update=True)  # PostgreSQL: serialises callers
                if row is None:
                    state = IndexAllocator(spec.size).state
                    s.add(TrustStatusList(name=name, size=spec.size, bits=spec.bits,
                                          allocator={"size": state.size, "key": state.to_dict()["key"]}, counter=0))
                    try:
                        await s.flush()
                    except IntegrityError:
                        continue
                    row = await s.get(TrustStatusList, name)
                    assert row is not None
                counter = row.counter
                try:
                    allocator = IndexAllocator.from_state(
                        AllocatorState.from_dict({**row.allocator, "counter": counter})
                    )
                    idx = allocator.allocate()
                except FormatError as exc:
                    raise TrustError("status_list_full", "no free entry in the status list") from exc
                result = await s.execute(
                    update(TrustStatusList)
                    .where(TrustStatusList.name == name, TrustStatusList.counter == counter)
                    .values(counter=counter + 1)
                )
                if getattr(result, "rowcount", 0) == 1:
                    return idx
        raise TrustError("status_list_busy", "could not allocate a status list entry, try again")

    async def _entries(self, name: str) -> list[tuple[int, int]]:
        async with self.db.session() as s:
            if name == "rp":
                rows = await s.execute(
                    select(TrustRegistrationCertificate.status_idx, TrustRegistrationCertificate.status).where(
                        TrustRegistrationCertificate.status != STATUS_VALID
                    )
                )
                return [(int(i), int(v)) for i, v in rows]
            rows = await s.execute(
                select(TrustWalletUnit.status_idx, TrustWalletUnit.status).where(TrustWalletUnit.status != "active")
            )
            return [(int(i), WALLET_STATUS_VALUES.get(str(v), STATUS_INVALID)) for i, v in rows]

    async def token(
        self, name: str, *, uri: str, signer: IssuedCertificate, x5c: list[x509.Certificate], now: datetime
    ) -> str:
        """The Status List Token (JWT, §5.1) of list ``name``: ``sub`` = ``uri``, ``exp`` one day, ``ttl`` 300 s."""
        spec = STATUS_LISTS[name]
        cached = self._cache.get(name)
        if cached is not None and now - cached[0] < timedelta(seconds=CACHE_SECONDS) and now >= cached[0]:
            return cached[1]
        async with self._lock:
            status_list = StatusList(spec.size, spec.bits)
            for idx, value in await self._entries(name):
                if 0 <= idx < spec.size:
                    status_list.set(idx, value)
            token = issue_status_list_jwt(
                status_list, uri=uri, key=signer.key, now=now,
                exp=int((now + TOKEN_LIFETIME).timestamp()), ttl=TOKEN_TTL, x5c=x5c,
            )
            self._cache[name] = (now, token)
            return token


_REASONS = {
    "key_compromise": x509.ReasonFlags.key_compromise,
    "cessation_of_operation": x509.ReasonFlags.cessation_of_operation,
    "certificate_hold": x509.ReasonFlags.certificate_hold,
    "superseded": x509.ReasonFlags.superseded,
    "affiliation_changed": x509.ReasonFlags.affiliation_changed,
    "unspecified": x509.ReasonFlags.unspecified,
}
CRL_VALIDITY = timedelta(days=1)


def build_crl(
    ca: IssuedCertificate, revoked: list[TrustCertificate], *, number: int, now: datetime
) -> x509.CertificateRevocationList:
    """An X.509 v2 CRL (RFC 5280 §5.1) signed by ``ca`` with a CRL number (§5.2.3), the authority key identifier
    (§5.2.1), nextUpdate one day on, and per entry the revocation date and reason code (§5.3.1)."""
    this_update = now.replace(microsecond=0)
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(ca.certificate.subject)
        .last_update(this_update)
        .next_update(this_update + CRL_VALIDITY)
        .add_extension(x509.CRLNumber(number), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca.certificate.public_key()),  # type: ignore[arg-type]
            critical=False,
        )
    )
    for cert in revoked:
        assert cert.revoked_at is not None
        entry = (
            x509.RevokedCertificateBuilder()
            .serial_number(int(cert.serial, 16))
            .revocation_date(cert.revoked_at.replace(microsecond=0))
            .add_extension(
                x509.CRLReason(_REASONS.get(cert.revocation_reason or "unspecified", x509.ReasonFlags.unspecified)),
                critical=False,
            )
            .build()
        )
        builder = builder.add_revoked_certificate(entry)
    return builder.sign(ca.key, hashes.SHA256())

