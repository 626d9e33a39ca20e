"""Token Status List (draft-ietf-oauth-status-list-13): list operations, tokens, referenced tokens, allocation."""

from __future__ import annotations

import base64
import itertools
import json
import zlib
from datetime import UTC, datetime, timedelta

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID

from portfeil.clock import FrozenClock
from portfeil.formats import FormatError
from portfeil.formats.cose import decode_sign1
from portfeil.formats.jws import parse_compact
from portfeil.formats.status_list import (
    APPLICATION_SPECIFIC,
    CWT_CLAIM_STATUS_LIST,
    CWT_CLAIM_SUB,
    CWT_CLAIM_TTL,
    INVALID,
    SUSPENDED,
    VALID,
    AllocatorState,
    IndexAllocator,
    StatusList,
    StatusReference,
    issue_status_list_cwt,
    issue_status_list_jwt,
    parse_status_claim,
    verify_status_list_cwt,
    verify_status_list_jwt,
    verify_status_list_token,
)
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role

URI = "https://status.portfeil.example/lists/1"
PKI = tuple[x509.Certificate, ec.EllipticCurvePrivateKey, x509.Certificate]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@pytest.fixture(scope="module")
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def revoked_list() -> StatusList:
    sl = StatusList(1024, bits=2)
    sl.set(7, INVALID)
    sl.set(9, SUSPENDED)
    return sl


# --- StatusList -----------------------------------------------------------------------------------------------------


def test_status_constants_match_section_7_1() -> None:
    assert (VALID, INVALID, SUSPENDED, APPLICATION_SPECIFIC) == (0, 1, 2, 3)


@pytest.mark.parametrize("bits", [1, 2, 4, 8])
def test_set_get_roundtrip_every_bits(bits: int) -> None:
    sl = StatusList(100, bits=bits)
    top = (1 << bits) - 1
    for i in range(100):
        sl.set(i, (i * 7) % (top + 1))
    for i in range(100):
        assert sl.get(i) == (i * 7) % (top + 1)
    again = StatusList.from_json(sl.to_json())
    assert again == sl
    assert StatusList.from_cbor(sl.to_cbor()) == sl


def test_set_does_not_disturb_neighbours() -> None:
    sl = StatusList(8, bits=2, default=APPLICATION_SPECIFIC)
    sl.set(1, VALID)
    assert [sl.get(i) for i in range(8)] == [3, 0, 3, 3, 3, 3, 3, 3]


def test_size_rounds_up_to_whole_bytes() -> None:
    assert StatusList(10, bits=1).size == 16
    assert StatusList(10, bits=8).size == 10
    assert len(StatusList(0).to_bytes()) == 0


def test_rejects_wrong_bits() -> None:
    for bits in (0, 3, 16, True, "1"):
        with pytest.raises(FormatError) as err:
            StatusList(8, bits=bits)  # type: ignore[arg-type]
        assert err.value.code == "status_list_invalid_bits"


def test_rejects_value_too_wide_for_bits() -> None:
    sl = StatusList(8, bits=1)
    with pytest.raises(FormatError) as err:
        sl.set(0, SUSPENDED)
    assert err.value.code == "status_list_invalid_value"


def test_index_outside_the_list_is_an_error() -> None:
    sl = StatusList(16, bits=1)
    for idx in (16, -1, 10**12):
        with pytest.raises(FormatError) as err:
            sl.get(idx)
        assert err.value.code == "status_list_index_out_of_range"
    with pytest.raises(FormatError):
        sl.set(16, 1)


def test_rejects_bool_index() -> None:
    with pytest.raises(FormatError) as err:
        StatusList(16).get(True)
    assert err.value.code == "status_list_invalid_index"


def test_rejects_decompression_bomb() -> None:
    bomb = zlib.compress(bytes(64 * 1024 * 1024), 9)  # 64 MiB of zeros in ~64 KiB
    assert len(bomb) < 100_000
    with pytest.raises(FormatError) as err:
        StatusList.from_json({"bits": 1, "lst": _b64u(bomb)})
    assert err.value.code == "status_list_too_large"
    with pytest.raises(FormatError):
        StatusList.from_compressed(zlib.compress(bytes(2048)), 1, max_bytes=1024)
    assert StatusList.from_compressed(zlib.compress(bytes(1024)), 1, max_bytes=1024).size == 8192


def test_size_cap_is_exact() -> None:
    """A list of exactly ``max_bytes`` parses whatever the compressor did; one byte over is refused."""
    import random

    rng = random.Random(7)
    for n in (1, 255, 1024, 4097, 65536):
        for fill in ("zeros", "random"):
            raw = bytes(n) if fill == "zeros" else bytes(rng.getrandbits(8) for _ in range(n))
            for level in (1, 9):
                data = zlib.compress(raw, level)
                assert StatusList.from_compressed(data, 8, max_bytes=n).to_bytes() == raw
                with pytest.raises(FormatError) as err:
                    StatusList.from_compressed(data, 8, max_bytes=n - 1)
                assert err.value.code == "status_list_too_large"


def test_rejects_raw_deflate_and_gzip() -> None:
    raw = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflate_only = raw.compress(b"\x01\x02") + raw.flush()
    gz = zlib.compressobj(9, zlib.DEFLATED, 31)
    gzip_data = gz.compress(b"\x01\x02") + gz.flush()
    for data in (deflate_only, gzip_data, b"", b"\x78\xda"):
        with pytest.raises(FormatError) as err:
            StatusList.from_compressed(data, 1)
        assert err.value.code == "status_list_invalid_zlib"


def test_rejects_trailing_garbage_after_zlib() -> None:
    with pytest.raises(FormatError) as err:
        StatusList.from_compressed(zlib.compress(b"\x00") + b"junk", 1)
    assert err.value.code == "status_list_invalid_zlib"


def test_rejects_padded_or_non_url_base64_lst() -> None:
    good = StatusList(16).to_json()["lst"]
    for bad in (good + "==", good.replace("_", "/") + "+", "a", "é", 5, None):
        with pytest.raises(FormatError):
            StatusList.from_json({"bits": 1, "lst": bad})


def test_json_form_requires_bits_and_lst() -> None:
    obj: object
    for obj in ({"bits": 1}, {"lst": "eNrbuRgAAhcBXQ"}, [], "x", {"bits": 2.0, "lst": "eNrbuRgAAhcBXQ"}):
        with pytest.raises(FormatError):
            StatusList.from_json(obj)


def test_cbor_form_rejects_text_lst() -> None:
    with pytest.raises(FormatError) as err:
        StatusList.from_cbor(cbor2.dumps({"bits": 1, "lst": "eNrbuRgAAhcBXQ"}))
    assert err.value.code == "status_list_invalid_lst"


def test_aggregation_uri_roundtrips() -> None:
    sl = StatusList(8, aggregation_uri="https://status.portfeil.example/aggregation")
    assert StatusList.from_json(sl.to_json()).aggregation_uri == sl.aggregation_uri
    assert StatusList.from_cbor(sl.to_cbor()).aggregation_uri == sl.aggregation_uri


# --- JWT Status List Token (§5.1) -----------------------------------------------------------------------------------


def test_jwt_roundtrip_and_claims(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(
        revoked_list, uri=URI, key=key, now=NOW, exp=int(NOW.timestamp()) + 86400, ttl=43200, kid="12"
    )
    parsed = parse_compact(token)
    header, payload = parsed.header, parsed.payload
    assert header == {"alg": "ES256", "typ": "statuslist+jwt", "kid": "12"}
    assert payload["sub"] == URI
    assert payload["iat"] == int(NOW.timestamp())
    assert payload["ttl"] == 43200
    assert set(payload["status_list"]) == {"bits", "lst"}
    verified = verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert verified.ttl == 43200
    assert verified.bits == 2
    assert verified.status_of(7) == INVALID
    assert verified.status_of(9) == SUSPENDED
    assert verified.status_of(8) == VALID
    assert verified.status_of_reference(StatusReference(idx=7, uri=URI)) == INVALID


def test_jwt_with_eddsa(revoked_list: StatusList) -> None:
    k = ed25519.Ed25519PrivateKey.generate()
    token = issue_status_list_jwt(revoked_list, uri=URI, key=k, now=NOW)
    assert verify_status_list_token(token, uri=URI, now=NOW, key=k.public_key()).status_of(9) == SUSPENDED


def test_jwt_status_of_index_outside_list(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    verified = verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    with pytest.raises(FormatError) as err:
        verified.status_of(revoked_list.size)
    assert err.value.code == "status_list_index_out_of_range"


def test_rejects_jwt_with_wrong_typ(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_jwt(key, {"alg": "ES256", "typ": "JWT"}, _payload(revoked_list))
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_wrong_typ"


def test_accepts_application_prefixed_typ(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_jwt(key, {"alg": "ES256", "typ": "application/statuslist+jwt"}, _payload(revoked_list))
    assert verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key()).sub == URI


def test_rejects_jwt_with_bad_signature(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=other.public_key())
    assert err.value.code == "status_list_invalid_signature"


def test_rejects_jwt_with_tampered_list(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    h, _, s = token.split(".")
    payload = _payload(StatusList(1024, bits=2))  # all VALID: an attacker hiding a revocation
    forged = f"{h}.{_b64u(json.dumps(payload).encode())}.{s}"
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(forged, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_invalid_signature"


def test_rejects_jwt_alg_none_and_hmac(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    for alg in ("none", "HS256", "RS256", None):
        header = {"alg": alg, "typ": "statuslist+jwt"}
        h = _b64u(json.dumps(header).encode())
        p = _b64u(json.dumps(_payload(revoked_list)).encode())
        with pytest.raises(FormatError) as err:
            verify_status_list_jwt(f"{h}.{p}.", uri=URI, now=NOW, key=key.public_key())
        assert err.value.code == "status_list_alg_not_allowed"


def test_rejects_jwt_alg_outside_caller_allow_list(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key(), algorithms=frozenset({"EdDSA"}))
    assert err.value.code == "status_list_alg_not_allowed"


def test_rejects_jwt_whose_sub_differs_from_fetched_uri(
    key: ec.EllipticCurvePrivateKey, revoked_list: StatusList
) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI + "0", now=NOW, key=key.public_key())
    assert err.value.code == "status_list_sub_mismatch"


def test_rejects_expired_jwt(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    clock = FrozenClock(NOW)
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=clock.now(), exp=clock.timestamp() + 3600)
    verify_status_list_jwt(token, uri=URI, now=clock.now(), key=key.public_key())
    clock.advance(hours=2)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=clock.now(), key=key.public_key())
    assert err.value.code == "status_list_expired"


def test_rejects_jwt_issued_in_the_future(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW + timedelta(hours=1))
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_iat_in_future"


def test_rejects_jwt_without_iat_sub_or_status_list(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    for missing, code in (
        ("iat", "status_list_missing_iat"),
        ("sub", "status_list_missing_sub"),
        ("status_list", "status_list_missing"),
    ):
        payload = _payload(revoked_list)
        del payload[missing]
        token = _forge_jwt(key, {"alg": "ES256", "typ": "statuslist+jwt"}, payload)
        with pytest.raises(FormatError) as err:
            verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
        assert err.value.code == code


def test_rejects_jwt_with_non_positive_ttl(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    payload = _payload(revoked_list) | {"ttl": 0}
    token = _forge_jwt(key, {"alg": "ES256", "typ": "statuslist+jwt"}, payload)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_invalid_ttl"


def test_rejects_jwt_with_crit_header(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_jwt(key, {"alg": "ES256", "typ": "statuslist+jwt", "crit": ["x"], "x": 1}, _payload(revoked_list))
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_unsupported_crit"


def test_rejects_jwt_with_duplicate_json_members(key: ec.EllipticCurvePrivateKey) -> None:
    h = _b64u(b'{"alg":"ES256","typ":"statuslist+jwt"}')
    p = _b64u(b'{"sub":"' + URI.encode() + b'","sub":"https://evil.example/1","iat":1}')
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(f"{h}.{p}.AA", uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_token_invalid"


def test_rejects_jwt_without_any_key(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW)
    assert err.value.code == "status_list_no_key"


# --- x5c + chain validator ------------------------------------------------------------------------------------------


def _rogue_cert(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Status Issuer")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )


@pytest.fixture(scope="module")
def pki() -> PKI:
    """A real PID-provider hierarchy (portfeil.pki.ca): root CA and a status-list signing leaf."""
    root = create_root_ca("Portfeil Test PID Root", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue_leaf(root, "Status Issuer", leaf_key.public_key(), Role.PID_PROVIDER, now=NOW - timedelta(hours=1))
    return root.certificate, leaf_key, leaf


def _validator(root: x509.Certificate) -> ChainValidator:
    return ChainValidator([root], Role.PID_PROVIDER)


def test_jwt_verified_through_x5c_chain(pki: PKI, revoked_list: StatusList) -> None:
    root, leaf_key, leaf = pki
    token = issue_status_list_jwt(revoked_list, uri=URI, key=leaf_key, now=NOW, x5c=[leaf])
    verified = verify_status_list_jwt(token, uri=URI, now=NOW, chain_validator=_validator(root))
    assert verified.status_of(7) == INVALID
    assert "x5c" in verified.header


def test_rejects_x5c_chain_from_untrusted_root(pki: PKI, revoked_list: StatusList) -> None:
    root, _, _ = pki
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    rogue = _rogue_cert(rogue_key)
    token = issue_status_list_jwt(revoked_list, uri=URI, key=rogue_key, now=NOW, x5c=[rogue])
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, chain_validator=_validator(root))
    assert err.value.code == "status_list_untrusted_chain"


def test_rejects_x5c_when_signed_by_another_key(pki: PKI, revoked_list: StatusList) -> None:
    root, _, leaf = pki
    other = ec.generate_private_key(ec.SECP256R1())
    token = issue_status_list_jwt(revoked_list, uri=URI, key=other, now=NOW, x5c=[leaf])
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, chain_validator=_validator(root))
    assert err.value.code == "status_list_invalid_signature"


def test_rejects_x5c_leaf_of_another_role(revoked_list: StatusList) -> None:
    """A wallet-provider certificate under a wallet-provider root must not sign PID status lists."""
    root = create_root_ca("Portfeil Test WP Root", Role.WALLET_PROVIDER, now=NOW - timedelta(days=1))
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = issue_leaf(root, "Wallet Provider", key.public_key(), Role.WALLET_PROVIDER, now=NOW - timedelta(hours=1))
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW, x5c=[leaf])
    pid_validator = ChainValidator([root.certificate], Role.PID_PROVIDER)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(token, uri=URI, now=NOW, chain_validator=pid_validator)
    assert err.value.code == "status_list_untrusted_chain"


def test_rejects_cwt_x5chain_from_untrusted_root(pki: PKI, revoked_list: StatusList) -> None:
    root, _, _ = pki
    rogue_key = ec.generate_private_key(ec.SECP256R1())
    token = issue_status_list_cwt(revoked_list, uri=URI, key=rogue_key, now=NOW, x5chain=[_rogue_cert(rogue_key)])
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, chain_validator=_validator(root))
    assert err.value.code == "status_list_untrusted_chain"


def test_cwt_verified_through_x5chain(pki: PKI, revoked_list: StatusList) -> None:
    root, leaf_key, leaf = pki
    token = issue_status_list_cwt(revoked_list, uri=URI, key=leaf_key, now=NOW, x5chain=[leaf, root])
    verified = verify_status_list_cwt(token, uri=URI, now=NOW, chain_validator=_validator(root))
    assert verified.status_of(9) == SUSPENDED


# --- CWT Status List Token (§5.2) -----------------------------------------------------------------------------------


def test_cwt_roundtrip_uses_draft_claim_keys(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_cwt(revoked_list, uri=URI, key=key, now=NOW, exp=2291720170, ttl=43200, kid=b"12")
    sign1 = decode_sign1(token)
    assert sign1.tagged
    assert sign1.protected == {1: -7, 16: "application/statuslist+cwt"}
    assert sign1.unprotected == {4: b"12"}
    assert sign1.payload is not None
    claims = cbor2.loads(sign1.payload)
    assert set(claims) == {2, 6, 4, 65534, 65533}
    assert claims[CWT_CLAIM_SUB] == URI
    assert claims[CWT_CLAIM_TTL] == 43200
    assert set(claims[CWT_CLAIM_STATUS_LIST]) == {"bits", "lst"}
    assert isinstance(claims[CWT_CLAIM_STATUS_LIST]["lst"], bytes)
    verified = verify_status_list_token(token, uri=URI, now=NOW, key=key.public_key())
    assert verified.form == "cwt"
    assert verified.exp == 2291720170
    assert [verified.status_of(i) for i in (7, 8, 9)] == [INVALID, VALID, SUSPENDED]


def test_draft_cwt_example_decodes_to_expected_claims() -> None:
    """§5.2 example token (hex), decoded without the (unpublished) key: typ, kid and the claim keys match ours."""
    example = bytes.fromhex(
        "d2845820a2012610781a6170706c69636174696f6e2f7374617475736c6973742b63"
        "7774a1044231325850a502782168747470733a2f2f6578616d706c652e636f6d2f73"
        "74617475736c697374732f31061a648c5bea041a8898dfea19fffe19a8c019fffda2"
        "646269747301636c73744a78dadbb918000217015d5840da2050ccb95688d79fc127"
        "31c7a29caf1010af39f7680927fce310f8c0403e669fddebd01b34661e5823fd1594"
        "b837f142aee84c0a26dfa25581bdbdff1183e2"
    )
    sign1 = decode_sign1(example)
    assert sign1.protected == {1: -7, 16: "application/statuslist+cwt"}
    assert sign1.unprotected == {4: b"12"}
    assert len(sign1.signature) == 64
    assert sign1.payload is not None
    claims = cbor2.loads(sign1.payload)
    assert claims[2] == "https://example.com/statuslists/1"
    assert (claims[6], claims[4], claims[65534]) == (1686920170, 2291720170, 43200)
    assert StatusList.from_cbor_map(claims[65533]).to_bytes() == bytes([0xB9, 0xA3])


def test_draft_jwt_example_decodes() -> None:
    """§8.1 example response body: header typ and the status_list claim parse."""
    example = (
        "eyJhbGciOiJFUzI1NiIsImtpZCI6IjEyIiwidHlwIjoic3RhdHVzbGlzdCtqd3QifQ.e"
        "yJleHAiOjIyOTE3MjAxNzAsImlhdCI6MTY4NjkyMDE3MCwiaXNzIjoiaHR0cHM6Ly9le"
        "GFtcGxlLmNvbSIsInN0YXR1c19saXN0Ijp7ImJpdHMiOjEsImxzdCI6ImVOcmJ1UmdBQ"
        "WhjQlhRIn0sInN1YiI6Imh0dHBzOi8vZXhhbXBsZS5jb20vc3RhdHVzbGlzdHMvMSIsI"
        "nR0bCI6NDMyMDB9.dJVpkStyOm_H9Qk51HMhIJ-zEzWmPYeVDk8eTcn7cDdqCGLbpjHG"
        "rnR5uP5BiKLlJVuTRzzrUUPY2_JVJ-4w7w"
    )
    parsed = parse_compact(example, typ="statuslist+jwt")
    header, payload, signature = parsed.header, parsed.payload, parsed.signature
    assert header == {"alg": "ES256", "kid": "12", "typ": "statuslist+jwt"}
    assert payload["sub"] == "https://example.com/statuslists/1"
    assert payload["ttl"] == 43200
    assert StatusList.from_json(payload["status_list"]).to_bytes() == bytes([0xB9, 0xA3])
    assert len(signature) == 64


def test_rejects_cwt_with_wrong_typ(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_cwt(key, {1: -7, 16: "application/cwt"}, _cwt_claims(revoked_list))
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_wrong_typ"


def test_rejects_cwt_typ_only_in_unprotected_header(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_cwt(key, {1: -7}, _cwt_claims(revoked_list), unprotected={16: "application/statuslist+cwt"})
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_wrong_typ"


def test_rejects_cwt_with_bad_signature(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = bytearray(issue_status_list_cwt(revoked_list, uri=URI, key=key, now=NOW))
    token[-1] ^= 1
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(bytes(token), uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_invalid_signature"


def test_rejects_expired_cwt(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_cwt(revoked_list, uri=URI, key=key, now=NOW, exp=int(NOW.timestamp()) - 3600)
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_expired"


def test_rejects_cwt_whose_sub_differs(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_cwt(revoked_list, uri="https://other.example/1", key=key, now=NOW)
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_sub_mismatch"


def test_rejects_cwt_with_float_ttl(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_cwt(key, {1: -7, 16: "application/statuslist+cwt"}, _cwt_claims(revoked_list) | {65534: 1.5})
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_invalid_ttl"


def test_rejects_cwt_alg_outside_allow_list(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = _forge_cwt(key, {1: 5, 16: "application/statuslist+cwt"}, _cwt_claims(revoked_list))  # 5 = HMAC 256/256
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=key.public_key())
    assert err.value.code == "status_list_alg_not_allowed"


def test_jwt_given_as_bytes_is_treated_as_cwt(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    with pytest.raises(FormatError):
        verify_status_list_token(token.encode(), uri=URI, now=NOW, key=key.public_key())


# --- Referenced Token (§6) ------------------------------------------------------------------------------------------


def test_parse_status_claim_jose_example() -> None:
    ref = parse_status_claim({"status_list": {"idx": 0, "uri": "https://example.com/statuslists/1"}})
    assert ref == StatusReference(idx=0, uri="https://example.com/statuslists/1")


def test_parse_status_claim_from_cwt_and_mdoc_examples() -> None:
    # §6.3 CWT example: claim 65535 holds {"status_list": {"idx": 0, "uri": ...}}
    cwt = bytes.fromhex(
        "d28443a10126a1044231325866a502653132333435017368747470733a2f2f657861"
        "6d706c652e636f6d061a648c5bea041a8898dfea19ffffa16b7374617475735f6c69"
        "7374a2636964780063757269782168747470733a2f2f6578616d706c652e636f6d2f"
        "7374617475736c697374732f315840cd112019aa116d3c67eb9896892c6d5580f3d1"
        "85b66fe64c46bf8690d3543bbc36d907735bd81cc541e283a642034fdca5e4355068"
        "27e0efed08815c2166b9a9"
    )
    sign1 = decode_sign1(cwt)
    assert sign1.payload is not None
    ref = parse_status_claim(cbor2.loads(sign1.payload)[65535])
    assert ref == StatusReference(idx=0, uri="https://example.com/statuslists/1")
    # §6.3 mdoc example: MSO "status" with idx 412
    assert parse_status_claim({"status_list": {"idx": 412, "uri": "https://example.com/statuslists/1"}}).idx == 412


def test_parse_status_claim_ignores_other_mechanisms() -> None:
    ref = parse_status_claim({"status_list": {"idx": 3, "uri": URI}, "other_mechanism": {"x": 1}})
    assert ref.idx == 3


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (None, "status_claim_invalid"),
        ([], "status_claim_invalid"),
        ({}, "status_claim_missing_status_list"),
        ({"other": {}}, "status_claim_missing_status_list"),
        ({"status_list": "x"}, "status_claim_invalid"),
        ({"status_list": {"uri": URI}}, "status_claim_invalid_idx"),
        ({"status_list": {"idx": -1, "uri": URI}}, "status_claim_invalid_idx"),
        ({"status_list": {"idx": True, "uri": URI}}, "status_claim_invalid_idx"),
        ({"status_list": {"idx": 1.0, "uri": URI}}, "status_claim_invalid_idx"),
        ({"status_list": {"idx": "1", "uri": URI}}, "status_claim_invalid_idx"),
        ({"status_list": {"idx": 1}}, "status_claim_invalid_uri"),
        ({"status_list": {"idx": 1, "uri": "not a uri"}}, "status_claim_invalid_uri"),
        ({"status_list": {"idx": 1, "uri": 5}}, "status_claim_invalid_uri"),
    ],
)
def test_rejects_malformed_status_claim(status: object, code: str) -> None:
    with pytest.raises(FormatError) as err:
        parse_status_claim(status)
    assert err.value.code == code


def test_referenced_token_with_other_uri_is_rejected(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    verified = verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    with pytest.raises(FormatError) as err:
        verified.status_of_reference(StatusReference(idx=7, uri="https://status.portfeil.example/lists/2"))
    assert err.value.code == "status_list_sub_mismatch"


# --- Index allocation ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 16, 1000, 4097])
def test_allocator_hands_out_every_index_exactly_once(size: int) -> None:
    alloc = IndexAllocator(size)
    seen = [alloc.allocate() for _ in range(size)]
    assert sorted(seen) == list(range(size))
    with pytest.raises(FormatError) as err:
        alloc.allocate()
    assert err.value.code == "status_list_full"


def test_allocator_order_does_not_reveal_issuance_order() -> None:
    alloc = IndexAllocator(100_000, key=b"k" * 32)
    first = [alloc.allocate() for _ in range(1000)]
    assert first != sorted(first)
    ascending = sum(1 for a, b in itertools.pairwise(first) if b > a)
    assert 400 < ascending < 600  # about half the steps go up, as for random draws
    assert max(first) > 90_000
    assert min(first) < 10_000


def test_allocator_state_persists_and_resumes() -> None:
    alloc = IndexAllocator(5000)
    before = [alloc.allocate() for _ in range(100)]
    state = AllocatorState.from_dict(json.loads(json.dumps(alloc.state.to_dict())))
    assert state.counter == 100
    resumed = IndexAllocator.from_state(state)
    after = [resumed.allocate() for _ in range(4900)]
    assert sorted(before + after) == list(range(5000))
    fresh = IndexAllocator.from_state(AllocatorState(size=5000, key=state.key))
    assert [fresh.allocate() for _ in range(100)] == before  # deterministic from key + counter


def test_allocator_different_keys_give_different_orders() -> None:
    a = IndexAllocator(10_000, key=b"a" * 32)
    b = IndexAllocator(10_000, key=b"b" * 32)
    assert [a.allocate() for _ in range(20)] != [b.allocate() for _ in range(20)]


@pytest.mark.parametrize(
    "state",
    [
        {"size": 10, "key": _b64u(b"k" * 32), "counter": 11},
        {"size": 10, "key": _b64u(b"short"), "counter": 0},
        {"size": -1, "key": _b64u(b"k" * 32), "counter": 0},
        {"size": 10, "key": "***", "counter": 0},
        {"size": 10, "counter": 0},
    ],
)
def test_allocator_rejects_bad_state(state: dict[str, object]) -> None:
    with pytest.raises(FormatError) as err:
        AllocatorState.from_dict(state)
    assert err.value.code == "status_list_allocator_invalid"


# --- helpers ---------------------------------------------------------------------------------------------------------


def _payload(sl: StatusList) -> dict[str, object]:
    return {"sub": URI, "iat": int(NOW.timestamp()), "status_list": sl.to_json()}


def _forge_jwt(key: ec.EllipticCurvePrivateKey, header: dict[str, object], payload: dict[str, object]) -> str:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    h = _b64u(json.dumps(header).encode())
    p = _b64u(json.dumps(payload).encode())
    r, s = decode_dss_signature(key.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())))
    return f"{h}.{p}.{_b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def _cwt_claims(sl: StatusList) -> dict[int, object]:
    return {2: URI, 6: int(NOW.timestamp()), 65533: sl.to_cbor_map()}


def _forge_cwt(
    key: ec.EllipticCurvePrivateKey,
    protected: dict[int, object],
    claims: dict[int, object],
    unprotected: dict[int, object] | None = None,
) -> bytes:
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    pb = cbor2.dumps(protected)
    payload = cbor2.dumps(claims)
    tbs = cbor2.dumps(["Signature1", pb, b"", payload])
    r, s = decode_dss_signature(key.sign(tbs, ec.ECDSA(hashes.SHA256())))
    sig = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    return bytes(cbor2.dumps(cbor2.CBORTag(18, [pb, unprotected or {}, payload, sig])))


def test_issued_x5c_is_standard_base64_der(pki: PKI, revoked_list: StatusList) -> None:
    _, leaf_key, leaf = pki
    token = issue_status_list_jwt(revoked_list, uri=URI, key=leaf_key, now=NOW, x5c=[leaf])
    header = parse_compact(token).header
    assert base64.b64decode(header["x5c"][0]) == leaf.public_bytes(serialization.Encoding.DER)


def test_rejects_naive_now(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    naive = NOW.replace(tzinfo=None)
    jwt = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW)
    cwt = issue_status_list_cwt(revoked_list, uri=URI, key=key, now=NOW)
    with pytest.raises(FormatError) as err:
        verify_status_list_jwt(jwt, uri=URI, now=naive, key=key.public_key())
    assert err.value.code == "status_list_naive_time"
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(cwt, uri=URI, now=naive, key=key.public_key())
    assert err.value.code == "status_list_naive_time"


def test_refresh_at_follows_ttl_and_exp(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    ts = int(NOW.timestamp())
    token = issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW, exp=ts + 7200, ttl=3600)
    verified = verify_status_list_jwt(token, uri=URI, now=NOW, key=key.public_key())
    assert verified.refresh_at(NOW) == NOW + timedelta(hours=1)
    assert verified.refresh_at(NOW + timedelta(minutes=90)) == NOW + timedelta(hours=2)  # never past exp


def test_refresh_at_clamps_hostile_ttl(key: ec.EllipticCurvePrivateKey, revoked_list: StatusList) -> None:
    tiny = verify_status_list_jwt(
        issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW, ttl=1), uri=URI, now=NOW, key=key.public_key()
    )
    assert tiny.refresh_at(NOW) == NOW + timedelta(seconds=60)
    huge = verify_status_list_jwt(
        issue_status_list_jwt(revoked_list, uri=URI, key=key, now=NOW, ttl=10**9),
        uri=URI,
        now=NOW,
        key=key.public_key(),
    )
    assert huge.refresh_at(NOW) == NOW + timedelta(days=7)


def test_parse_status_list_aggregation() -> None:
    from portfeil.formats.status_list import parse_status_list_aggregation

    doc = {"status_lists": ["https://example.com/statuslists/1", "https://example.com/statuslists/2"]}
    assert parse_status_list_aggregation(doc) == tuple(doc["status_lists"])
    bad: object
    for bad in ([], {}, {"status_lists": "x"}, {"status_lists": [1]}, {"status_lists": ["no uri"]}):
        with pytest.raises(FormatError) as err:
            parse_status_list_aggregation(bad)
        assert err.value.code == "status_list_aggregation_invalid"
