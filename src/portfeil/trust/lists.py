"""Trusted lists: publishing the registry's lists and consuming anyone's.

Publish (ETSI TS 119 612 v2.4.1 XML, XAdES-signed by the scheme operator; and ETSI TS 119 602 v1.1.1 LoTE JSON in a
compact JWS): one list per kind of entity, at stable URLs ``/trust/lists/<name>.xml`` and ``.json``:

============================ ===================================== ======================================
list                          LoTE type (TS 119 602)                service type
============================ ===================================== ======================================
``pid-providers``             EUPIDProvidersList                    SvcType/PID/Issuance (PID CA and IACA)
``attestation-providers``     EUPubEAAProvidersList                 SvcType/PubEAA/Issuance
``wallet-providers``          EUWalletProvidersList                 SvcType/WalletSolution/Issuance
``access-cas``                EUWRPACProvidersList                  SvcType/WRPAC/Issuance
``registration-cas``          EUWRPRCProvidersList                  SvcType/WRPRC/Issuance
============================ ===================================== ======================================

Each list carries one service per trust anchor of its roles (the registry's root plus the external anchors added
by the operator). The sequence number grows by one whenever a list is re-issued: when its content changes, or
when half of its validity (7 days) has passed; NextUpdate is issue time + 7 days.

The XML uses the TS 119 602 list types as TSLType (``trusted_list.LOTE_TYPE_*``); TS 119 612 allows any URI there.
The LoTE JSON follows the field names of the TS 119 602 JSON schema (``LoTE`` → ``ListAndSchemeInformation``,
``TrustedEntitiesList``); it is signed as a compact JWS with ``x5c`` (a JAdES baseline-B profile would add
``sigT``/``x5t#S256``: not done, see docs/trust.md).

Consume (:class:`ListConsumer`): verify against a pinned scheme-operator certificate, refuse a sequence number
lower than the highest seen for that list (kept in ``trust_seen_lists``), refuse an expired list, cache the result
until its NextUpdate, and give the anchors per service type and status.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from portfeil.db import Database
from portfeil.formats import trusted_list as tl
from portfeil.formats.errors import FormatError
from portfeil.formats.jws import sign_compact
from portfeil.pki.certs import cert_to_b64der
from portfeil.pki.roles import Role
from portfeil.trust.anchors import Signer, cert_sha256
from portfeil.trust.errors import TrustError
from portfeil.trust.models import TrustPublication, TrustSeenList

__all__ = [
    "LIST_SPECS",
    "AnchorEntry",
    "ListConsumer",
    "ListSpec",
    "Publication",
    "Publisher",
    "anchors_by_service_type",
]

LIST_VALIDITY = timedelta(days=7)
MEDIA_XML = "application/vnd.etsi.tsl+xml"
MEDIA_LOTE = "application/jose"


@dataclass(frozen=True)
class ListSpec:
    name: str
    roles: tuple[Role, ...]
    lote_type: str
    service_type: str
    title_bg: str
    title_en: str


LIST_SPECS: dict[str, ListSpec] = {
    s.name: s
    for s in (
        ListSpec("pid-providers", (Role.PID_PROVIDER, Role.IACA), tl.LOTE_TYPE_PID_PROVIDERS,
                 tl.SVC_TYPE_PID_ISSUANCE, "Доставчици на PID", "PID providers"),
        ListSpec("attestation-providers", (Role.ATTESTATION_PROVIDER,),
                 "http://uri.etsi.org/19602/LoTEType/EUPubEAAProvidersList", tl.SVC_TYPE_PUB_EAA_ISSUANCE,
                 "Доставчици на удостоверения за атрибути", "Attestation providers"),
        ListSpec("wallet-providers", (Role.WALLET_PROVIDER,), tl.LOTE_TYPE_WALLET_PROVIDERS,
                 tl.SVC_TYPE_WALLET_ISSUANCE, "Доставчици на портфейли", "Wallet providers"),
        ListSpec("access-cas", (Role.RP_ACCESS,), tl.LOTE_TYPE_WRPAC_PROVIDERS, tl.SVC_TYPE_WRPAC_ISSUANCE,
                 "Удостоверители за достъп на доверяващи се страни", "Relying party access CAs"),
        ListSpec("registration-cas", (Role.REGISTRAR,), tl.LOTE_TYPE_WRPRC_PROVIDERS, tl.SVC_TYPE_WRPRC_ISSUANCE,
                 "Издатели на регистрационни удостоверения", "Registration certificate issuers"),
    )
}


@dataclass(frozen=True)
class AnchorEntry:
    """One anchor to list: the certificate, its role, whether it is the registry's own root, since when."""

    role: Role
    certificate: x509.Certificate
    own: bool
    since: datetime


@dataclass(frozen=True)
class Publication:
    name: str
    sequence: int
    media_type: str
    body: bytes
    issued_at: datetime
    next_update: datetime
    digest: str = ""


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _lt(bg: str, en: str) -> tuple[tl.LangText, tl.LangText]:
    return (tl.LangText("bg", bg), tl.LangText("en", en))


class Publisher:
    """Builds, signs, stores and re-issues the published artefacts (lists; also used for the CRL)."""

    def __init__(self, db: Database, public_url: Callable[[str], str]) -> None:
        self.db = db
        self.url = public_url

    async def current(self, name: str) -> Publication | None:
        async with self.db.session() as s:
            row = await s.get(TrustPublication, name)
            if row is None:
                return None
            return Publication(row.name, row.sequence, row.media_type, row.body, row.issued_at, row.next_update,
                               row.digest)

    async def publish(
        self,
        name: str,
        digest: str,
        build: Callable[[int, datetime], Awaitable[bytes]],
        *,
        media_type: str,
        now: datetime,
        validity: timedelta,
        force: bool = False,
    ) -> Publication:
        """The current publication ``name``, re-issued with sequence + 1 when ``digest`` changed or half of its
        validity has passed. Concurrent publishers settle by a compare-and-set on the sequence."""
        for _ in range(10):
            current = await self.current(name)
            if (
                current is not None
                and not force
                and current.digest == digest
                and now < current.issued_at + validity / 2
                and now >= current.issued_at
            ):
                return current
            sequence = (current.sequence + 1) if current else 1
            body = await build(sequence, now)
            next_update = now.replace(microsecond=0) + validity
            async with self.db.transaction() as s:
                if current is None:
                    s.add(TrustPublication(name=name, sequence=sequence, digest=digest, media_type=media_type,
                                           body=body, issued_at=now, next_update=next_update))
                    try:
                        await s.flush()
                    except IntegrityError:
                        continue
                else:
                    result = await s.execute(
                        update(TrustPublication)
                        .where(TrustPublication.name == name, TrustPublication.sequence == current.sequence)
                        .values(sequence=sequence, digest=digest, body=body, issued_at=now,
                                next_update=next_update, media_type=media_type)
                    )
                    if getattr(result, "rowcount", 0) != 1:
                        continue
            return Publication(name, sequence, media_type, body, now, next_update, digest)
        raise TrustError("publication_busy", "the publication is being re-issued concurrently, try again")

    # -- trusted lists --------------------------------------------------------------------------------------
    def list_digest(self, spec: ListSpec, entries: Sequence[AnchorEntry]) -> str:
        return _digest([spec.name, spec.lote_type, [[e.role.value, cert_sha256(e.certificate)] for e in entries]])

    async def trusted_list_xml(
        self, spec: ListSpec, entries: Sequence[AnchorEntry], signer: Signer, *, now: datetime, force: bool = False
    ) -> Publication:
        async def build(sequence: int, at: datetime) -> bytes:
            xml = tl.build_trusted_list(self._scheme(spec, sequence, at), [self._tsp(spec, entries)],
                                        list_id=f"TL-{spec.name}")
            key = signer.issued.key
            if not isinstance(key, ec.EllipticCurvePrivateKey):  # pragma: no cover - CA keys are ECDSA
                raise TrustError("invalid_signer", "the scheme operator key must be ECDSA")
            return tl.sign_trusted_list(xml, key, list(signer.chain), now=at)

        return await self.publish(f"tsl:{spec.name}", self.list_digest(spec, entries), build, media_type=MEDIA_XML,
                                  now=now, validity=LIST_VALIDITY, force=force)

    async def lote_json(
        self, spec: ListSpec, entries: Sequence[AnchorEntry], signer: Signer, *, now: datetime, force: bool = False
    ) -> Publication:
        async def build(sequence: int, at: datetime) -> bytes:
            payload = {"LoTE": self._lote(spec, entries, sequence, at)}
            return sign_compact(payload, signer.issued.key, x5c=list(signer.chain)).encode()

        return await self.publish(f"lote:{spec.name}", self.list_digest(spec, entries), build,
                                  media_type=MEDIA_LOTE, now=now, validity=LIST_VALIDITY, force=force)

    def _operator_names(self) -> tuple[tl.LangText, ...]:
        return _lt("Портфейл — регистър на доверието", "portfeil trust registry")

    def _address(self) -> tl.Address:
        return tl.Address(
            postal=(tl.PostalAddress("en", "1 Example street", "Sofia", "BG", "1000"),),
            electronic=(tl.LangText("en", self.url("/trust/")),),
        )

    def _scheme(self, spec: ListSpec, sequence: int, at: datetime) -> tl.SchemeInformation:
        issued = at.replace(microsecond=0)
        return tl.SchemeInformation(
            sequence_number=sequence,
            tsl_type=spec.lote_type,
            operator_names=self._operator_names(),
            operator_address=self._address(),
            scheme_names=_lt(f"BG: {spec.title_bg}", f"BG: {spec.title_en}"),
            information_uris=(tl.LangText("en", self.url("/trust/")),),
            status_determination_approach=tl.PORTFEIL_STATUS_DETERMINATION,
            community_rules=(tl.LangText("en", tl.PORTFEIL_SCHEME_RULES),),
            territory="BG",
            legal_notices=_lt(
                "Списък на доверени субекти на демонстрационна екосистема (не е официален списък).",
                "List of trusted entities of a demonstration ecosystem (not an official list).",
            ),
            issue_date=issued,
            next_update=issued + LIST_VALIDITY,
            distribution_points=(self.url(f"/trust/lists/{spec.name}.xml"),),
        )

    def _tsp(self, spec: ListSpec, entries: Sequence[AnchorEntry]) -> tl.TrustServiceProvider:
        services = []
        for e in entries:
            cn = e.certificate.subject.rfc4514_string()
            services.append(
                tl.TSPService(
                    type_identifier=spec.service_type,
                    names=(tl.LangText("en", cn[:200]),),
                    identity=tl.DigitalIdentity(certificates=(e.certificate,)),
                    status=tl.STATUS_GRANTED,
                    status_starting_time=e.since.replace(microsecond=0),
                    additional_information=(),
                )
            )
        return tl.TrustServiceProvider(
            names=self._operator_names(),
            address=self._address(),
            information_uris=(tl.LangText("en", self.url("/trust/")),),
            services=tuple(services),
        )

    def _lote(self, spec: ListSpec, entries: Sequence[AnchorEntry], sequence: int, at: datetime) -> dict[str, Any]:
        issued = at.replace(microsecond=0)

        def ml(values: Sequence[tl.LangText]) -> list[dict[str, str]]:
            return [{"lang": v.lang, "value": v.text} for v in values]

        return {
            "ListAndSchemeInformation": {
                "LoTEVersionIdentifier": 1,
                "LoTESequenceNumber": sequence,
                "LoTEType": spec.lote_type,
                "SchemeOperatorName": ml(self._operator_names()),
                "SchemeName": ml(_lt(f"BG: {spec.title_bg}", f"BG: {spec.title_en}")),
                "SchemeInformationURI": [{"lang": "en", "uriValue": self.url("/trust/")}],
                "StatusDeterminationApproach": tl.PORTFEIL_STATUS_DETERMINATION,
                "SchemeTypeCommunityRules": [{"lang": "en", "uriValue": tl.PORTFEIL_SCHEME_RULES}],
                "SchemeTerritory": "BG",
                "ListIssueDateTime": issued.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "NextUpdate": (issued + LIST_VALIDITY).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "DistributionPoints": [self.url(f"/trust/lists/{spec.name}.json")],
            },
            "TrustedEntitiesList": [
                {
                    "TrustedEntityInformation": {
                        "TEName": ml(self._operator_names()),
                        "TEInformationURI": [{"lang": "en", "uriValue": self.url("/trust/")}],
                    },
                    "TrustedEntityServices": [
                        {
                            "ServiceInformation": {
                                "ServiceTypeIdentifier": spec.service_type,
                                "ServiceName": [{"lang": "en", "value": e.certificate.subject.rfc4514_string()}],
                                "ServiceDigitalIdentity": {
                                    "X509Certificates": [{"val": cert_to_b64der(e.certificate)}]
                                },
                                "ServiceStatus": tl.STATUS_GRANTED,
                                "StatusStartingTime": e.since.strftime("%Y-%m-%dT%H:%M:%SZ"),
                            }
                        }
                        for e in entries
                    ],
                }
            ],
        }


# ================================================================================================================
# Consume
# ================================================================================================================


def anchors_by_service_type(
    tlist: tl.TrustedList, *, status: str | Collection[str] = tl.STATUS_GRANTED
) -> dict[str, list[x509.Certificate]]:
    """The certificates of every service with a current ``status`` (granted by default), per service type URI.
    Services with a critical extension that is not understood are left out (TS 119 612 §5.5.9)."""
    out: dict[str, list[x509.Certificate]] = {}
    seen: set[tuple[str, str]] = set()
    for _tsp, svc in tlist.services(None, status):
        if svc.unrecognised_critical_extensions:
            continue
        for cert in svc.identity.certificates:
            key = (svc.type_identifier, cert_sha256(cert))
            if key not in seen:
                seen.add(key)
                out.setdefault(svc.type_identifier, []).append(cert)
    return out


class ListConsumer:
    """Loads trusted lists fetched by the caller (bytes in), verified against pinned scheme-operator certificates,
    with rollback refusal (highest sequence per list in the database) and a cache until NextUpdate."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._cache: dict[str, tl.TrustedList] = {}

    async def load(
        self,
        list_key: str,
        xml: bytes,
        *,
        pinned: x509.Certificate | Sequence[x509.Certificate],
        now: datetime,
        expected_types: str | Collection[str] | None = None,
    ) -> tl.TrustedList:
        """Verify ``xml`` (TS 119 612 §5.7 via :func:`portfeil.formats.trusted_list.verify_trusted_list`) as list
        ``list_key`` (e.g. its URL) and remember its sequence number. Errors: ``trusted_list_rejected`` with
        ``details.reason`` = the format code (``trusted_list_rollback``, ``trusted_list_expired``, ...)."""
        async with self.db.session() as s:
            seen = await s.get(TrustSeenList, list_key)
            min_sequence = seen.highest_sequence if seen else None
        try:
            verified = tl.verify_trusted_list(
                xml, pinned, now=now, min_sequence=min_sequence, expected_types=expected_types
            )
        except FormatError as exc:
            raise TrustError("trusted_list_rejected", "the trusted list was refused", reason=exc.code) from exc
        seq = verified.scheme.sequence_number
        for _ in range(5):
            async with self.db.transaction() as s:
                row = await s.get(TrustSeenList, list_key)
                if row is None:
                    s.add(TrustSeenList(list_key=list_key, highest_sequence=seq,
                                        next_update=verified.scheme.next_update, verified_at=now))
                    try:
                        await s.flush()
                    except IntegrityError:
                        continue
                elif seq < row.highest_sequence:  # a newer list was stored meanwhile
                    raise TrustError("trusted_list_rejected", "the trusted list was refused",
                                     reason="trusted_list_rollback")
                else:
                    row.highest_sequence = seq
                    row.next_update = verified.scheme.next_update
                    row.verified_at = now
            break
        self._cache[list_key] = verified
        return verified

    async def highest_sequence(self, list_key: str) -> int | None:
        async with self.db.session() as s:
            row = await s.get(TrustSeenList, list_key)
            return row.highest_sequence if row else None

    def cached(self, list_key: str, *, now: datetime) -> tl.TrustedList | None:
        """The verified list kept for ``list_key`` while ``now`` is before its NextUpdate; else None (fetch again)."""
        found = self._cache.get(list_key)
        if found is None or found.scheme.next_update is None or now >= found.scheme.next_update:
            self._cache.pop(list_key, None)
            return None
        return found

    async def seen_lists(self) -> list[dict[str, Any]]:
        async with self.db.session() as s:
            rows = (await s.execute(select(TrustSeenList).order_by(TrustSeenList.list_key))).scalars().all()
            return [{"list": r.list_key, "highest_sequence": r.highest_sequence, "next_update": r.next_update}
                    for r in rows]
