"""COSE_Sign1 / COSE_Key / hardened CBOR decoding (RFC 9052, RFC 9053, RFC 9360, RFC 8949)."""

from __future__ import annotations

import base64
import contextlib

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.cose import (
    ALG_EDDSA,
    ALG_ES256,
    ALG_ES384,
    CoseSign1,
    cbor_decode,
    cbor_decode_many,
    cose_key_from_public_key,
    decode_sign1,
    public_key_from_cose_key,
    sig_structure,
    sign1,
)

# cose-wg/Examples sign1-tests/sign-pass-02.json (external AAD) and sign-pass-03.json (untagged): the published
# key, ToBeSigned intermediate and output; public test vectors of the COSE working group.
_B64 = "usWxHK2PmfnHKwXPS54m0kTcGJ90UiglWiGahtagnv8", "IBOL-C3BttVivg-lSreASjpkttcsz-1rb7btKLv8EX4"
PASS02_TBS = bytes.fromhex(
    "846A5369676E61747572653143A101264C11AA22BB33CC44DD5500669954546869732069732074686520636F6E74656E742E"
)
PASS02 = bytes.fromhex(
    "D28443A10126A10442313154546869732069732074686520636F6E74656E742E5840EAE868ECC176883766C5DC5BA5B8DCA25DAB3C"
    "2E56A551CE5705B793914348E155388B10C4F1B59A6733EAB416870A945111A4B2FBDBEF33A77234B1DEFF2F9B"
)
PASS03 = bytes.fromhex(
    "8443A10126A10442313154546869732069732074686520636F6E74656E742E5840EAE868ECC176883766C5DC5BA5B8DCA25DAB3C2E"
    "56A551CE5705B793914348E19F43D6C6BA654472DA301B645B293C9BA939295B97C4BDB847782BFF384C5794"
)


def _b64(s: str) -> bytes:
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def _vector_key() -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicNumbers(
        int.from_bytes(_b64(_B64[0]), "big"), int.from_bytes(_b64(_B64[1]), "big"), ec.SECP256R1()
    ).public_key()


def test_sig_structure_matches_rfc_example_bytes() -> None:
    assert (
        sig_structure(bytes.fromhex("A10126"), bytes.fromhex("11aa22bb33cc44dd55006699"), b"This is the content.")
        == PASS02_TBS
    )


def test_verifies_cose_wg_vector_with_external_aad() -> None:
    msg = decode_sign1(PASS02, require_tag=True)
    assert msg.alg == ALG_ES256
    assert msg.unprotected[4] == b"11"
    payload = msg.verify(_vector_key(), external_aad=bytes.fromhex("11aa22bb33cc44dd55006699"))
    assert payload == b"This is the content."


def test_rejects_cose_wg_vector_without_its_external_aad() -> None:
    with pytest.raises(FormatError) as exc:
        decode_sign1(PASS02).verify(_vector_key())
    assert exc.value.code == "cose_bad_signature"


def test_verifies_untagged_vector_and_require_tag_refuses_it() -> None:
    assert decode_sign1(PASS03).verify(_vector_key()) == b"This is the content."
    assert decode_sign1(PASS03).tagged is False
    with pytest.raises(FormatError):
        decode_sign1(PASS03, require_tag=True)
    with pytest.raises(FormatError):
        decode_sign1(PASS02, require_tag=False)


@pytest.mark.parametrize(
    ("key", "alg"),
    [
        (ec.generate_private_key(ec.SECP256R1()), ALG_ES256),
        (ec.generate_private_key(ec.SECP384R1()), ALG_ES384),
        (ed25519.Ed25519PrivateKey.generate(), ALG_EDDSA),
    ],
)
def test_sign_verify_roundtrip_each_algorithm(key: ec.EllipticCurvePrivateKey, alg: int) -> None:
    msg = sign1(b"payload", key)
    decoded = decode_sign1(msg.encode())
    assert decoded.alg == alg
    assert decoded.tagged
    assert decoded.encode() == msg.encode()
    assert decoded.verify(key.public_key()) == b"payload"


def test_detached_payload_roundtrip_and_rejects_wrong_detached_payload() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = decode_sign1(sign1(b"detached", key, detached=True).encode())
    assert msg.payload is None
    assert msg.verify(key.public_key(), detached_payload=b"detached") == b"detached"
    with pytest.raises(FormatError) as exc:
        msg.verify(key.public_key(), detached_payload=b"other")
    assert exc.value.code == "cose_bad_signature"
    with pytest.raises(FormatError) as exc:
        msg.verify(key.public_key())
    assert exc.value.code == "cose_detached_payload_missing"


def test_rejects_detached_payload_given_for_attached_message() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(FormatError) as exc:
        sign1(b"x", key).verify(key.public_key(), detached_payload=b"x")
    assert exc.value.code == "cose_payload_not_detached"


def test_x5chain_single_and_array() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    one = decode_sign1(sign1(b"p", key, x5chain=[b"cert-a"]).encode())
    assert one.unprotected[33] == b"cert-a"
    assert one.x5chain == (b"cert-a",)
    two = decode_sign1(sign1(b"p", key, x5chain=[b"a", b"b"], x5chain_protected=True).encode())
    assert two.protected[33] == [b"a", b"b"]
    assert two.x5chain == (b"a", b"b")


def test_rejects_malformed_x5chain() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = sign1(b"p", key, unprotected={33: [1, 2]})
    with pytest.raises(FormatError):
        _ = decode_sign1(msg.encode()).x5chain


def test_rejects_alg_outside_allow_list() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    msg = decode_sign1(sign1(b"p", key).encode())
    with pytest.raises(FormatError) as exc:
        msg.verify(key.public_key(), allowed_algs={ALG_ES256})
    assert exc.value.code == "cose_alg_not_allowed"


def test_rejects_algorithm_confusion_es384_header_with_p256_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = sign1(b"p", key)
    forged_protected = cbor2.dumps({1: ALG_ES384})
    forged = CoseSign1(forged_protected, {1: ALG_ES384}, {}, b"p", msg.signature)
    with pytest.raises(FormatError) as exc:
        decode_sign1(forged.encode()).verify(key.public_key())
    assert exc.value.code == "cose_alg_key_mismatch"


def test_rejects_eddsa_header_with_ec_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    forged = CoseSign1(cbor2.dumps({1: ALG_EDDSA}), {1: ALG_EDDSA}, {}, b"p", b"\x00" * 64)
    with pytest.raises(FormatError) as exc:
        decode_sign1(forged.encode()).verify(key.public_key())
    assert exc.value.code == "cose_alg_key_mismatch"


def test_rejects_alg_in_unprotected_header() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = sign1(b"p", key)
    arr = [b"", {1: ALG_ES256}, b"p", msg.signature]
    with pytest.raises(FormatError) as exc:
        decode_sign1(cbor2.dumps(arr))
    assert exc.value.code == "cose_alg_unprotected"


def test_rejects_missing_alg() -> None:
    arr = [b"", {}, b"p", b"\x00" * 64]
    msg = decode_sign1(cbor2.dumps(arr))
    with pytest.raises(FormatError) as exc:
        msg.verify(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert exc.value.code == "cose_missing_alg"


def test_rejects_unknown_critical_header() -> None:
    prot = cbor2.dumps({1: ALG_ES256, 2: [99], 99: "x"})
    with pytest.raises(FormatError) as exc:
        decode_sign1(cbor2.dumps([prot, {}, b"p", b"\x00" * 64]))
    assert exc.value.code == "cose_unknown_critical_header"


def test_rejects_truncated_or_padded_signature() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = sign1(b"p", key)
    for sig in (msg.signature[:-1], msg.signature + b"\x00"):
        bad = CoseSign1(msg.protected_bytes, {1: ALG_ES256}, {}, b"p", sig)
        with pytest.raises(FormatError) as exc:
            bad.verify(key.public_key())
        assert exc.value.code == "cose_bad_signature"


def test_rejects_tampered_protected_header() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    msg = sign1(b"p", key, protected={3: "application/cbor"})
    bad_prot = cbor2.dumps({1: ALG_ES256, 3: "text/plain"})
    bad = CoseSign1(bad_prot, {1: ALG_ES256, 3: "text/plain"}, {}, b"p", msg.signature)
    with pytest.raises(FormatError):
        bad.verify(key.public_key())


@pytest.mark.parametrize(
    "blob",
    [
        cbor2.dumps(cbor2.CBORTag(17, [b"", {}, b"", b""])),  # COSE_Mac0 tag
        cbor2.dumps([b"", {}, b""]),
        cbor2.dumps([{}, {}, b"", b""]),
        cbor2.dumps([b"", [], b"", b""]),
        cbor2.dumps([b"", {}, 5, b""]),
        cbor2.dumps([b"", {}, b"", "sig"]),
        cbor2.dumps([b"\xff", {}, b"", b""]),
        cbor2.dumps([cbor2.dumps([1]), {}, b"", b""]),
        cbor2.dumps([b"", {1.5: 1}, b"", b""]),
    ],
)
def test_rejects_malformed_cose_structures(blob: bytes) -> None:
    with pytest.raises(FormatError):
        decode_sign1(blob)


def test_cbor_decode_rejects_trailing_bytes() -> None:
    with pytest.raises(FormatError) as exc:
        cbor_decode(cbor2.dumps(1) + b"\x00")
    assert exc.value.code == "cbor_malformed"


def test_cbor_decode_rejects_duplicate_map_keys() -> None:
    with pytest.raises(FormatError):
        cbor_decode(bytes.fromhex("a2016161016162"))


def test_cbor_decode_rejects_oversized_input() -> None:
    with pytest.raises(FormatError) as exc:
        cbor_decode(cbor2.dumps(b"x" * 100), max_bytes=50)
    assert exc.value.code == "cbor_too_large"


def test_cbor_decode_rejects_deep_nesting() -> None:
    with pytest.raises(FormatError):
        cbor_decode(b"\x81" * 40 + b"\x01")


def test_cbor_decode_rejects_indefinite_lengths_by_default() -> None:
    with pytest.raises(FormatError):
        cbor_decode(bytes.fromhex("9f01ff"))
    assert cbor_decode(bytes.fromhex("9f01ff"), allow_indefinite=True) == [1]


def test_cbor_decode_keeps_exotic_tags_raw() -> None:
    shared = cbor_decode(bytes.fromhex("d81c81d81d00"))  # value sharing would make a cycle
    assert isinstance(shared, cbor2.CBORTag)
    assert shared.tag == 28
    regex = cbor_decode(bytes.fromhex("d8236161"))
    assert isinstance(regex, cbor2.CBORTag)
    assert regex.tag == 35


@pytest.mark.parametrize(
    "key",
    [
        ec.generate_private_key(ec.SECP256R1()).public_key(),
        ec.generate_private_key(ec.SECP384R1()).public_key(),
        ec.generate_private_key(ec.SECP521R1()).public_key(),
        ed25519.Ed25519PrivateKey.generate().public_key(),
    ],
)
def test_cose_key_roundtrip(key: ec.EllipticCurvePublicKey) -> None:
    cose_key = cbor_decode(cbor2.dumps(cose_key_from_public_key(key)))
    assert public_key_from_cose_key(cose_key) == key


def test_cose_key_compressed_point() -> None:
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    full = cose_key_from_public_key(key)
    y_odd = bool(int.from_bytes(full[-3], "big") & 1)
    assert public_key_from_cose_key({1: 2, -1: 1, -2: full[-2], -3: y_odd}) == key


@pytest.mark.parametrize(
    "cose_key",
    [
        {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32},  # not on the curve
        {1: 2, -1: 1, -2: b"\x01" * 31, -3: b"\x02" * 32},
        {1: 2, -1: 9, -2: b"\x01" * 32, -3: b"\x02" * 32},
        {1: 3, -1: 1},
        {1: 1, -1: 6, -2: b"\x01" * 5},
        {1: 2, -1: 1, -2: b"\x01" * 32, -3: b"\x02" * 32, -4: b"\x03" * 32},
        [1, 2],
    ],
)
def test_rejects_bad_cose_keys(cose_key: object) -> None:
    with pytest.raises(FormatError):
        public_key_from_cose_key(cose_key)


_VALID = sign1(b"fuzz", ec.generate_private_key(ec.SECP256R1()), x5chain=[b"c1", b"c2"]).encode()


@settings(max_examples=400, deadline=None)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes_only_format_error(blob: bytes) -> None:
    with contextlib.suppress(FormatError):
        decode_sign1(blob).x5chain  # noqa: B018


@settings(max_examples=400, deadline=None)
@given(st.integers(min_value=0, max_value=len(_VALID) - 1), st.integers(min_value=0, max_value=255))
def test_fuzz_mutated_valid_message_only_format_error(pos: int, byte: int) -> None:
    blob = bytearray(_VALID)
    blob[pos] = byte
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    try:
        msg = decode_sign1(bytes(blob))
        msg.x5chain  # noqa: B018
        msg.verify(key)
    except FormatError:
        pass


# ----------------------------------------------------------------------------- cbor_decode_many
def test_decode_many_equals_decoding_each() -> None:
    chunks = [cbor2.dumps(v) for v in (1, "a", {"x": [1, 2]}, b"\x00" * 40, None)]
    assert cbor_decode_many(chunks) == [cbor_decode(c) for c in chunks]


@pytest.mark.parametrize(
    "chunks",
    [
        [cbor2.dumps(1) + cbor2.dumps(2), cbor2.dumps(3)],  # trailing item in the first chunk
        [b"\x82\x01", b"\x02"],  # truncated first chunk completed by the next one
        [b"\x82\x01", b"\x02", cbor2.dumps(4)],
        [cbor2.dumps(1), b""],
        [cbor2.dumps(1), b"\x51"],  # a bstr head that would swallow the separator
        [cbor2.dumps(1), b"\xff"],
    ],
)
def test_decode_many_rejects_chunks_that_are_not_exactly_one_item(chunks: list[bytes]) -> None:
    with pytest.raises(FormatError):
        cbor_decode_many(chunks)


def _individually(chunks: list[bytes]) -> list[object] | None:
    try:
        return [cbor_decode(c) for c in chunks]
    except FormatError:
        return None


@settings(max_examples=500, deadline=None)
@given(st.lists(st.binary(min_size=1, max_size=12), min_size=1, max_size=6))
def test_fuzz_decode_many_agrees_with_decoding_each(chunks: list[bytes]) -> None:
    expected = _individually(chunks)
    try:
        got = cbor_decode_many(chunks)
    except FormatError:
        assert expected is None
        return
    assert repr(got) == repr(expected)  # repr: NaN != NaN
