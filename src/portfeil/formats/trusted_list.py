"""ETSI TS 119 612 v2.4.1 trusted lists: parse, verify (enveloped XAdES), query, build and sign.

Pure code: bytes and certificates in, frozen dataclasses out, one error type (:class:`FormatError`).

* :func:`parse_trusted_list` reads a list without checking its signature (inspection only);
* :func:`verify_trusted_list` checks the enveloped XAdES-BES signature against pinned certificates (TS 119 612
  §5.7), that the signature covers the whole list, the sequence number (rollback), the validity window and the
  list type, and returns only what the signature covers;
* :func:`build_trusted_list` and :func:`sign_trusted_list` publish our own lists (the Bulgarian EUDI trust
  registry: PID providers, wallet providers, access-certificate CAs).

The EUDI service types come from ETSI TS 119 602 v1.1.1 (Lists of Trusted Entities), which defines them for its
own LoTE format; portfeil carries them in a TS 119 612 XML list (TS 119 612 allows any service type URI). No
``uri.etsi.org`` identifier is invented here: portfeil's own identifiers live under ``https://portfeil.example/``.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidCertificate, SignXMLException
from signxml.xades.xades import (
    XAdESDataObjectFormat,
    XAdESSignatureConfiguration,
    XAdESSigner,
    XAdESVerifier,
)

from portfeil.formats.errors import FormatError
from portfeil.formats.xml import MAX_XML_BYTES, parse_xml, safe_parser

# --- namespaces (TS 119 612 Annex C/D) --------------------------------------------------------------------------
NS_TSL = "http://uri.etsi.org/02231/v2#"
NS_TSLX = "http://uri.etsi.org/02231/v2/additionaltypes#"
NS_ECC = "http://uri.etsi.org/TrstSvc/SvcInfoExt/eSigDir-1999-93-EC-TrustedList/#"
NS_DS = "http://www.w3.org/2000/09/xmldsig#"
NS_XADES = "http://uri.etsi.org/01903/v1.3.2#"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
TSL_TAG = "http://uri.etsi.org/19612/TSLTag"

# --- TS 119 612 §5.3.3 list types -----------------------------------------------------------------------------
TSL_TYPE_EU_GENERIC = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUgeneric"
TSL_TYPE_EU_LOTL = "http://uri.etsi.org/TrstSvc/TrustedList/TSLType/EUlistofthelists"
# TS 119 602 v1.1.1 list (LoTE) types, used for portfeil's EUDI lists.
LOTE_TYPE_PID_PROVIDERS = "http://uri.etsi.org/19602/LoTEType/EUPIDProvidersList"
LOTE_TYPE_WALLET_PROVIDERS = "http://uri.etsi.org/19602/LoTEType/EUWalletProvidersList"
LOTE_TYPE_WRPAC_PROVIDERS = "http://uri.etsi.org/19602/LoTEType/EUWRPACProvidersList"
LOTE_TYPE_WRPRC_PROVIDERS = "http://uri.etsi.org/19602/LoTEType/EUWRPRCProvidersList"
# portfeil's own list type (NOT an ETSI identifier) for a list mixing the EUDI provider kinds above.
PORTFEIL_TSL_TYPE_EUDI = "https://portfeil.example/trusted-list/TSLType/BG-EUDI"
DEFAULT_ACCEPTED_TYPES: frozenset[str] = frozenset(
    {
        PORTFEIL_TSL_TYPE_EUDI,
        TSL_TYPE_EU_GENERIC,
        TSL_TYPE_EU_LOTL,
        LOTE_TYPE_PID_PROVIDERS,
        LOTE_TYPE_WALLET_PROVIDERS,
        LOTE_TYPE_WRPAC_PROVIDERS,
        LOTE_TYPE_WRPRC_PROVIDERS,
    }
)

# --- TS 119 612 §5.5.1 service types (the ones portfeil queries) ----------------------------------------------
SVC_TYPE_CA_QC = "http://uri.etsi.org/TrstSvc/Svctype/CA/QC"
SVC_TYPE_CA_PKC = "http://uri.etsi.org/TrstSvc/Svctype/CA/PKC"
SVC_TYPE_OCSP_QC = "http://uri.etsi.org/TrstSvc/Svctype/Certstatus/OCSP/QC"
SVC_TYPE_TSA_QTST = "http://uri.etsi.org/TrstSvc/Svctype/TSA/QTST"
SVC_TYPE_EDS_REM_Q = "http://uri.etsi.org/TrstSvc/Svctype/EDS/REM/Q"
SVC_TYPE_QES_VALIDATION_Q = "http://uri.etsi.org/TrstSvc/Svctype/QESValidation/Q"
SVC_TYPE_REMOTE_QSIGCD_Q = "http://uri.etsi.org/TrstSvc/Svctype/RemoteQSigCDManagement/Q"
# TS 119 602 v1.1.1 service types (EUDI): PID providers, wallet providers, access (WRPAC) and registration
# (WRPRC) certificate providers, public-sector EAA providers.
SVC_TYPE_PID_ISSUANCE = "http://uri.etsi.org/19602/SvcType/PID/Issuance"
SVC_TYPE_PID_REVOCATION = "http://uri.etsi.org/19602/SvcType/PID/Revocation"
SVC_TYPE_WALLET_ISSUANCE = "http://uri.etsi.org/19602/SvcType/WalletSolution/Issuance"
SVC_TYPE_WALLET_REVOCATION = "http://uri.etsi.org/19602/SvcType/WalletSolution/Revocation"
SVC_TYPE_WRPAC_ISSUANCE = "http://uri.etsi.org/19602/SvcType/WRPAC/Issuance"
SVC_TYPE_WRPAC_REVOCATION = "http://uri.etsi.org/19602/SvcType/WRPAC/Revocation"
SVC_TYPE_WRPRC_ISSUANCE = "http://uri.etsi.org/19602/SvcType/WRPRC/Issuance"
SVC_TYPE_PUB_EAA_ISSUANCE = "http://uri.etsi.org/19602/SvcType/PubEAA/Issuance"

# --- TS 119 612 §5.5.4 statuses --------------------------------------------------------------------------------
STATUS_GRANTED = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/granted"
STATUS_WITHDRAWN = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/withdrawn"
STATUS_RECOGNISED_NATIONAL = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/recognisedatnationallevel"
STATUS_DEPRECATED_NATIONAL = "http://uri.etsi.org/TrstSvc/TrustedList/Svcstatus/deprecatedatnationallevel"
STATUS_DETERMINATION_EU = "http://uri.etsi.org/TrstSvc/TrustedList/StatusDetn/EUappropriate"
MIME_TSL_XML = "application/vnd.etsi.tsl+xml"

# portfeil's own identifiers (NOT ETSI ones): scheme rules and status determination of our EUDI lists.
PORTFEIL_SCHEME_RULES = "https://portfeil.example/trusted-list/schemerules/BG-EUDI"
PORTFEIL_STATUS_DETERMINATION = "https://portfeil.example/trusted-list/StatusDetn/BG-EUDI"

_ADDITIONAL_SERVICE_INFO = f"{{{NS_TSL}}}AdditionalServiceInformation"
_QUALIFICATIONS = f"{{{NS_ECC}}}Qualifications"
_KNOWN_EXTENSIONS = frozenset(
    {
        _ADDITIONAL_SERVICE_INFO,
        _QUALIFICATIONS,
        f"{{{NS_TSLX}}}TakenOverBy",
        f"{{{NS_TSL}}}ExpiredCertsRevocationInfo",
    }
)


def _t(name: str, ns: str = NS_TSL) -> str:
    return f"{{{ns}}}{name}"


# ================================================================================================================
# Data model
# ================================================================================================================


@dataclass(frozen=True)
class LangText:
    """A multilingual string or URI (TS 119 612 §5.1.4: ``xml:lang`` on every Name/URI)."""

    lang: str
    text: str


def pick_lang(values: Iterable[LangText], lang: str = "en") -> str | None:
    """The first value in ``lang``, else the first English one, else the first one at all."""
    values = tuple(values)
    for wanted in (lang, "en"):
        for value in values:
            if value.lang == wanted:
                return value.text
    return values[0].text if values else None


@dataclass(frozen=True)
class PostalAddress:
    """TS 119 612 §5.3.5.1 postal address in one language."""

    lang: str
    street: str
    locality: str
    country: str
    postal_code: str | None = None
    state_or_province: str | None = None


@dataclass(frozen=True)
class Address:
    """Postal and electronic addresses (TS 119 612 §5.3.5)."""

    postal: tuple[PostalAddress, ...] = ()
    electronic: tuple[LangText, ...] = ()


@dataclass(frozen=True)
class DigitalIdentity:
    """A ServiceDigitalIdentity (TS 119 612 §5.5.3).

    ``undecodable_certificates`` keeps the DER of listed certificates that are not strict DER (real lists carry a
    few, e.g. an encoded DEFAULT ``critical`` flag) and which ``cryptography`` therefore refuses to load.
    """

    certificates: tuple[x509.Certificate, ...] = ()
    subject_names: tuple[str, ...] = ()
    skis: tuple[bytes, ...] = ()
    others: tuple[str, ...] = ()
    undecodable_certificates: tuple[bytes, ...] = ()

    def all_skis(self) -> frozenset[bytes]:
        """The listed SKIs plus those of the listed certificates."""
        out = set(self.skis)
        for cert in self.certificates:
            ski = subject_key_identifier(cert)
            if ski is not None:
                out.add(ski)
        return frozenset(out)


@dataclass(frozen=True)
class Qualification:
    """One QualificationElement of the Qualifications extension (TS 119 612 §5.5.9.2)."""

    qualifiers: tuple[str, ...]
    policy_oids: tuple[str, ...] = ()
    criteria_assert: str | None = None


@dataclass(frozen=True, kw_only=True)
class ServiceRecord:
    """What a service and each of its history instances share (TS 119 612 §5.5 and §5.6)."""

    type_identifier: str
    names: tuple[LangText, ...]
    identity: DigitalIdentity
    status: str
    status_starting_time: datetime
    additional_information: tuple[str, ...] = ()
    qualifications: tuple[Qualification, ...] = ()
    unrecognised_critical_extensions: tuple[str, ...] = ()

    def name(self, lang: str = "en") -> str | None:
        return pick_lang(self.names, lang)


@dataclass(frozen=True, kw_only=True)
class ServiceHistoryInstance(ServiceRecord):
    """A past state of a service (TS 119 612 §5.6)."""


@dataclass(frozen=True, kw_only=True)
class TSPService(ServiceRecord):
    """A trust service and its history (TS 119 612 §5.5)."""

    supply_points: tuple[str, ...] = ()
    definition_uris: tuple[LangText, ...] = ()
    history: tuple[ServiceHistoryInstance, ...] = ()

    def status_at(self, when: datetime) -> str | None:
        """The service status at ``when`` (current entry or the history instance in force then), TS 119 612 §5.6."""
        if when >= self.status_starting_time:
            return self.status
        best: ServiceHistoryInstance | None = None
        for inst in self.history:
            if inst.status_starting_time <= when and (
                best is None or inst.status_starting_time > best.status_starting_time
            ):
                best = inst
        return best.status if best else None


@dataclass(frozen=True, kw_only=True)
class TrustServiceProvider:
    """A TSP entry (TS 119 612 §5.4)."""

    names: tuple[LangText, ...]
    address: Address
    information_uris: tuple[LangText, ...]
    trade_names: tuple[LangText, ...] = ()
    services: tuple[TSPService, ...] = ()

    def name(self, lang: str = "en") -> str | None:
        return pick_lang(self.names, lang)


@dataclass(frozen=True, kw_only=True)
class OtherTSLPointer:
    """A pointer to another list with the certificates allowed to sign it (TS 119 612 §5.3.13)."""

    location: str
    certificates: tuple[x509.Certificate, ...] = ()
    territory: str | None = None
    tsl_type: str | None = None
    mime_type: str | None = None
    operator_names: tuple[LangText, ...] = ()
    community_rules: tuple[LangText, ...] = ()


@dataclass(frozen=True, kw_only=True)
class SchemeInformation:
    """The scheme information of a list (TS 119 612 §5.3)."""

    sequence_number: int
    tsl_type: str
    operator_names: tuple[LangText, ...]
    operator_address: Address
    scheme_names: tuple[LangText, ...]
    information_uris: tuple[LangText, ...]
    status_determination_approach: str
    territory: str
    legal_notices: tuple[LangText, ...]
    issue_date: datetime
    next_update: datetime | None
    version: int = 6
    community_rules: tuple[LangText, ...] = ()
    historical_information_period: int | None = 65535
    pointers: tuple[OtherTSLPointer, ...] = ()
    distribution_points: tuple[str, ...] = ()

    def operator_name(self, lang: str = "en") -> str | None:
        return pick_lang(self.operator_names, lang)


@dataclass(frozen=True)
class IssuerMatch:
    """The listed service that issued a certificate; ``signature_verified`` says whether the listed certificate's
    key verified the certificate's signature (False when the service is listed by name/SKI only)."""

    provider: TrustServiceProvider
    service: TSPService
    certificate: x509.Certificate | None
    signature_verified: bool


@dataclass(frozen=True, kw_only=True)
class TrustedList:
    """A parsed trusted list. ``signer``/``signing_time`` are set only by :func:`verify_trusted_list`."""

    scheme: SchemeInformation
    providers: tuple[TrustServiceProvider, ...] = ()
    list_id: str | None = None
    signer: x509.Certificate | None = field(default=None, compare=False)
    signing_time: datetime | None = field(default=None, compare=False)

    # --- queries -------------------------------------------------------------------------------------------
    def services(
        self, type_uri: str | Collection[str] | None = None, status: str | Collection[str] | None = None
    ) -> Iterator[tuple[TrustServiceProvider, TSPService]]:
        """Every (provider, service) whose current type and status match (None matches all)."""
        types = _as_set(type_uri)
        statuses = _as_set(status)
        for tsp in self.providers:
            for svc in tsp.services:
                if types is not None and svc.type_identifier not in types:
                    continue
                if statuses is not None and svc.status not in statuses:
                    continue
                yield tsp, svc

    def trust_anchors(
        self, type_uri: str | Collection[str] = SVC_TYPE_CA_QC, status: str | Collection[str] = STATUS_GRANTED
    ) -> list[x509.Certificate]:
        """The certificates of the matching services, e.g. every granted CA/QC: the trust anchors for QC chains.

        Services carrying a critical extension this module does not understand are skipped (TS 119 612
        §5.5.9: a critical extension that is not understood makes the entry unusable).
        """
        out: list[x509.Certificate] = []
        seen: set[bytes] = set()
        for _, svc in self.services(type_uri, status):
            if svc.unrecognised_critical_extensions:
                continue
            for cert in svc.identity.certificates:
                fp = cert.fingerprint(hashes.SHA256())
                if fp not in seen:
                    seen.add(fp)
                    out.append(cert)
        return out

    def find_issuers(
        self, cert: x509.Certificate, *, type_uri: str | Collection[str] | None = None
    ) -> list[IssuerMatch]:
        """Every listed TSP service that issued ``cert`` (one CA certificate is often listed under several
        services, e.g. CA/QC and CA/PKC, or a withdrawn and a granted entry): the issuer DN equals the service
        certificate's subject, the AKI equals its SKI, and the listed key verifies ``cert``'s signature.
        Services listed only by SKI (no certificate) match on the AKI alone, with ``signature_verified=False``,
        after all verified matches. Callers deciding trust check ``match.service.status_at(...)``."""
        aki = authority_key_identifier(cert)
        types = _as_set(type_uri)
        verified: list[IssuerMatch] = []
        by_ski: list[IssuerMatch] = []
        for tsp in self.providers:
            for svc in tsp.services:
                if types is not None and svc.type_identifier not in types:
                    continue
                for listed in svc.identity.certificates:
                    if listed.subject != cert.issuer:
                        continue
                    ski = subject_key_identifier(listed)
                    if aki is not None and ski is not None and aki != ski:
                        continue
                    if _signed_by(cert, listed):
                        verified.append(IssuerMatch(tsp, svc, listed, True))
                        break
                if not svc.identity.certificates and aki is not None and aki in svc.identity.skis:
                    by_ski.append(IssuerMatch(tsp, svc, None, False))
        return verified + by_ski

    def find_issuer(
        self, cert: x509.Certificate, *, type_uri: str | Collection[str] | None = None
    ) -> IssuerMatch | None:
        """The first of :meth:`find_issuers` (a verified match if there is one), or None."""
        matches = self.find_issuers(cert, type_uri=type_uri)
        return matches[0] if matches else None

    def pointer(self, territory: str, *, mime_type: str | None = MIME_TSL_XML) -> OtherTSLPointer | None:
        """The pointer (from a LOTL) to ``territory``'s list in ``mime_type`` (XML by default)."""
        for p in self.scheme.pointers:
            if p.territory == territory and (p.mime_type == mime_type or mime_type is None):
                return p
        return None


def _as_set(value: str | Collection[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return frozenset({value})
    return frozenset(value)


def subject_key_identifier(cert: x509.Certificate) -> bytes | None:
    """The SKI extension value, or None (also when the extension does not decode)."""
    try:
        return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except (x509.ExtensionNotFound, ValueError):
        return None


def authority_key_identifier(cert: x509.Certificate) -> bytes | None:
    """The AKI keyIdentifier, or None."""
    try:
        return cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    except (x509.ExtensionNotFound, ValueError):
        return None


def _signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# ================================================================================================================
# Parsing (TS 119 612 §5)
# ================================================================================================================


def _child(el: etree._Element, name: str, ns: str = NS_TSL) -> etree._Element | None:
    return el.find(_t(name, ns))


def _req(el: etree._Element, name: str, ns: str = NS_TSL) -> etree._Element:
    found = el.find(_t(name, ns))
    if found is None:
        raise FormatError("trusted_list_malformed", f"missing element {name}")
    return found


def _text(el: etree._Element | None) -> str:
    if el is None:
        return ""
    return (el.text or "").strip()


def _req_text(el: etree._Element, name: str, ns: str = NS_TSL) -> str:
    value = _text(_req(el, name, ns))
    if not value:
        raise FormatError("trusted_list_malformed", f"empty element {name}")
    return value


def _lang_texts(el: etree._Element | None, child: str) -> tuple[LangText, ...]:
    if el is None:
        return ()
    return tuple(LangText(c.get(XML_LANG) or "", _text(c)) for c in el.findall(_t(child)))


def _datetime(value: str, what: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise FormatError("trusted_list_malformed", f"{what} is not an xs:dateTime") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # TS 119 612 §5.1.4: times are UTC
    return parsed.astimezone(UTC)


def _int(value: str, what: str) -> int:
    if not re.fullmatch(r"\d{1,18}", value):
        raise FormatError("trusted_list_malformed", f"{what} is not a non-negative integer")
    return int(value)


def _b64(value: str, what: str) -> bytes:
    try:
        return base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise FormatError("trusted_list_malformed", f"{what} is not base64") from exc


def _address(el: etree._Element | None) -> Address:
    if el is None:
        return Address()
    postal: list[PostalAddress] = []
    pas = _child(el, "PostalAddresses")
    if pas is not None:
        for pa in pas.findall(_t("PostalAddress")):
            postal.append(
                PostalAddress(
                    lang=pa.get(XML_LANG) or "",
                    street=_text(_child(pa, "StreetAddress")),
                    locality=_text(_child(pa, "Locality")),
                    country=_text(_child(pa, "CountryName")),
                    postal_code=_text(_child(pa, "PostalCode")) or None,
                    state_or_province=_text(_child(pa, "StateOrProvince")) or None,
                )
            )
    return Address(tuple(postal), _lang_texts(_child(el, "ElectronicAddress"), "URI"))


def _digital_identities(els: Iterable[etree._Element]) -> DigitalIdentity:
    certs: list[x509.Certificate] = []
    bad: list[bytes] = []
    names: list[str] = []
    skis: list[bytes] = []
    others: list[str] = []
    for sdi in els:
        for did in sdi.findall(_t("DigitalId")):
            for c in did:
                if not isinstance(c.tag, str):
                    continue
                local = etree.QName(c).localname
                if local == "X509Certificate":
                    der = _b64(_text(c), "X509Certificate")
                    try:
                        certs.append(x509.load_der_x509_certificate(der))
                    except ValueError:
                        bad.append(der)
                elif local == "X509SubjectName":
                    names.append(_text(c))
                elif local == "X509SKI":
                    skis.append(_b64(_text(c), "X509SKI"))
                elif local == "Other":
                    others.append(_text(c))
    return DigitalIdentity(tuple(certs), tuple(names), tuple(skis), tuple(others), tuple(bad))


def _extensions(el: etree._Element | None) -> tuple[tuple[str, ...], tuple[Qualification, ...], tuple[str, ...]]:
    infos: list[str] = []
    quals: list[Qualification] = []
    unknown: list[str] = []
    if el is None:
        return (), (), ()
    for ext in el.findall(_t("Extension")):
        critical = (ext.get("Critical") or "").strip().lower() in ("true", "1")
        for content in ext:
            if not isinstance(content.tag, str):
                continue
            if content.tag == _ADDITIONAL_SERVICE_INFO:
                uri = _text(_child(content, "URI"))
                if uri:
                    infos.append(uri)
            elif content.tag == _QUALIFICATIONS:
                for qe in content.findall(_t("QualificationElement", NS_ECC)):
                    qualifiers = tuple(
                        q.get("uri") or _text(q)
                        for q in qe.iterfind(f"{_t('Qualifiers', NS_ECC)}/{_t('Qualifier', NS_ECC)}")
                    )
                    criteria = _child(qe, "CriteriaList", NS_ECC)
                    oids = tuple(_text(i) for i in qe.iter(_t("Identifier", NS_XADES)))
                    quals.append(
                        Qualification(qualifiers, oids, criteria.get("assert") if criteria is not None else None)
                    )
            elif content.tag not in _KNOWN_EXTENSIONS and critical:
                unknown.append(etree.QName(content).localname)
    return tuple(infos), tuple(quals), tuple(unknown)


def _record_fields(el: etree._Element) -> dict[str, Any]:
    infos, quals, unknown = _extensions(_child(el, "ServiceInformationExtensions"))
    return {
        "type_identifier": _req_text(el, "ServiceTypeIdentifier"),
        "names": _lang_texts(_child(el, "ServiceName"), "Name"),
        "identity": _digital_identities(el.findall(_t("ServiceDigitalIdentity"))),
        "status": _req_text(el, "ServiceStatus"),
        "status_starting_time": _datetime(_req_text(el, "StatusStartingTime"), "StatusStartingTime"),
        "additional_information": infos,
        "qualifications": quals,
        "unrecognised_critical_extensions": unknown,
    }


def _service(el: etree._Element) -> TSPService:
    info = _req(el, "ServiceInformation")
    history = _child(el, "ServiceHistory")
    instances = tuple(
        ServiceHistoryInstance(**_record_fields(h))
        for h in (history.findall(_t("ServiceHistoryInstance")) if history is not None else [])
    )
    ssp = _child(info, "ServiceSupplyPoints")
    return TSPService(
        **_record_fields(info),
        supply_points=tuple(_text(s) for s in ssp.findall(_t("ServiceSupplyPoint"))) if ssp is not None else (),
        definition_uris=_lang_texts(_child(info, "TSPServiceDefinitionURI"), "URI"),
        history=instances,
    )


def _provider(el: etree._Element) -> TrustServiceProvider:
    info = _req(el, "TSPInformation")
    services = _child(el, "TSPServices")
    return TrustServiceProvider(
        names=_lang_texts(_req(info, "TSPName"), "Name"),
        trade_names=_lang_texts(_child(info, "TSPTradeName"), "Name"),
        address=_address(_child(info, "TSPAddress")),
        information_uris=_lang_texts(_child(info, "TSPInformationURI"), "URI"),
        services=tuple(_service(s) for s in services.findall(_t("TSPService"))) if services is not None else (),
    )


def _pointer(el: etree._Element) -> OtherTSLPointer:
    identity = _digital_identities(el.iterfind(f"{_t('ServiceDigitalIdentities')}/{_t('ServiceDigitalIdentity')}"))
    fields: dict[str, Any] = {}
    ai = _child(el, "AdditionalInformation")
    for oi in ai.findall(_t("OtherInformation")) if ai is not None else []:
        for c in oi:
            if not isinstance(c.tag, str):
                continue
            if c.tag == _t("TSLType"):
                fields["tsl_type"] = _text(c)
            elif c.tag == _t("SchemeTerritory"):
                fields["territory"] = _text(c)
            elif c.tag == _t("MimeType", NS_TSLX):
                fields["mime_type"] = _text(c)
            elif c.tag == _t("SchemeOperatorName"):
                fields["operator_names"] = _lang_texts(c, "Name")
            elif c.tag == _t("SchemeTypeCommunityRules"):
                fields["community_rules"] = _lang_texts(c, "URI")
    return OtherTSLPointer(location=_req_text(el, "TSLLocation"), certificates=identity.certificates, **fields)


def _scheme(si: etree._Element) -> SchemeInformation:
    nu = _child(si, "NextUpdate")
    nu_text = _text(_child(nu, "dateTime")) if nu is not None else ""
    hip = _text(_child(si, "HistoricalInformationPeriod"))
    pointers = _child(si, "PointersToOtherTSL")
    dps = _child(si, "DistributionPoints")
    return SchemeInformation(
        version=_int(_req_text(si, "TSLVersionIdentifier"), "TSLVersionIdentifier"),
        sequence_number=_int(_req_text(si, "TSLSequenceNumber"), "TSLSequenceNumber"),
        tsl_type=_req_text(si, "TSLType"),
        operator_names=_lang_texts(_req(si, "SchemeOperatorName"), "Name"),
        operator_address=_address(_child(si, "SchemeOperatorAddress")),
        scheme_names=_lang_texts(_child(si, "SchemeName"), "Name"),
        information_uris=_lang_texts(_child(si, "SchemeInformationURI"), "URI"),
        status_determination_approach=_text(_child(si, "StatusDeterminationApproach")),
        community_rules=_lang_texts(_child(si, "SchemeTypeCommunityRules"), "URI"),
        territory=_req_text(si, "SchemeTerritory"),
        legal_notices=_lang_texts(_child(si, "PolicyOrLegalNotice"), "TSLLegalNotice"),
        historical_information_period=_int(hip, "HistoricalInformationPeriod") if hip else None,
        pointers=tuple(_pointer(p) for p in pointers.findall(_t("OtherTSLPointer"))) if pointers is not None else (),
        issue_date=_datetime(_req_text(si, "ListIssueDateTime"), "ListIssueDateTime"),
        next_update=_datetime(nu_text, "NextUpdate") if nu_text else None,
        distribution_points=tuple(_text(u) for u in dps.findall(_t("URI"))) if dps is not None else (),
    )


def _parse_root(root: etree._Element) -> TrustedList:
    if root.tag != _t("TrustServiceStatusList"):
        raise FormatError("trusted_list_not_tsl", "the document is not a TrustServiceStatusList")
    tspl = _child(root, "TrustServiceProviderList")
    return TrustedList(
        scheme=_scheme(_req(root, "SchemeInformation")),
        providers=tuple(_provider(p) for p in tspl.findall(_t("TrustServiceProvider"))) if tspl is not None else (),
        list_id=root.get("Id"),
    )


def parse_trusted_list(xml: bytes, *, max_bytes: int = MAX_XML_BYTES) -> TrustedList:
    """Parse a TS 119 612 list WITHOUT checking its signature (inspection, diagnostics). Use
    :func:`verify_trusted_list` for anything that decides trust."""
    root = parse_xml(xml, max_bytes=max_bytes)
    try:
        return _parse_root(root)
    except FormatError:
        raise
    except Exception as exc:  # defensive: malformed structures must surface as FormatError only
        raise FormatError("trusted_list_malformed", "the trusted list structure is not valid") from exc


# ================================================================================================================
# Verification (TS 119 612 §5.7, XAdES-BES enveloped signature)
# ================================================================================================================


_ALLOWED_TRANSFORMS = frozenset(
    {
        "http://www.w3.org/2000/09/xmldsig#enveloped-signature",
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0.value,
        CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0_WITH_COMMENTS.value,
        CanonicalizationMethod.CANONICAL_XML_1_0.value,
        CanonicalizationMethod.CANONICAL_XML_1_1.value,
    }
)
"""TS 119 612 §5.7.1 / EN 319 132-1: enveloped signature plus canonicalisation; anything else (XPath filters,
XSLT, base64) could make the digest cover something other than the list, and signxml ignores what it does not know.
"""


def _keyinfo_certificate(sig: etree._Element) -> x509.Certificate:
    el = sig.find(f"{{{NS_DS}}}KeyInfo/{{{NS_DS}}}X509Data/{{{NS_DS}}}X509Certificate")
    if el is None:
        raise FormatError("trusted_list_signer_unknown", "the signature carries no signing certificate")
    try:
        return x509.load_der_x509_certificate(_b64(_text(el), "X509Certificate"))
    except (ValueError, FormatError) as exc:
        raise FormatError("trusted_list_signer_unknown", "the signing certificate does not decode") from exc


def verify_trusted_list(
    xml: bytes,
    signing_certs: x509.Certificate | Iterable[x509.Certificate],
    *,
    now: datetime,
    min_sequence: int | None = None,
    expected_types: str | Collection[str] | None = None,
    max_bytes: int = MAX_XML_BYTES,
) -> TrustedList:
    """Verify a signed TS 119 612 list and return what its signature covers.

    Checks, in order (each failure a :class:`FormatError` with the code shown):

    1. safe XML (``xml_*``), root is a TrustServiceStatusList (``trusted_list_not_tsl``);
    2. exactly one enveloped ``ds:Signature`` child of the root (``trusted_list_unsigned`` /
       ``trusted_list_signature_invalid``) with a reference to the whole list, URI ``""`` or ``#<root Id>``
       (``trusted_list_signature_partial``), a unique list Id and only enveloped/C14N transforms
       (``trusted_list_signature_invalid``);
    3. the certificate in ``ds:KeyInfo`` is one of the pinned ``signing_certs`` (``trusted_list_signer_not_pinned``)
       and valid at ``now`` (``trusted_list_signer_expired``);
    4. the XAdES signature, every reference digest and the SigningCertificate(V2) digest verify (signxml's
       XAdESVerifier; RSA, RSA-PSS or ECDSA with SHA-256/384/512; SHA-1 refused) (``trusted_list_signature_invalid``);
    5. the list is parsed ONLY from the verified, canonicalised bytes (no signature wrapping);
    6. TSL type (``trusted_list_wrong_type``), sequence number not below ``min_sequence``
       (``trusted_list_rollback``), issued no later than ``now`` (``trusted_list_not_yet_valid``) and NextUpdate
       after ``now`` (``trusted_list_expired``; a closed list without NextUpdate is expired too).
    """
    if now.tzinfo is None:
        raise FormatError("naive_datetime", "now must be timezone-aware")
    pinned = [signing_certs] if isinstance(signing_certs, x509.Certificate) else list(signing_certs)
    root = parse_xml(xml, max_bytes=max_bytes)
    if root.tag != _t("TrustServiceStatusList"):
        raise FormatError("trusted_list_not_tsl", "the document is not a TrustServiceStatusList")

    all_sigs = list(root.iter(f"{{{NS_DS}}}Signature"))
    if not all_sigs:
        raise FormatError("trusted_list_unsigned", "the trusted list is not signed")
    if len(all_sigs) != 1 or all_sigs[0].getparent() is not root:
        raise FormatError("trusted_list_signature_invalid", "expected exactly one enveloped signature")
    sig = all_sigs[0]
    root_id = root.get("Id")
    whole = {""} | ({f"#{root_id}"} if root_id else set())
    refs = sig.findall(f"{{{NS_DS}}}SignedInfo/{{{NS_DS}}}Reference")
    if not any(r.get("URI") in whole for r in refs):
        raise FormatError("trusted_list_signature_partial", "the signature does not cover the whole list")
    for ref in refs:
        for transform in ref.iterfind(f"{{{NS_DS}}}Transforms/{{{NS_DS}}}Transform"):
            if transform.get("Algorithm") not in _ALLOWED_TRANSFORMS:
                raise FormatError("trusted_list_signature_invalid", "the signature uses a transform not allowed here")
    if root_id:
        # signxml resolves "#id" through any attribute called Id/ID/id: the list's Id must be unique across all
        same = root.xpath("//*[@*[local-name()='Id' or local-name()='ID' or local-name()='id']=$i]", i=root_id)
        if len(cast(list[Any], same)) != 1:
            raise FormatError("trusted_list_signature_invalid", "the list Id is not unique")

    signer = _keyinfo_certificate(sig)
    signer_der = signer.public_bytes(serialization.Encoding.DER)
    match = next((c for c in pinned if c.public_bytes(serialization.Encoding.DER) == signer_der), None)
    if match is None:
        raise FormatError("trusted_list_signer_not_pinned", "the list is signed by a certificate that is not pinned")
    if not (match.not_valid_before_utc <= now <= match.not_valid_after_utc):
        raise FormatError("trusted_list_signer_expired", "the signing certificate is not valid at this time")

    config = XAdESSignatureConfiguration(
        expect_references=True,
        location="./",
        verification_time=now,
        signature_methods=frozenset(
            {
                SignatureMethod.RSA_SHA256,
                SignatureMethod.RSA_SHA384,
                SignatureMethod.RSA_SHA512,
                SignatureMethod.SHA256_RSA_MGF1,
                SignatureMethod.SHA384_RSA_MGF1,
                SignatureMethod.SHA512_RSA_MGF1,
                SignatureMethod.ECDSA_SHA256,
                SignatureMethod.ECDSA_SHA384,
                SignatureMethod.ECDSA_SHA512,
            }
        ),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256, DigestAlgorithm.SHA384, DigestAlgorithm.SHA512}),
    )
    try:
        results = XAdESVerifier().verify(bytes(xml), x509_cert=match, parser=safe_parser(), expect_config=config)
    except InvalidCertificate as exc:
        raise FormatError("trusted_list_signer_expired", "the signing certificate is not valid") from exc
    except (SignXMLException, InvalidSignature) as exc:
        raise FormatError("trusted_list_signature_invalid", "the trusted list signature does not verify") from exc
    except Exception as exc:  # signxml/lxml internals on hostile input: still only FormatError escapes
        raise FormatError("trusted_list_signature_invalid", "the trusted list signature does not verify") from exc

    signed_root: etree._Element | None = None
    signing_time: datetime | None = None
    for res in results:
        el = res.signed_xml
        if el is None:
            continue
        if el.tag == _t("TrustServiceStatusList") and signed_root is None:
            signed_root = el
        props = getattr(res, "signed_properties", None)
        if props is not None:
            st = _text(props.find(_t("SigningTime", NS_XADES)))
            if st:
                signing_time = _datetime(st, "SigningTime")
    if signed_root is None:
        raise FormatError("trusted_list_signature_partial", "the signature does not cover the whole list")
    try:
        tl = _parse_root(signed_root)
    except FormatError:
        raise
    except Exception as exc:
        raise FormatError("trusted_list_malformed", "the trusted list structure is not valid") from exc

    types = _as_set(expected_types) or DEFAULT_ACCEPTED_TYPES
    scheme = tl.scheme
    if scheme.tsl_type not in types:
        raise FormatError("trusted_list_wrong_type", "the list type is not the expected one")
    if min_sequence is not None and scheme.sequence_number < min_sequence:
        raise FormatError("trusted_list_rollback", "the sequence number is lower than one already seen")
    if scheme.issue_date > now:
        raise FormatError("trusted_list_not_yet_valid", "the list is issued in the future")
    if scheme.next_update is None or scheme.next_update <= now:
        raise FormatError("trusted_list_expired", "the list is past its next update (or closed)")
    return TrustedList(
        scheme=scheme, providers=tl.providers, list_id=tl.list_id, signer=match, signing_time=signing_time
    )


def verify_pointed_list(
    lotl: TrustedList,
    territory: str,
    xml: bytes,
    *,
    now: datetime,
    min_sequence: int | None = None,
    max_bytes: int = MAX_XML_BYTES,
) -> TrustedList:
    """Verify a national list with the certificates the (already verified) LOTL announces for ``territory``
    (TS 119 612 §5.3.13, TS 119 615 §4): the signer must be in the XML pointer's ServiceDigitalIdentities, the
    list type must be the pointer's and the list's SchemeTerritory must be ``territory``."""
    pointer = lotl.pointer(territory)
    if pointer is None or not pointer.certificates:
        raise FormatError("trusted_list_pointer_missing", "the list of lists has no usable pointer to this territory")
    tl = verify_trusted_list(
        xml,
        pointer.certificates,
        now=now,
        min_sequence=min_sequence,
        expected_types=pointer.tsl_type or DEFAULT_ACCEPTED_TYPES,
        max_bytes=max_bytes,
    )
    if tl.scheme.territory != territory:
        raise FormatError("trusted_list_wrong_territory", "the list is not the one of the expected territory")
    return tl


# ================================================================================================================
# Publishing (building + signing our own lists)
# ================================================================================================================


def _fmt_time(value: datetime) -> str:
    if value.tzinfo is None:
        raise FormatError("trusted_list_malformed", "times must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _sub(parent: etree._Element, name: str, text: str | None = None, ns: str = NS_TSL, **attrs: str) -> Any:
    el = etree.SubElement(parent, _t(name, ns), attrib=attrs)
    if text is not None:
        el.text = text
    return el


def _put_lang(parent: etree._Element, container: str, child: str, values: Sequence[LangText]) -> None:
    c = _sub(parent, container)
    for v in values:
        _sub(c, child, v.text, **{XML_LANG: v.lang})


def _put_address(parent: etree._Element, name: str, address: Address) -> None:
    a = _sub(parent, name)
    pas = _sub(a, "PostalAddresses")
    for pa in address.postal:
        p = _sub(pas, "PostalAddress", **{XML_LANG: pa.lang})
        _sub(p, "StreetAddress", pa.street)
        _sub(p, "Locality", pa.locality)
        if pa.state_or_province:
            _sub(p, "StateOrProvince", pa.state_or_province)
        if pa.postal_code:
            _sub(p, "PostalCode", pa.postal_code)
        _sub(p, "CountryName", pa.country)
    _put_lang(a, "ElectronicAddress", "URI", address.electronic)


def _b64cert(cert: x509.Certificate) -> str:
    return base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()


def _put_identity(parent: etree._Element, identity: DigitalIdentity) -> None:
    sdi = _sub(parent, "ServiceDigitalIdentity")
    for cert in identity.certificates:
        _sub(_sub(sdi, "DigitalId"), "X509Certificate", _b64cert(cert))
    for der in identity.undecodable_certificates:
        _sub(_sub(sdi, "DigitalId"), "X509Certificate", base64.b64encode(der).decode())
    for name in identity.subject_names:
        _sub(_sub(sdi, "DigitalId"), "X509SubjectName", name)
    for ski in identity.skis:
        _sub(_sub(sdi, "DigitalId"), "X509SKI", base64.b64encode(ski).decode())
    for other in identity.others:
        _sub(_sub(sdi, "DigitalId"), "Other", other)


def _put_record(parent: etree._Element, rec: ServiceRecord, *, service: TSPService | None = None) -> None:
    _sub(parent, "ServiceTypeIdentifier", rec.type_identifier)
    _put_lang(parent, "ServiceName", "Name", rec.names)
    _put_identity(parent, rec.identity)
    _sub(parent, "ServiceStatus", rec.status)
    _sub(parent, "StatusStartingTime", _fmt_time(rec.status_starting_time))
    if service is not None and service.supply_points:
        ssp = _sub(parent, "ServiceSupplyPoints")
        for point in service.supply_points:
            _sub(ssp, "ServiceSupplyPoint", point)
    if service is not None and service.definition_uris:
        _put_lang(parent, "TSPServiceDefinitionURI", "URI", service.definition_uris)
    if rec.additional_information or rec.qualifications:
        exts = _sub(parent, "ServiceInformationExtensions")
        for uri in rec.additional_information:
            asi = _sub(_sub(exts, "Extension", Critical="true"), "AdditionalServiceInformation")
            _sub(asi, "URI", uri, **{XML_LANG: "en"})
        if rec.qualifications:
            quals = _sub(_sub(exts, "Extension", Critical="true"), "Qualifications", ns=NS_ECC)
            for q in rec.qualifications:
                qe = _sub(quals, "QualificationElement", ns=NS_ECC)
                qs = _sub(qe, "Qualifiers", ns=NS_ECC)
                for uri in q.qualifiers:
                    _sub(qs, "Qualifier", ns=NS_ECC, uri=uri)
                cl = _sub(qe, "CriteriaList", ns=NS_ECC, **{"assert": q.criteria_assert or "atLeastOne"})
                for oid in q.policy_oids:
                    pi = _sub(_sub(cl, "PolicySet", ns=NS_ECC), "PolicyIdentifier", ns=NS_ECC)
                    _sub(pi, "Identifier", oid, ns=NS_XADES, Qualifier="OIDAsURN")


def build_trusted_list(
    scheme: SchemeInformation, tsps: Sequence[TrustServiceProvider], *, list_id: str = "TSL"
) -> bytes:
    """Serialise a TS 119 612 v2.4.1 list (unsigned; sign it with :func:`sign_trusted_list`).

    Elements follow the order of the TS 119 612 XML schema (Annex C). Times are written in UTC to the second.
    """
    nsmap = {None: NS_TSL, "tslx": NS_TSLX, "ecc": NS_ECC, "xades": NS_XADES, "ds": NS_DS}
    root = etree.Element(_t("TrustServiceStatusList"), nsmap=cast(Any, nsmap), Id=list_id, TSLTag=TSL_TAG)
    si = _sub(root, "SchemeInformation")
    _sub(si, "TSLVersionIdentifier", str(scheme.version))
    _sub(si, "TSLSequenceNumber", str(scheme.sequence_number))
    _sub(si, "TSLType", scheme.tsl_type)
    _put_lang(si, "SchemeOperatorName", "Name", scheme.operator_names)
    _put_address(si, "SchemeOperatorAddress", scheme.operator_address)
    _put_lang(si, "SchemeName", "Name", scheme.scheme_names)
    _put_lang(si, "SchemeInformationURI", "URI", scheme.information_uris)
    _sub(si, "StatusDeterminationApproach", scheme.status_determination_approach)
    if scheme.community_rules:
        _put_lang(si, "SchemeTypeCommunityRules", "URI", scheme.community_rules)
    _sub(si, "SchemeTerritory", scheme.territory)
    _put_lang(si, "PolicyOrLegalNotice", "TSLLegalNotice", scheme.legal_notices)
    if scheme.historical_information_period is not None:
        _sub(si, "HistoricalInformationPeriod", str(scheme.historical_information_period))
    if scheme.pointers:
        pts = _sub(si, "PointersToOtherTSL")
        for p in scheme.pointers:
            op = _sub(pts, "OtherTSLPointer")
            sdis = _sub(op, "ServiceDigitalIdentities")
            for cert in p.certificates:
                _sub(_sub(_sub(sdis, "ServiceDigitalIdentity"), "DigitalId"), "X509Certificate", _b64cert(cert))
            _sub(op, "TSLLocation", p.location)
            ai = _sub(op, "AdditionalInformation")
            if p.tsl_type:
                _sub(_sub(ai, "OtherInformation"), "TSLType", p.tsl_type)
            if p.territory:
                _sub(_sub(ai, "OtherInformation"), "SchemeTerritory", p.territory)
            if p.mime_type:
                _sub(_sub(ai, "OtherInformation"), "MimeType", p.mime_type, ns=NS_TSLX)
            if p.operator_names:
                _put_lang(_sub(ai, "OtherInformation"), "SchemeOperatorName", "Name", p.operator_names)
            if p.community_rules:
                _put_lang(_sub(ai, "OtherInformation"), "SchemeTypeCommunityRules", "URI", p.community_rules)
    _sub(si, "ListIssueDateTime", _fmt_time(scheme.issue_date))
    nu = _sub(si, "NextUpdate")
    if scheme.next_update is not None:
        _sub(nu, "dateTime", _fmt_time(scheme.next_update))
    if scheme.distribution_points:
        dps = _sub(si, "DistributionPoints")
        for uri in scheme.distribution_points:
            _sub(dps, "URI", uri)
    if tsps:
        tspl = _sub(root, "TrustServiceProviderList")
        for tsp in tsps:
            t = _sub(tspl, "TrustServiceProvider")
            info = _sub(t, "TSPInformation")
            _put_lang(info, "TSPName", "Name", tsp.names)
            if tsp.trade_names:
                _put_lang(info, "TSPTradeName", "Name", tsp.trade_names)
            _put_address(info, "TSPAddress", tsp.address)
            _put_lang(info, "TSPInformationURI", "URI", tsp.information_uris)
            svcs = _sub(t, "TSPServices")
            for svc in tsp.services:
                s = _sub(svcs, "TSPService")
                _put_record(_sub(s, "ServiceInformation"), svc, service=svc)
                if svc.history:
                    hist = _sub(s, "ServiceHistory")
                    for inst in svc.history:
                        _put_record(_sub(hist, "ServiceHistoryInstance"), inst)
    etree.cleanup_namespaces(root, top_nsmap=cast(Any, {None: NS_TSL}))
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def sign_trusted_list(
    xml: bytes,
    key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey,
    cert_chain: Sequence[x509.Certificate],
    *,
    now: datetime,
) -> bytes:
    """Sign a list with an enveloped XAdES-BES signature (TS 119 612 §5.7.1, ETSI EN 319 132-1 baseline B).

    The reference covers the whole list with the enveloped-signature transform and exclusive canonicalisation
    (like the EU LOTL and national lists); ``cert_chain[0]`` (the scheme operator's signing certificate) goes
    into KeyInfo and into SigningCertificateV2. ``now`` becomes the XAdES SigningTime.

    Works around signxml 5.x's XAdESSigner, which digests the SignedProperties/KeyInfo references with the
    SignedInfo canonicalisation but writes no Transform for it, so that its own verifier (defaulting to C14N 1.1)
    rejects signatures made with exclusive C14N: here every reference names its canonicalisation explicitly.
    """
    if not cert_chain:
        raise FormatError("trusted_list_signer_unknown", "a signing certificate is needed")
    if now.tzinfo is None:
        raise FormatError("naive_datetime", "now must be timezone-aware")
    signer_cert = cert_chain[0]
    if not (signer_cert.not_valid_before_utc <= now <= signer_cert.not_valid_after_utc):
        raise FormatError("trusted_list_signer_expired", "the signing certificate is not valid at signing time")
    root = parse_xml(xml)
    if root.tag != _t("TrustServiceStatusList"):
        raise FormatError("trusted_list_not_tsl", "the document is not a TrustServiceStatusList")
    signer = _xades_signer(key, now)
    signed = signer.sign(root, key=key, cert=list(cert_chain))
    return bytes(etree.tostring(signed, xml_declaration=True, encoding="UTF-8"))


def _xades_signer(key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, now: datetime) -> Any:
    c14n = CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0
    if isinstance(key, ec.EllipticCurvePrivateKey):
        alg = {256: SignatureMethod.ECDSA_SHA256, 384: SignatureMethod.ECDSA_SHA384}.get(
            key.curve.key_size, SignatureMethod.ECDSA_SHA512
        )
        digest = {256: DigestAlgorithm.SHA256, 384: DigestAlgorithm.SHA384}.get(
            key.curve.key_size, DigestAlgorithm.SHA512
        )
    elif isinstance(key, rsa.RSAPrivateKey):
        alg, digest = SignatureMethod.RSA_SHA256, DigestAlgorithm.SHA256
    else:
        raise FormatError("trusted_list_signer_unknown", "only ECDSA and RSA keys can sign trusted lists")

    class _TslSigner(XAdESSigner):
        def add_signing_time(self, signed_signature_properties: Any, sig_root: Any, signing_settings: Any) -> None:
            el = etree.SubElement(signed_signature_properties, _t("SigningTime", NS_XADES))
            el.text = _fmt_time(now)

        def _add_reference_to_signed_info(self, sig_root: Any, node_to_reference: Any, **attrs: Any) -> None:
            super()._add_reference_to_signed_info(sig_root, node_to_reference, **attrs)  # type: ignore[no-untyped-call]
            ref = sig_root.find(f"{{{NS_DS}}}SignedInfo")[-1]
            transforms = etree.Element(f"{{{NS_DS}}}Transforms")
            etree.SubElement(transforms, f"{{{NS_DS}}}Transform", Algorithm=self.c14n_alg.value)
            ref.insert(0, transforms)

    return _TslSigner(
        signature_algorithm=alg,
        digest_algorithm=digest,
        c14n_algorithm=c14n,
        data_object_format=XAdESDataObjectFormat(Description="ETSI TS 119 612 trusted list", MimeType="text/xml"),
    )
