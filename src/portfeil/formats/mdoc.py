"""ISO/IEC 18013-5 mdoc: issue (IssuerSigned + MSO), present (DeviceResponse) and verify, for OpenID4VP 1.0.

- Issuing (18013-5 §9.1.2.4-6): every element becomes an ``IssuerSignedItem`` with a fresh random salt, carried
  as ``IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)``; the Mobile Security Object holds their
  digests and the device key and is signed by a document signer (DS) in ``issuerAuth`` (COSE_Sign1, x5chain).
- Presenting (§8.3.2.1.2.2, §9.1.3): a ``DeviceResponse`` with only the chosen elements and a device signature
  (detached COSE_Sign1) over ``DeviceAuthenticationBytes``, bound to the OpenID4VP ``SessionTranscript``
  (OpenID4VP 1.0 Annex B.2.6.1). The vp_token value is base64url(DeviceResponse).
- Verifying (§9.3.1): issuerAuth signature and DS chain to the IACA anchors, digest of every returned element,
  namespaces/elements the MSO does not cover, docType, validity window, device signature over the expected
  transcript, algorithm allow-list, size and nesting limits. Only :class:`FormatError` escapes.
"""

from __future__ import annotations

import hashlib
import hmac
import operator
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any, Final, NamedTuple, Protocol, cast

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from portfeil.formats import jws
from portfeil.formats.cose import (
    CBOR_ARRAY_TYPES,
    CBOR_MAP_TYPES,
    DEFAULT_ALLOWED_ALGS,
    DEFAULT_MAX_BYTES,
    CoseSign1,
    PrivateKey,
    PublicKey,
    cbor_decode,
    cbor_decode_many,
    cose_key_from_public_key,
    decode_sign1,
    public_key_from_cose_key,
    sign1,
)
from portfeil.formats.errors import FormatError
from portfeil.pki.errors import PKIError

__all__ = [
    "DOCTYPE_PID",
    "EKU_MDOC_DS",
    "NAMESPACE_PID",
    "ChainValidatorLike",
    "IssuerSignedItem",
    "Mdoc",
    "MdocVerifier",
    "StatusListReference",
    "ValidityInfo",
    "VerifiedMdoc",
    "build_device_response",
    "device_authentication_bytes",
    "encode_vp_token",
    "issue_mdoc",
    "openid4vp_dc_api_session_transcript",
    "openid4vp_session_transcript",
    "verify_device_response",
]

DOCTYPE_PID: Final = "eu.europa.ec.eudi.pid.1"
NAMESPACE_PID: Final = "eu.europa.ec.eudi.pid.1"
EKU_MDOC_DS: Final = x509.ObjectIdentifier("1.0.18013.5.1.2")  # 18013-5 Annex B.1.4 (document signer)

_MSO_VERSION: Final = "1.0"
_DIGESTS: Final[Mapping[str, Callable[[bytes], Any]]] = {
    "SHA-256": hashlib.sha256,
    "SHA-384": hashlib.sha384,
    "SHA-512": hashlib.sha512,
}
_SALT_BYTES: Final = 32  # 18013-5 §9.1.2.5 asks for at least 16 random bytes
_MAX_DOCUMENTS: Final = 16
_TAG_ENCODED_CBOR: Final = 24
_DEVICE_AUTH_HEAD: Final = b"\x84" + cbor2.dumps("DeviceAuthentication")
_EMPTY_DEVICE_NAMESPACES: Final = cbor2.dumps(cbor2.CBORTag(24, cbor2.dumps({})))


# --------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, slots=True)
class ValidityInfo:
    """MSO ``validityInfo`` (18013-5 §9.1.2.4): all timezone-aware UTC."""

    signed: datetime
    valid_from: datetime
    valid_until: datetime
    expected_update: datetime | None = None


@dataclass(frozen=True, slots=True)
class StatusListReference:
    """MSO ``status.status_list`` (Token Status List draft-13, "Referenced Token in COSE", ISO mdoc)."""

    idx: int
    uri: str


@dataclass(frozen=True, slots=True)
class VerifiedMdoc:
    """One verified document: only elements whose digests the DS signed, as plain Python values."""

    doctype: str
    namespaces: Mapping[str, Mapping[str, Any]]
    validity: ValidityInfo
    ds_certificate: x509.Certificate
    device_key: PublicKey
    status: StatusListReference | None = None
    issuer_alg: int = -7
    device_alg: int | None = None


class IssuerSignedItem(NamedTuple):
    """One issuer-signed element; ``raw`` is the encoded ``IssuerSignedItem`` inside its tag 24."""

    namespace: str
    digest_id: int
    identifier: str
    value: Any
    raw: bytes


class ChainValidatorLike(Protocol):
    """What :class:`portfeil.pki.chains.ChainValidator` offers: validate DER chain (leaf first) at ``now``."""

    def validate(self, chain_der: Sequence[bytes], *, now: datetime) -> x509.Certificate: ...


# ------------------------------------------------------------------------------------------- small helpers
def _utc(value: datetime, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise FormatError("mdoc_naive_datetime", f"{what} must be a timezone-aware datetime")
    return value.astimezone(UTC)


def _tdate(value: datetime) -> datetime:
    """18013-5 §7.2.1 tdate: UTC with ``Z`` and no fraction of seconds (cbor2 writes tag 0)."""
    return value.astimezone(UTC).replace(microsecond=0)


def _normalise_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _tdate(_utc(value, "element value"))
    if isinstance(value, Mapping):
        return {k: _normalise_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_normalise_value(v) for v in value]
    return value


def _tag24(value: Any, what: str) -> bytes:
    if not isinstance(value, cbor2.CBORTag) or value.tag != _TAG_ENCODED_CBOR or not isinstance(value.value, bytes):
        raise FormatError("mdoc_malformed", f"{what} is not embedded CBOR (tag 24 bstr)")
    return value.value


def _map(value: Any, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, CBOR_MAP_TYPES):
        raise FormatError("mdoc_malformed", f"{what} is not a map")
    return value


def _array(value: Any, what: str) -> Sequence[Any]:
    if not isinstance(value, CBOR_ARRAY_TYPES):
        raise FormatError("mdoc_malformed", f"{what} is not an array")
    return value


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise FormatError("mdoc_malformed", f"{what} is not a text string")
    return value


def _b64url_decode(value: str) -> bytes:
    """Strict base64url (the shared :func:`jws.b64url_decode`: no padding, nothing outside the alphabet)."""
    try:
        return jws.b64url_decode(value, what="mdoc")
    except FormatError:
        raise FormatError("mdoc_malformed", "not base64url") from None


_b64url = jws.b64url_encode


def _as_bytes(data: bytes | str, max_bytes: int) -> bytes:
    if isinstance(data, str):
        if len(data) > max_bytes * 4 // 3 + 4:
            raise FormatError("cbor_too_large", "input exceeds the size limit")
        return _b64url_decode(data)
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    raise FormatError("mdoc_malformed", "expected bytes or a base64url string")


def _tag24_header(n: int) -> bytes:
    """Head of ``#6.24(bstr)`` for a byte string of ``n`` bytes (RFC 8949 §3.1, shortest form as cbor2)."""
    if n < 24:
        return bytes((0xD8, 0x18, 0x40 | n))
    if n < 0x100:
        return bytes((0xD8, 0x18, 0x58, n))
    if n < 0x10000:
        return b"\xd8\x18\x59" + n.to_bytes(2, "big")
    return b"\xd8\x18\x5a" + n.to_bytes(4, "big")


_TAG24_HEADS: Final = tuple(_tag24_header(n) for n in range(256))


def _untag24(data: bytes) -> bytes:
    """The content of exactly one ``#6.24(bstr)`` item (RFC 8949 §3.4.5.1), e.g. MobileSecurityObjectBytes."""
    if len(data) < 3 or data[0] != 0xD8 or data[1] != 0x18 or data[2] >> 5 != 2:
        raise FormatError("mdoc_malformed", "not embedded CBOR (tag 24 bstr)")
    info = data[2] & 0x1F
    if info < 24:
        start, length = 3, info
    elif info <= 27:
        size = 1 << (info - 24)
        start = 3 + size
        length = int.from_bytes(data[3:start], "big")
    else:  # indefinite length (31) or reserved
        raise FormatError("mdoc_malformed", "embedded CBOR must be a definite-length bstr")
    if start + length != len(data):
        raise FormatError("mdoc_malformed", "embedded CBOR length does not match")
    return data[start:]


def _encode_tag24(raw: bytes) -> bytes:
    return _tag24_header(len(raw)) + raw


# ----------------------------------------------------------------------------------- session transcript
def openid4vp_session_transcript(
    client_id: str, nonce: str, jwk_thumbprint: bytes | str | None, response_uri: str
) -> bytes:
    """SessionTranscript bytes for OpenID4VP redirect flows (OpenID4VP 1.0 Annex B.2.6.1).

    ``[null, null, ["OpenID4VPHandover", SHA-256(CBOR([client_id, nonce, jwkThumbprint, response_uri]))]]``.
    ``jwk_thumbprint`` is the RFC 7638 SHA-256 thumbprint of the verifier's response-encryption key as a byte
    string (a base64url ``str`` is decoded to those bytes), or ``None`` when the response is not encrypted.
    ``response_uri`` is the ``redirect_uri`` instead when the response mode uses one.
    """
    if not all(isinstance(v, str) for v in (client_id, nonce, response_uri)):
        raise FormatError("mdoc_bad_transcript_input", "client_id, nonce and response_uri must be strings")
    thumb = _thumbprint_bytes(jwk_thumbprint)
    info = cbor2.dumps([client_id, nonce, thumb, response_uri])
    return cbor2.dumps([None, None, ["OpenID4VPHandover", hashlib.sha256(info).digest()]])


def openid4vp_dc_api_session_transcript(origin: str, nonce: str, jwk_thumbprint: bytes | str | None) -> bytes:
    """SessionTranscript bytes for the Digital Credentials API (OpenID4VP 1.0 Annex B.2.6.2):
    ``[null, null, ["OpenID4VPDCAPIHandover", SHA-256(CBOR([origin, nonce, jwkThumbprint]))]]``."""
    if not isinstance(origin, str) or not isinstance(nonce, str):
        raise FormatError("mdoc_bad_transcript_input", "origin and nonce must be strings")
    info = cbor2.dumps([origin, nonce, _thumbprint_bytes(jwk_thumbprint)])
    return cbor2.dumps([None, None, ["OpenID4VPDCAPIHandover", hashlib.sha256(info).digest()]])


def _thumbprint_bytes(jwk_thumbprint: bytes | str | None) -> bytes | None:
    if jwk_thumbprint is None:
        return None
    thumb = _b64url_decode(jwk_thumbprint) if isinstance(jwk_thumbprint, str) else bytes(jwk_thumbprint)
    if len(thumb) != 32:
        raise FormatError("mdoc_bad_transcript_input", "a JWK SHA-256 thumbprint has 32 bytes")
    return thumb


def _check_transcript(session_transcript: Any) -> None:
    """SessionTranscript must be given as its CBOR bytes: an array of three items (18013-5 §9.1.5.1)."""
    if type(session_transcript) is not bytes or not session_transcript or session_transcript[0] != 0x83:
        raise FormatError("mdoc_bad_transcript_input", "session_transcript must be the CBOR bytes of a 3-array")


def encode_vp_token(device_response: bytes) -> str:
    """The OpenID4VP ``vp_token`` value of an mdoc presentation: base64url (no padding) of the DeviceResponse
    (OpenID4VP 1.0 Annex B.2.3)."""
    return _b64url(device_response)


def device_authentication_bytes(session_transcript: bytes, doctype: str, device_namespaces_bytes: bytes) -> bytes:
    """``DeviceAuthenticationBytes = #6.24(bstr .cbor ["DeviceAuthentication", SessionTranscript, DocType,
    DeviceNameSpacesBytes])`` (18013-5 §9.1.3.4). ``session_transcript`` is embedded byte for byte."""
    inner = _DEVICE_AUTH_HEAD + session_transcript + cbor2.dumps(doctype) + device_namespaces_bytes
    return _encode_tag24(inner)


# ------------------------------------------------------------------------------------------------ issuing
def issue_mdoc(
    doctype: str,
    namespaces: Mapping[str, Mapping[str, Any]],
    *,
    issuer_key: PrivateKey,
    issuer_chain: Sequence[x509.Certificate | bytes],
    device_key: PublicKey,
    now: datetime,
    valid_until: datetime,
    valid_from: datetime | None = None,
    expected_update: datetime | None = None,
    status: StatusListReference | None = None,
    digest_algorithm: str = "SHA-256",
    rng: Callable[[int], bytes] | None = None,
    alg: int | None = None,
) -> bytes:
    """Issue an mdoc and return its ``IssuerSigned`` CBOR (18013-5 §8.3.2.1.2.2, MSO §9.1.2.4).

    ``issuer_chain`` is the DS certificate first (then intermediates, normally no root); its key must be
    ``issuer_key``. Element values are plain Python: ``date`` becomes full-date (tag 1004), ``datetime`` a tdate
    (tag 0, UTC, whole seconds), ``bytes`` a bstr. ``rng(n)`` supplies salts and digest IDs (default
    ``os.urandom``). ``status`` adds ``status: {status_list: {idx, uri}}`` to the MSO (Token Status List
    draft-13, "Referenced Token in COSE").
    """
    rng = rng or os.urandom
    now = _utc(now, "now")
    valid_from = _utc(valid_from, "valid_from") if valid_from is not None else now
    valid_until = _utc(valid_until, "valid_until")
    if valid_until <= valid_from:
        raise FormatError("mdoc_bad_validity", "valid_until must be after valid_from")
    if not isinstance(doctype, str) or not doctype:
        raise FormatError("mdoc_malformed", "docType must be a non-empty string")
    if digest_algorithm not in _DIGESTS:
        raise FormatError("mdoc_unsupported_digest", "unsupported digest algorithm")
    chain = [c.public_bytes(serialization.Encoding.DER) if isinstance(c, x509.Certificate) else bytes(c)
             for c in issuer_chain]  # fmt: skip
    if not chain:
        raise FormatError("mdoc_missing_x5chain", "issuer_chain must hold at least the DS certificate")
    ds_cert = chain[0]
    try:
        ds_pub = x509.load_der_x509_certificate(ds_cert).public_key()
    except ValueError:
        raise FormatError("mdoc_bad_certificate", "DS certificate is not DER") from None
    if ds_pub != issuer_key.public_key():
        raise FormatError("mdoc_issuer_key_mismatch", "issuer_key does not belong to the DS certificate")
    hash_fn = _DIGESTS[digest_algorithm]

    issuer_namespaces: dict[str, list[cbor2.CBORTag]] = {}
    value_digests: dict[str, dict[int, bytes]] = {}
    for ns, elements in namespaces.items():
        if not isinstance(ns, str) or not ns:
            raise FormatError("mdoc_malformed", "namespace must be a non-empty string")
        used: set[int] = set()
        items: list[cbor2.CBORTag] = []
        digests: dict[int, bytes] = {}
        for identifier, value in elements.items():
            if not isinstance(identifier, str) or not identifier:
                raise FormatError("mdoc_malformed", "element identifier must be a non-empty string")
            digest_id = _fresh_digest_id(rng, used)
            salt = rng(_SALT_BYTES)
            if not isinstance(salt, bytes) or len(salt) < 16:
                raise FormatError("mdoc_bad_rng", "rng must return the requested number of bytes")
            raw = cbor2.dumps(
                {
                    "digestID": digest_id,
                    "random": salt,
                    "elementIdentifier": identifier,
                    "elementValue": _normalise_value(value),
                }
            )
            items.append(cbor2.CBORTag(_TAG_ENCODED_CBOR, raw))
            digests[digest_id] = hash_fn(_encode_tag24(raw)).digest()
        issuer_namespaces[ns] = items
        value_digests[ns] = digests

    validity: dict[str, Any] = {
        "signed": _tdate(now),
        "validFrom": _tdate(valid_from),
        "validUntil": _tdate(valid_until),
    }
    if expected_update is not None:
        validity["expectedUpdate"] = _tdate(_utc(expected_update, "expected_update"))
    mso: dict[str, Any] = {
        "version": _MSO_VERSION,
        "digestAlgorithm": digest_algorithm,
        "valueDigests": value_digests,
        "deviceKeyInfo": {"deviceKey": cose_key_from_public_key(device_key)},
        "docType": doctype,
        "validityInfo": validity,
    }
    if status is not None:
        mso["status"] = {"status_list": {"idx": status.idx, "uri": status.uri}}
    payload = _encode_tag24(cbor2.dumps(mso))
    issuer_auth = sign1(payload, issuer_key, alg=alg, x5chain=chain, tagged=False)
    return cbor2.dumps({"nameSpaces": issuer_namespaces, "issuerAuth": issuer_auth.to_cbor_obj()})


def _fresh_digest_id(rng: Callable[[int], bytes], used: set[int]) -> int:
    """Random, unique digest IDs so that their order reveals nothing (18013-5 §9.1.2.5)."""
    for _ in range(64):
        candidate = int.from_bytes(rng(4), "big") & 0x7FFFFFFF
        if candidate not in used:
            used.add(candidate)
            return candidate
    raise FormatError("mdoc_bad_rng", "rng does not produce distinct digest IDs")


# ------------------------------------------------------------------------------------------ MSO parsing
class _Mso(NamedTuple):
    doctype: str
    digest_algorithm: str
    value_digests: Mapping[str, Mapping[int, bytes]]
    device_key: PublicKey
    validity: ValidityInfo
    status: StatusListReference | None


def _parse_datetime(value: Any, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise FormatError("mdoc_bad_validity", f"validityInfo {what} is not a tdate (tag 0)")
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def _parse_mso(payload: bytes, max_bytes: int) -> _Mso:
    mso = _map(cbor_decode(_untag24(payload), what="MSO", max_bytes=max_bytes), "MSO")
    if mso.get("version") != _MSO_VERSION:
        raise FormatError("mdoc_unsupported_version", "MSO version is not 1.0")
    digest_algorithm = mso.get("digestAlgorithm")
    if not isinstance(digest_algorithm, str) or digest_algorithm not in _DIGESTS:
        raise FormatError("mdoc_unsupported_digest", "MSO digestAlgorithm is not supported")
    doctype = _text(mso.get("docType"), "MSO docType")
    digests: dict[str, Mapping[int, bytes]] = {}
    for ns, ids in _map(mso.get("valueDigests"), "valueDigests").items():
        ns = _text(ns, "valueDigests namespace")
        ids = _map(ids, "valueDigests entry")
        # a freshly decoded map of this MSO, checked whole: integer keys, byte-string values
        if ids and (set(map(type, ids)) != _ONLY_INT or set(map(type, ids.values())) != _ONLY_BYTES):
            raise FormatError("mdoc_malformed", "valueDigests maps integers to byte strings")
        digests[ns] = ids
    device_key_info = _map(mso.get("deviceKeyInfo"), "deviceKeyInfo")
    device_key = public_key_from_cose_key(device_key_info.get("deviceKey"))
    vi = _map(mso.get("validityInfo"), "validityInfo")
    validity = ValidityInfo(
        signed=_parse_datetime(vi.get("signed"), "signed"),
        valid_from=_parse_datetime(vi.get("validFrom"), "validFrom"),
        valid_until=_parse_datetime(vi.get("validUntil"), "validUntil"),
        expected_update=_parse_datetime(vi["expectedUpdate"], "expectedUpdate") if "expectedUpdate" in vi else None,
    )
    status = None
    if "status" in mso:
        sl = _map(_map(mso["status"], "status").get("status_list"), "status_list")
        idx, uri = sl.get("idx"), sl.get("uri")
        if not isinstance(idx, int) or isinstance(idx, bool) or idx < 0 or not isinstance(uri, str):
            raise FormatError("mdoc_bad_status", "status_list needs a non-negative idx and a uri")
        status = StatusListReference(idx, uri)
    return _Mso(doctype, digest_algorithm, digests, device_key, validity, status)


def _parse_item(tag: Any, ns: str, max_bytes: int) -> tuple[bytes, IssuerSignedItem]:
    raw = _tag24(tag, "IssuerSignedItemBytes")
    item = _map(cbor_decode(raw, what="IssuerSignedItem", max_bytes=max_bytes), "IssuerSignedItem")
    digest_id = item.get("digestID")
    if not isinstance(digest_id, int) or isinstance(digest_id, bool):
        raise FormatError("mdoc_malformed", "digestID is not an integer")
    if not isinstance(item.get("random"), bytes):
        raise FormatError("mdoc_malformed", "random is not a byte string")
    identifier = _text(item.get("elementIdentifier"), "elementIdentifier")
    if "elementValue" not in item:
        raise FormatError("mdoc_malformed", "elementValue is missing")
    return raw, IssuerSignedItem(ns, digest_id, identifier, item["elementValue"], raw)


def _parse_issuer_signed(obj: Any, max_bytes: int) -> tuple[CoseSign1, dict[str, list[IssuerSignedItem]]]:
    issuer_signed = _map(obj, "IssuerSigned")
    issuer_auth = decode_sign1(issuer_signed.get("issuerAuth"), max_bytes=max_bytes)
    if issuer_auth.payload is None:
        raise FormatError("mdoc_malformed", "issuerAuth has no payload")
    items: dict[str, list[IssuerSignedItem]] = {}
    for ns, tags in _map(issuer_signed.get("nameSpaces", {}), "nameSpaces").items():
        ns = _text(ns, "namespace")
        items[ns] = [_parse_item(t, ns, max_bytes)[1] for t in _array(tags, "namespace items")]
    return issuer_auth, items


# --------------------------------------------------------------------------------------------- holder side
@dataclass(frozen=True, slots=True)
class Mdoc:
    """An mdoc as the wallet keeps it (parsed ``IssuerSigned``); :meth:`present` builds a Document for it."""

    doctype: str
    items: Mapping[str, Mapping[str, IssuerSignedItem]]
    issuer_auth: CoseSign1
    validity: ValidityInfo
    device_key: PublicKey
    status: StatusListReference | None
    issuer_signed: bytes

    @classmethod
    def parse(cls, data: bytes | str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Mdoc:
        """Parse ``IssuerSigned`` CBOR (or its base64url, as OpenID4VCI delivers ``mso_mdoc``).

        Checks structure and that every element matches its MSO digest; the DS chain is the verifier's job
        (use :meth:`MdocVerifier.verify_issuer_signed` to check it on receipt).
        """
        raw = _as_bytes(data, max_bytes)
        issuer_auth, items = _parse_issuer_signed(cbor_decode(raw, what="IssuerSigned", max_bytes=max_bytes),
                                                  max_bytes)  # fmt: skip
        assert issuer_auth.payload is not None
        mso = _parse_mso(issuer_auth.payload, max_bytes)
        checked = _check_items(items, mso)
        by_ns = {ns: MappingProxyType({i.identifier: i for i in lst}) for ns, lst in checked.items()}
        return cls(mso.doctype, MappingProxyType(by_ns), issuer_auth, mso.validity, mso.device_key, mso.status, raw)

    def to_base64url(self) -> str:
        return _b64url(self.issuer_signed)

    def claims(self) -> dict[str, dict[str, Any]]:
        return {ns: {k: i.value for k, i in items.items()} for ns, items in self.items.items()}

    def document(
        self,
        disclose: Mapping[str, Iterable[str]] | None,
        *,
        device_key: PrivateKey,
        session_transcript: bytes,
        alg: int | None = None,
    ) -> dict[str, Any]:
        """A ``Document`` (18013-5 §8.3.2.1.2.2) with only the elements in ``disclose`` (all if None), signed by
        the device key over ``DeviceAuthenticationBytes`` (§9.1.3.4) with a detached payload (§9.1.3.6)."""
        _check_transcript(session_transcript)
        if device_key.public_key() != self.device_key:
            raise FormatError("mdoc_device_key_mismatch", "device_key is not the key the MSO binds")
        chosen: dict[str, list[cbor2.CBORTag]] = {}
        wanted = {ns: list(self.items.get(ns, {})) for ns in self.items} if disclose is None else disclose
        for ns, identifiers in wanted.items():
            available = self.items.get(ns)
            if available is None:
                raise FormatError("mdoc_element_not_found", "the mdoc has no such namespace")
            tags = []
            for identifier in dict.fromkeys(identifiers):
                item = available.get(identifier)
                if item is None:
                    raise FormatError("mdoc_element_not_found", "the mdoc has no such element")
                tags.append(cbor2.CBORTag(_TAG_ENCODED_CBOR, item.raw))
            if tags:
                chosen[ns] = tags
        dab = device_authentication_bytes(session_transcript, self.doctype, _EMPTY_DEVICE_NAMESPACES)
        signature = sign1(dab, device_key, alg=alg, detached=True, tagged=False)
        return {
            "docType": self.doctype,
            "issuerSigned": {"nameSpaces": chosen, "issuerAuth": self.issuer_auth.to_cbor_obj()},
            "deviceSigned": {
                "nameSpaces": cbor2.CBORTag(_TAG_ENCODED_CBOR, cbor2.dumps({})),
                "deviceAuth": {"deviceSignature": signature.to_cbor_obj()},
            },
        }

    def present(
        self,
        disclose: Mapping[str, Iterable[str]] | None,
        *,
        device_key: PrivateKey,
        session_transcript: bytes,
        alg: int | None = None,
    ) -> bytes:
        """A one-document ``DeviceResponse`` CBOR; base64url of it is the OpenID4VP vp_token value."""
        doc = self.document(disclose, device_key=device_key, session_transcript=session_transcript, alg=alg)
        return build_device_response([doc])


def build_device_response(documents: Sequence[Mapping[str, Any]], *, status: int = 0) -> bytes:
    """``DeviceResponse = {version: "1.0", documents, status}`` (18013-5 §8.3.2.1.2.2)."""
    return cbor2.dumps({"version": "1.0", "documents": list(documents), "status": status})


def _check_items(items: Mapping[str, Sequence[IssuerSignedItem]], mso: _Mso) -> dict[str, list[IssuerSignedItem]]:
    """Every returned element must be covered by the MSO and match its digest; no duplicates (§9.3.1)."""
    hash_fn = _DIGESTS[mso.digest_algorithm]
    out: dict[str, list[IssuerSignedItem]] = {}
    for ns, lst in items.items():
        digests = mso.value_digests.get(ns)
        if digests is None:
            raise FormatError("mdoc_namespace_not_covered", "a namespace is not covered by the MSO")
        seen_ids: set[int] = set()
        seen_names: set[str] = set()
        for item in lst:
            if item.identifier in seen_names or item.digest_id in seen_ids:
                raise FormatError("mdoc_duplicate_element", "an element appears twice")
            seen_names.add(item.identifier)
            seen_ids.add(item.digest_id)
            expected = digests.get(item.digest_id)
            if expected is None:
                raise FormatError("mdoc_element_not_covered", "an element's digestID is not in the MSO")
            h = hash_fn(_tag24_header(len(item.raw)))
            h.update(item.raw)
            if not hmac.compare_digest(h.digest(), expected):
                raise FormatError("mdoc_digest_mismatch", "an element does not match its MSO digest")
        out[ns] = list(lst)
    return out


# ------------------------------------------------------------------------------------------- verifier side
class MdocVerifier:
    """Verifies DeviceResponses against IACA trust anchors (18013-5 §9.3.1), reusing one chain validator.

    ``anchors`` are IACA certificates (a :class:`portfeil.pki.chains.ChainValidator` for role IACA is built
    and its cache reused) or any object with ``validate(chain_der, *, now) -> leaf``.
    """

    def __init__(
        self,
        anchors: Sequence[x509.Certificate] | ChainValidatorLike,
        *,
        allowed_issuer_algs: Iterable[int] = DEFAULT_ALLOWED_ALGS,
        allowed_device_algs: Iterable[int] = DEFAULT_ALLOWED_ALGS,
        max_bytes: int = DEFAULT_MAX_BYTES,
        clock_skew: timedelta = timedelta(0),
    ) -> None:
        if isinstance(anchors, Sequence):
            from portfeil.pki.chains import ChainValidator
            from portfeil.pki.roles import Role

            self._validator: ChainValidatorLike = ChainValidator(list(anchors), Role.IACA)
        else:
            self._validator = anchors
        self._issuer_algs = frozenset(allowed_issuer_algs)
        self._device_algs = frozenset(allowed_device_algs)
        self._max_bytes = max_bytes
        self._skew = clock_skew
        self._ds_cache: dict[bytes, tuple[PublicKey, bool]] = {}

    # -- public API
    def verify_device_response(
        self,
        data: bytes | str,
        *,
        session_transcript: bytes,
        now: datetime,
        expected_doctypes: Iterable[str] | None = None,
    ) -> tuple[VerifiedMdoc, ...]:
        """Verify a DeviceResponse (CBOR or base64url vp_token value) bound to ``session_transcript``."""
        now = _utc(now, "now")
        _check_transcript(session_transcript)
        raw = _as_bytes(data, self._max_bytes)
        response = _map(cbor_decode(raw, what="DeviceResponse", max_bytes=self._max_bytes), "DeviceResponse")
        if response.get("version") != "1.0":
            raise FormatError("mdoc_unsupported_version", "DeviceResponse version is not 1.0")
        status = response.get("status")
        if status != 0 or isinstance(status, bool):
            raise FormatError("mdoc_response_status", "DeviceResponse status is not OK (0)", status=str(status))
        documents = _array(response.get("documents"), "documents")
        if not documents:
            raise FormatError("mdoc_no_documents", "DeviceResponse holds no documents")
        if len(documents) > _MAX_DOCUMENTS:
            raise FormatError("mdoc_too_many_documents", "DeviceResponse holds too many documents")
        wanted = frozenset(expected_doctypes) if expected_doctypes is not None else None
        results = []
        for doc in documents:
            verified = self._verify_document(_map(doc, "Document"), session_transcript, now)
            if wanted is not None and verified.doctype not in wanted:
                raise FormatError("mdoc_unexpected_doctype", "a document has a docType that was not requested")
            results.append(verified)
        return tuple(results)

    def verify_issuer_signed(self, data: bytes | str, *, now: datetime, doctype: str | None = None) -> VerifiedMdoc:
        """Verify an ``IssuerSigned`` on its own (wallet on receipt): issuer signature, chain, digests, validity."""
        now = _utc(now, "now")
        raw = _as_bytes(data, self._max_bytes)
        obj = cbor_decode(raw, what="IssuerSigned", max_bytes=self._max_bytes)
        mso, leaf, alg, namespaces = self._verify_issuer_signed(obj, doctype, now)
        return VerifiedMdoc(
            doctype=mso.doctype,
            namespaces=MappingProxyType(namespaces),
            validity=mso.validity,
            ds_certificate=leaf,
            device_key=mso.device_key,
            status=mso.status,
            issuer_alg=alg,
        )

    # -- internals
    def _ds_key(self, issuer_auth: CoseSign1, now: datetime) -> tuple[x509.Certificate, PublicKey]:
        chain = issuer_auth.x5chain
        if not chain:
            raise FormatError("mdoc_missing_x5chain", "issuerAuth carries no x5chain")
        try:
            leaf = self._validator.validate(chain, now=now)
        except PKIError as exc:
            raise FormatError("mdoc_untrusted_issuer", f"DS chain rejected: {exc.code}", pki_code=exc.code) from None
        cached = self._ds_cache.get(chain[0])
        if cached is None:
            try:
                eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
                ds_eku = EKU_MDOC_DS in eku
            except (x509.ExtensionNotFound, ValueError):
                ds_eku = False
            pub = leaf.public_key()
            if not isinstance(pub, PublicKey):
                raise FormatError("mdoc_untrusted_issuer", "DS key type is not supported")
            if len(self._ds_cache) > 256:
                self._ds_cache.clear()
            cached = self._ds_cache[chain[0]] = (pub, ds_eku)
        if not cached[1]:
            raise FormatError("mdoc_untrusted_issuer", "DS certificate lacks the mdoc DS extended key usage")
        return leaf, cached[0]

    def _verify_issuer_signed(
        self, obj: Any, doctype: str | None, now: datetime
    ) -> tuple[_Mso, x509.Certificate, int, dict[str, Mapping[str, Any]]]:
        """issuerAuth (alg allow-list, DS chain + EKU, signature), MSO (docType, validity) and every returned
        element against its digest, in one pass (18013-5 §9.3.1 steps 1-6)."""
        if not isinstance(obj, CBOR_MAP_TYPES):
            raise FormatError("mdoc_malformed", "IssuerSigned is not a map")
        issuer_auth = decode_sign1(obj.get("issuerAuth"), max_bytes=self._max_bytes)
        alg = issuer_auth.alg
        if alg not in self._issuer_algs:
            raise FormatError("cose_alg_not_allowed", "issuerAuth algorithm is not allowed")
        if issuer_auth.payload is None:
            raise FormatError("mdoc_malformed", "issuerAuth has no payload")
        leaf, ds_key = self._ds_key(issuer_auth, now)
        payload = issuer_auth.verify(ds_key, allowed_algs=self._issuer_algs)
        mso = _parse_mso(payload, self._max_bytes)
        self._check_mso(mso, leaf, doctype, now)
        return mso, leaf, alg, self._verified_elements(obj.get("nameSpaces", {}), mso)

    def _check_mso(self, mso: _Mso, leaf: x509.Certificate, doctype: str | None, now: datetime) -> None:
        """The MSO's docType and validity (18013-5 §9.3.1 steps 6-7), after its signature verified."""
        if doctype is not None and mso.doctype != doctype:
            raise FormatError("mdoc_doctype_mismatch", "document docType differs from the MSO's")
        v = mso.validity
        if v.valid_until < v.valid_from:
            raise FormatError("mdoc_bad_validity", "validUntil precedes validFrom")
        if now + self._skew < v.valid_from:
            raise FormatError("mdoc_not_yet_valid", "the MSO is not yet valid")
        if now - self._skew > v.valid_until:
            raise FormatError("mdoc_expired", "the MSO validity has ended")
        if not leaf.not_valid_before_utc <= v.signed <= leaf.not_valid_after_utc:
            raise FormatError("mdoc_signed_outside_ds_validity", "MSO signed outside the DS certificate validity")

    def _verified_elements(self, namespaces: Any, mso: _Mso) -> dict[str, Mapping[str, Any]]:
        """Decode each IssuerSignedItemBytes, check it against the MSO digest, refuse what the MSO does not
        cover and duplicates (18013-5 §9.3.1 step 5); values as plain Python."""
        if not isinstance(namespaces, CBOR_MAP_TYPES):
            raise FormatError("mdoc_malformed", "nameSpaces is not a map")
        hash_fn = _DIGESTS[mso.digest_algorithm]
        max_bytes = self._max_bytes
        tag_type, compare, scalars = cbor2.CBORTag, hmac.compare_digest, _SCALARS
        out: dict[str, Mapping[str, Any]] = {}
        for ns, tags in namespaces.items():
            digests = mso.value_digests.get(ns) if type(ns) is str else None
            if digests is None:
                raise FormatError("mdoc_namespace_not_covered", "a namespace is not covered by the MSO")
            if not isinstance(tags, CBOR_ARRAY_TYPES):
                raise FormatError("mdoc_malformed", "namespace items are not an array")
            elements: dict[str, Any] = {}
            seen_ids: set[int] = set()
            raws: list[bytes] = []
            for tag in tags:
                if type(tag) is not tag_type or tag.tag != _TAG_ENCODED_CBOR or type(tag.value) is not bytes:
                    raise FormatError("mdoc_malformed", "IssuerSignedItemBytes is not embedded CBOR (tag 24 bstr)")
                raws.append(tag.value)
            decoded = cbor_decode_many(raws, what="IssuerSignedItem", max_bytes=max_bytes)
            fast = _elements_fast(raws, decoded, digests, hash_fn)
            if fast is not None:
                out[ns] = MappingProxyType(fast)
                continue
            # something is wrong (or unusual): the item-by-item checks below name it
            for raw, item in zip(raws, decoded, strict=True):
                if type(item) is not dict:
                    raise FormatError("mdoc_malformed", "IssuerSignedItem is not a map")
                digest_id = item.get("digestID")
                identifier = item.get("elementIdentifier")
                if (
                    type(digest_id) is not int
                    or type(identifier) is not str
                    or type(item.get("random")) is not bytes
                    or "elementValue" not in item
                ):
                    raise FormatError(
                        "mdoc_malformed", "IssuerSignedItem lacks digestID/random/elementIdentifier/value"
                    )
                if identifier in elements or digest_id in seen_ids:
                    raise FormatError("mdoc_duplicate_element", "an element appears twice")
                seen_ids.add(digest_id)
                expected = digests.get(digest_id)
                if expected is None:
                    raise FormatError("mdoc_element_not_covered", "an element's digestID is not in the MSO")
                n = len(raw)
                h = hash_fn(_TAG24_HEADS[n] if n < 256 else _tag24_header(n))
                h.update(raw)
                if not compare(h.digest(), expected):
                    raise FormatError("mdoc_digest_mismatch", "an element does not match its MSO digest")
                value = item["elementValue"]
                elements[identifier] = value if type(value) in scalars else _plain(value)
            out[ns] = MappingProxyType(elements)
        return out

    def _verify_document(self, doc: Mapping[Any, Any], session_transcript: bytes, now: datetime) -> VerifiedMdoc:
        """18013-5 §9.3.1 for one Document. Order: everything both signatures need is parsed first (issuerAuth,
        DS chain, the MSO for the device key, deviceSignature), then the two signatures are checked back to back
        (fewer switches between OpenSSL and the interpreter), then the MSO's docType and validity (reported before
        a bad device signature, as the issuer's statements come first) and the elements."""
        doctype = _text(doc.get("docType"), "docType")
        issuer_signed = doc.get("issuerSigned")
        if not isinstance(issuer_signed, CBOR_MAP_TYPES):
            raise FormatError("mdoc_malformed", "IssuerSigned is not a map")
        issuer_auth = decode_sign1(issuer_signed.get("issuerAuth"), max_bytes=self._max_bytes)
        alg = issuer_auth.alg
        if alg not in self._issuer_algs:
            raise FormatError("cose_alg_not_allowed", "issuerAuth algorithm is not allowed")
        payload = issuer_auth.payload
        if payload is None:
            raise FormatError("mdoc_malformed", "issuerAuth has no payload")
        leaf, ds_key = self._ds_key(issuer_auth, now)
        try:
            mso = _parse_mso(payload, self._max_bytes)
        except FormatError:
            issuer_auth.verify(ds_key, allowed_algs=self._issuer_algs)  # a forged MSO: report the signature
            raise

        device_signed = _map(doc.get("deviceSigned"), "deviceSigned")
        ns_raw = _tag24(device_signed.get("nameSpaces"), "DeviceNameSpacesBytes")
        if ns_raw != b"\xa0":  # anything but the empty map (18013-5 §8.3.2.1.2.2 DeviceNameSpaces)
            device_ns = _map(
                cbor_decode(ns_raw, what="DeviceNameSpaces", max_bytes=self._max_bytes), "DeviceNameSpaces"
            )
            if device_ns:
                raise FormatError("mdoc_device_signed_elements_unsupported", "device-signed elements are not accepted")
        device_auth = _map(device_signed.get("deviceAuth"), "deviceAuth")
        if "deviceSignature" not in device_auth:
            code = "mdoc_device_mac_unsupported" if "deviceMac" in device_auth else "mdoc_malformed"
            raise FormatError(code, "deviceAuth carries no deviceSignature")
        signature = decode_sign1(device_auth["deviceSignature"], max_bytes=self._max_bytes)
        if signature.payload is not None:
            raise FormatError("mdoc_malformed", "deviceSignature payload must be detached (nil)")
        device_alg = signature.alg
        if device_alg not in self._device_algs:
            raise FormatError("cose_alg_not_allowed", "deviceSignature algorithm is not allowed")
        dab = device_authentication_bytes(session_transcript, doctype, _encode_tag24(ns_raw))

        issuer_auth.verify(ds_key, allowed_algs=self._issuer_algs)
        try:
            signature.verify(mso.device_key, allowed_algs=self._device_algs, detached_payload=dab)
        except FormatError as exc:
            self._check_mso(mso, leaf, doctype, now)  # an MSO fault is the first error to report
            if exc.code == "cose_bad_signature":
                raise FormatError(
                    "mdoc_bad_device_signature", "device signature does not verify for this session"
                ) from None
            raise
        self._check_mso(mso, leaf, doctype, now)
        namespaces = self._verified_elements(issuer_signed.get("nameSpaces", {}), mso)
        return VerifiedMdoc(
            doctype=mso.doctype,
            namespaces=MappingProxyType(namespaces),
            validity=mso.validity,
            ds_certificate=leaf,
            device_key=mso.device_key,
            status=mso.status,
            issuer_alg=alg,
            device_alg=device_alg,
        )


_SCALARS: Final = frozenset({str, int, bool, bytes, float, date, datetime, type(None)})
_ONLY_DICT: Final = {dict}
_ONLY_INT: Final = {int}
_ONLY_STR: Final = {str}
_ONLY_BYTES: Final = {bytes}
_ITEM_FIELDS: Final = operator.itemgetter("digestID", "elementIdentifier", "random", "elementValue")
_HASH_DIGEST: Final[Callable[[Any], bytes]] = type(hashlib.sha256()).digest


def _elements_fast(
    raws: list[bytes], items: list[Any], digests: Mapping[int, bytes], hash_fn: Callable[[bytes], Any]
) -> dict[str, Any] | None:
    """18013-5 §9.3.1 step 5 for well-formed items, all at once through C calls (``map``, set and bytes
    operations): every item a map with an integer digestID, a text elementIdentifier, a byte-string random and
    an elementValue; no digestID or identifier twice; each digest of ``#6.24(bstr)`` equal to the MSO's.
    Returns the elements, or None when any check fails (the caller then finds and names the fault)."""
    n = len(items)
    if set(map(type, items)) != _ONLY_DICT:
        return None
    try:
        fields = list(map(_ITEM_FIELDS, items))
    except KeyError:
        return None
    ids, identifiers, randoms, values = zip(*fields, strict=True)
    if (
        set(map(type, ids)) != _ONLY_INT
        or set(map(type, identifiers)) != _ONLY_STR
        or set(map(type, randoms)) != _ONLY_BYTES
        or len(set(ids)) != n
        or len(set(identifiers)) != n
        or max(map(len, raws)) >= 256
    ):
        return None
    found = list(map(digests.get, ids))
    if None in found:
        return None
    expected = cast(list[bytes], found)
    hashes = list(map(hash_fn, map(bytes.__add__, map(_TAG24_HEADS.__getitem__, map(len, raws)), raws)))
    # every MSO digest must have the digest's own length, so that the joined strings compare digest by digest
    if set(map(len, expected)) != {hashes[0].digest_size}:
        return None
    computed = b"".join(map(_HASH_DIGEST, hashes))
    if not hmac.compare_digest(computed, b"".join(expected)):
        return None
    if not _SCALARS.issuperset(map(type, values)):
        values = tuple([v if type(v) in _SCALARS else _plain(v) for v in values])
    return dict(zip(identifiers, values, strict=True))


def _plain(value: Any) -> Any:
    """Element values as plain Python: maps -> dict, arrays -> list; dates stay date/datetime."""
    if type(value) in _SCALARS:
        return value
    if isinstance(value, CBOR_MAP_TYPES):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date | bytes | str | int | float | bool) or value is None:
        return value
    if isinstance(value, cbor2.CBORTag):
        return cbor2.CBORTag(value.tag, _plain(value.value))
    return value


def verify_device_response(
    data: bytes | str,
    *,
    anchors: Sequence[x509.Certificate] | ChainValidatorLike,
    session_transcript: bytes,
    now: datetime,
    **options: Any,
) -> tuple[VerifiedMdoc, ...]:
    """One-shot form of :meth:`MdocVerifier.verify_device_response` (keep an :class:`MdocVerifier` to reuse
    the chain cache)."""
    return MdocVerifier(anchors, **options).verify_device_response(data, session_transcript=session_transcript, now=now)
