"""The batched hot paths of SD-JWT and mdoc verification (benchmarks/README.md) decide exactly as the one-at-a-time
definitions: every refusal is named, wherever in the batch the bad item sits, and the caches keyed by identity or
encoding never answer for another input."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.formats import FormatError, jws, sdjwt
from portfeil.formats.cose import cose_key_from_public_key, public_key_from_cose_key
from portfeil.formats.mdoc import _elements_fast
from portfeil.pki.ca import create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.errors import PKIError
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def disclosure(*content: Any) -> str:
    return b64(json.dumps(list(content), ensure_ascii=False).encode())


GOOD = [disclosure("salt-a", "given_name", "Иван"), disclosure("salt-bb", "age", 41), disclosure("salt-c", "BG"),
        disclosure("salt-dddd", "place", {"_sd": ["x"]})]


def code_of(fn: Any) -> str:
    with pytest.raises(FormatError) as exc:
        fn()
    return exc.value.code


# --- SD-JWT Disclosures


def test_batch_equals_one_at_a_time() -> None:
    table = sdjwt._digest_disclosures(GOOD, "sha-256")
    one_by_one = {sdjwt.disclosure_digest(d): json.loads(base64.urlsafe_b64decode(d + "=" * (-len(d) % 4)))
                  for d in GOOD}
    assert table == one_by_one
    assert [sdjwt.parse_disclosure(d).value for d in GOOD] == [c[-1] for c in one_by_one.values()]


@pytest.mark.parametrize("position", [0, 1, 3])
@pytest.mark.parametrize(("bad", "code"), [
    ("W yJ", "malformed_base64url"),  # whitespace: lenient decoding would skip it, the re-encoding does not match
    ("WyJ.", "malformed_base64url"),
    ("QR", "malformed_base64url"),  # non-canonical trailing bits (2 characters)
    ("WyJhIiwiYiJdA", "malformed_base64url"),
    ("WyJhIiwiYiJdAB", "malformed_base64url"),  # non-canonical trailing bits (3 characters)
    ("WyJhI", "malformed_base64url"),  # 4k+1 characters
    (b64(b"\xff\xfe"), "malformed_disclosure"),  # not UTF-8
    (b64(b'["s","n","v"] x'), "malformed_disclosure"),  # trailing garbage after the value
    (b64(b'["s","__proto__",1,2]'), "malformed_disclosure"),
    (b64(b'[1,"n","v"]'), "malformed_disclosure"),
    (b64(b'{"s":1}'), "malformed_disclosure"),
])
def test_batch_names_a_bad_disclosure_anywhere(position: int, bad: str, code: str) -> None:
    # (claim names are checked where a Disclosure is used, see test_sdjwt.py's reserved-name tests)
    batch = [*GOOD]
    batch.insert(position, bad)
    assert code_of(lambda: sdjwt._digest_disclosures(batch, "sha-256")) == code


def test_batch_accepts_whitespace_around_the_json() -> None:
    padded = b64(b' ["s", "name", "v"]\n')
    table = sdjwt._digest_disclosures([*GOOD, padded], "sha-256")
    assert table[sdjwt.disclosure_digest(padded)] == ["s", "name", "v"]


def test_batch_refuses_the_same_disclosure_twice() -> None:
    assert code_of(lambda: sdjwt._digest_disclosures([*GOOD, GOOD[1]], "sha-256")) == "duplicate_disclosure"


@pytest.mark.parametrize("text", [' {"a": 1}', '{"a": 1} ', '{"a": 1}x', '{"a": 1, "a": 2}', '{"a": NaN}'])
def test_strict_json_fast_path_agrees_with_full_decoder(text: str) -> None:
    try:
        expected: Any = json.loads(text, object_pairs_hook=jws._unique_pairs, parse_constant=jws._reject_constant)
    except ValueError:
        assert code_of(lambda: jws.json_loads_strict(text)) == "malformed_json"
    else:
        assert jws.json_loads_strict(text) == expected


# --- JWS signature on a digest


def test_verify_signature_digest() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signed = jws.sign_compact(b"payload", key)
    signing_input, _, sig64 = signed.rpartition(".")
    sig = jws.b64url_decode(sig64)
    digest = hashlib.sha256(signing_input.encode()).digest()
    jws.verify_signature_digest(key.public_key(), "ES256", sig, digest)
    bad = bytes([digest[0] ^ 1]) + digest[1:]
    assert code_of(lambda: jws.verify_signature_digest(key.public_key(), "ES256", sig, bad)) == "bad_signature"
    assert code_of(lambda: jws.verify_signature_digest(key.public_key(), "ES256", sig, digest[:31])) == \
        "bad_signature"
    assert code_of(lambda: jws.verify_signature_digest(key.public_key(), "ES384", sig, digest)) == \
        "alg_key_mismatch"
    assert code_of(lambda: jws.verify_signature_digest(key.public_key(), "EdDSA", sig, digest)) == \
        "unsupported_alg"
    ed = ed25519.Ed25519PrivateKey.generate().public_key()
    assert code_of(lambda: jws.verify_signature_digest(ed, "ES256", sig, digest)) == "alg_key_mismatch"


def test_verify_signature_refuses_a_key_of_another_curve() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    sig = bytes(64)
    assert code_of(lambda: jws.verify_signature(key.public_key(), "ES256", sig, b"x")) == "alg_key_mismatch"


# --- caches


def test_iss_cache_answers_per_leaf() -> None:
    root = create_root_ca("Fast Root", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    one = issue_leaf(root, "one", key, Role.PID_PROVIDER, now=NOW - timedelta(hours=1), san_uris=["https://one.bg"])
    two = issue_leaf(root, "two", key, Role.PID_PROVIDER, now=NOW - timedelta(hours=1), san_uris=["https://two.bg"])
    for _ in range(2):
        assert sdjwt.iss_matches_leaf("https://one.bg", one)
        assert not sdjwt.iss_matches_leaf("https://one.bg", two)
        assert sdjwt.iss_matches_leaf("https://two.bg", two)


def test_chain_cache_hit_keeps_input_checks() -> None:
    root = create_root_ca("Fast Root 2", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
    leaf = issue_leaf(root, "leaf", ec.generate_private_key(ec.SECP256R1()).public_key(), Role.PID_PROVIDER,
                      now=NOW - timedelta(hours=1), san_uris=["https://leaf.bg"])
    der = leaf.public_bytes(Encoding.DER)
    validator = ChainValidator([root.certificate], Role.PID_PROVIDER)
    first = validator.validate((der,), now=NOW)
    assert validator.validate([der], now=NOW) is first  # a list hits the same entry as the tuple
    assert validator.hits == 1
    for bad, code in [((), "malformed_certificate"), ((der.decode("latin-1"),), "malformed_certificate"),
                      ((der,) * 9, "chain_too_long"), (der, "malformed_certificate")]:
        with pytest.raises(PKIError) as exc:
            validator.validate(bad, now=NOW)  # type: ignore[arg-type]
        assert exc.value.code == code
    with pytest.raises(PKIError) as exc:
        validator.validate((der,), now=NOW.replace(tzinfo=None))
    assert exc.value.code == "naive_datetime"
    with pytest.raises(PKIError) as exc:
        validator.validate((der,), now=NOW + timedelta(days=3650))
    assert exc.value.code == "certificate_expired"


def test_cose_key_cache_returns_the_same_validated_key() -> None:
    pub = ec.generate_private_key(ec.SECP256R1()).public_key()
    cose = cose_key_from_public_key(pub)
    first = public_key_from_cose_key(cose)
    assert public_key_from_cose_key(dict(cose)) is first
    assert isinstance(first, ec.EllipticCurvePublicKey)
    assert first.public_numbers() == pub.public_numbers()
    off_curve = {**cose, -3: bytes(32)}
    for _ in range(2):  # never cached
        assert code_of(lambda: public_key_from_cose_key(off_curve)) == "cose_bad_key"
    other = cose_key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())
    assert public_key_from_cose_key(other) is not first


# --- mdoc elements


def _item(digest_id: int, name: str, value: Any) -> bytes:
    import cbor2

    return cbor2.dumps({"digestID": digest_id, "random": b"r" * 16, "elementIdentifier": name, "elementValue": value})


def _digest(raw: bytes) -> bytes:
    import cbor2

    return hashlib.sha256(cbor2.dumps(cbor2.CBORTag(24, raw))).digest()


def test_elements_fast_path_accepts_only_exact_matches() -> None:
    import cbor2

    raws = [_item(1, "a", "x"), _item(2, "b", {"c": [1, 2]}), _item(3, "c", True)]
    items = [cbor2.loads(r) for r in raws]
    digests = {i + 1: _digest(r) for i, r in enumerate(raws)}
    assert _elements_fast(raws, items, digests, hashlib.sha256) == {"a": "x", "b": {"c": [1, 2]}, "c": True}
    # each of these leaves the decision to the item-by-item checks, which name the fault
    assert _elements_fast(raws, items, {**digests, 2: digests[3]}, hashlib.sha256) is None
    assert _elements_fast(raws, items, {1: digests[1], 3: digests[3]}, hashlib.sha256) is None
    # digests of other lengths that happen to join to the same bytes
    joined = digests[1] + digests[2]
    assert _elements_fast(raws, items, {1: joined[:31], 2: joined[31:], 3: digests[3]}, hashlib.sha256) is None
    twice = [raws[0], raws[0]]
    assert _elements_fast(twice, [items[0], items[0]], digests, hashlib.sha256) is None
    missing = [{k: v for k, v in items[0].items() if k != "elementValue"}, items[1], items[2]]
    assert _elements_fast(raws, missing, digests, hashlib.sha256) is None
    as_bool = [{**items[0], "digestID": True}, items[1], items[2]]
    assert _elements_fast(raws, as_bool, {True: digests[1], 2: digests[2], 3: digests[3]}, hashlib.sha256) is None


def test_x5c_member_encodes_each_certificate_and_never_answers_for_another() -> None:
    root = create_root_ca("Fast paths root", Role.PID_PROVIDER, now=NOW - timedelta(days=1))
    certs = [issue_leaf(root, f"leaf {i}", ec.generate_private_key(ec.SECP256R1()).public_key(), Role.PID_PROVIDER,
                        now=NOW - timedelta(hours=1)) for i in range(3)]
    expected = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in [*certs, root.certificate]]
    assert jws.x5c_member([*certs, root.certificate]) == expected
    assert jws.x5c_member([*certs, root.certificate]) == expected  # from the cache
    for _ in range(3):  # new objects (ids may be reused once the old ones are gone) get their own encoding
        fresh = issue_leaf(root, "fresh", ec.generate_private_key(ec.SECP256R1()).public_key(), Role.PID_PROVIDER,
                           now=NOW - timedelta(hours=1))
        assert jws.x5c_member([fresh]) == [base64.b64encode(fresh.public_bytes(Encoding.DER)).decode()]
        del fresh


def test_issued_salts_are_all_distinct_and_full_length() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    claims = {f"claim_{i}": i for i in range(40)} | {"nested": {f"n{i}": i for i in range(10)}}
    issued = sdjwt.issue_sd_jwt(claims, issuer_key=key, decoys=3)
    salts = [sdjwt.parse_disclosure(d).salt for d in sdjwt.split_sd_jwt(issued).disclosures]
    assert len(salts) == 51
    assert len(set(salts)) == len(salts)
    assert all(len(base64.urlsafe_b64decode(s + "==")) == 16 for s in salts)
