"""SD-JWT (RFC 9901) and SD-JWT VC (draft-ietf-oauth-sd-jwt-vc-13): vectors, round trips, named negative tests."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding

from portfeil.formats import FormatError, jws, sdjwt
from portfeil.formats.sdjwt import StatusReference
from portfeil.pki.ca import IssuedCertificate, create_intermediate_ca, create_root_ca, issue_leaf
from portfeil.pki.chains import ChainValidator
from portfeil.pki.roles import Role

FIXTURES = Path(__file__).parent.parent / "fixtures"
RFC = json.loads((FIXTURES / "rfc9901_section5.json").read_text())
RFC_TIME = datetime(2024, 1, 1, tzinfo=UTC)  # between the example's iat (2023-05-02) and exp (2029-09)
# RFC 9901 Appendix A.5: the example holder key (its public part is the cnf.jwk of the §5.1 example).
RFC_HOLDER_D = "5K5SCos8zf9zRemGGUl6yfok-_NiiryNZsvANWMhF-I"

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISS = "https://pid.portfeil.bg"
AUD = "x509_san_dns:verifier.example.bg"
NONCE = "n-0S6_WzA2Mj"

PID_CLAIMS: dict[str, Any] = {
    "given_name": "Иван",
    "family_name": "Петров",
    "birthdate": "1985-06-25",
    "place_of_birth": {"country": "BG", "locality": "София"},
    "nationalities": ["BG", "DE"],
    "address": {
        "street_address": "ул. Витоша 1",
        "locality": "София",
        "postal_code": "1000",
        "country": "BG",
    },
    "personal_administrative_number": "8506258485",
    "sex": 1,
    "issuing_authority": "МВР",
    "issuing_country": "BG",
    "date_of_expiry": "2036-11-23",
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Issuer:
    """A PID provider: root CA -> intermediate -> leaf with SAN URI, and its chain validator."""

    def __init__(self, name: str = "PID", role: Role = Role.PID_PROVIDER) -> None:
        self.root = create_root_ca(f"{name} Root", role, now=NOW - timedelta(days=30))
        self.ca: IssuedCertificate = create_intermediate_ca(self.root, f"{name} CA", role, now=NOW - timedelta(days=30))
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.leaf = issue_leaf(self.ca, f"{name} issuer", self.key.public_key(), role,
                               now=NOW - timedelta(days=1), san_uris=[ISS], san_dns=["pid.portfeil.bg"])
        self.chain: list[x509.Certificate] = self.ca.chain_for(self.leaf)
        self.trust = ChainValidator([self.root.certificate], role)


@pytest.fixture(scope="module")
def issuer() -> Issuer:
    return Issuer()


@pytest.fixture(scope="module")
def holder() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def issue(issuer: Issuer, holder: ec.EllipticCurvePrivateKey | None, **kw: Any) -> str:
    args: dict[str, Any] = {
        "issuer_key": issuer.key,
        "issuer_chain": issuer.chain,
        "vct": "urn:eudi:pid:1",
        "iss": ISS,
        "holder_jwk": jws.public_jwk(holder) if holder is not None else None,
        "now": NOW - timedelta(hours=1),
        "expires_in": timedelta(days=90),
    }
    args.update(kw)
    claims = args.pop("claims", PID_CLAIMS)
    return sdjwt.issue_sd_jwt_vc(claims, **args)


def presentation(token: str, holder: ec.EllipticCurvePrivateKey, paths: Any = (("given_name",),), **kw: Any) -> str:
    args: dict[str, Any] = {"holder_key": holder, "aud": AUD, "nonce": NONCE, "now": NOW}
    args.update(kw)
    return sdjwt.present(token, paths, **args)


def verify(token: str, issuer: Issuer, **kw: Any) -> sdjwt.VerifiedSdJwt:
    args: dict[str, Any] = {"trust": issuer.trust, "now": NOW, "aud": AUD, "nonce": NONCE}
    args.update(kw)
    return sdjwt.verify_sd_jwt_vc(token, **args)


def resign(issuer: Issuer, token: str, edit: Callable[[dict[str, Any], dict[str, Any]], None],
           extra: list[str] | None = None) -> str:
    """Re-sign the issuer JWT of ``token`` after ``edit(header, payload)``; keep the Disclosures (+ ``extra``)."""
    parts = sdjwt.split_sd_jwt(token)
    parsed = jws.parse_compact(parts.issuer_jwt)
    header, payload = dict(parsed.header), dict(parsed.payload)
    edit(header, payload)
    header["x5c"] = [base64.b64encode(c.public_bytes(Encoding.DER)).decode() for c in issuer.chain]
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    r, s = decode_dss_signature(issuer.key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    jwt = f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
    return jwt + "~" + "".join(d + "~" for d in [*parts.disclosures, *(extra or [])])


def code_of(fn: Callable[[], object]) -> str:
    with pytest.raises(FormatError) as err:
        fn()
    return err.value.code


# --- RFC 9901 published examples


@pytest.mark.parametrize("example", RFC["digest_examples"])
def test_rfc9901_disclosure_digests_reproduce(example: dict[str, str]) -> None:
    assert sdjwt.disclosure_digest(example["disclosure"]) == example["digest"]


def test_rfc9901_section5_all_disclosures_verify() -> None:
    key = jws.public_key_from_jwk(RFC["issuer_public_jwk"])
    token = RFC["issuer_jwt"] + "~" + "".join(d + "~" for d in RFC["disclosures"].values())
    out = sdjwt.verify_sd_jwt(token, key=key, now=RFC_TIME, require_key_binding=False)
    assert out.claims["given_name"] == "John"
    assert out.claims["address"]["locality"] == "Anytown"
    assert out.claims["nationalities"] == ["US", "DE"]
    assert out.claims["updated_at"] == 1570000000
    assert "_sd" not in out.claims
    assert "_sd_alg" not in out.claims
    assert set(out.disclosed_paths) == {
        ("given_name",), ("family_name",), ("email",), ("phone_number",), ("phone_number_verified",),
        ("address",), ("birthdate",), ("updated_at",), ("nationalities", 0), ("nationalities", 1),
    }


def test_rfc9901_section5_presentation_with_our_key_binding() -> None:
    """RFC §5.2 discloses family_name, address, given_name and the US nationality; we add a KB-JWT signed
    with the example holder key of Appendix A.5 and check our verifier on the RFC issuer signature."""
    holder_jwk = RFC_HOLDER_JWK = {**jws.parse_compact(RFC["issuer_jwt"]).payload["cnf"]["jwk"]}
    d = int.from_bytes(jws.b64url_decode(RFC_HOLDER_D), "big")
    holder_key = ec.derive_private_key(d, ec.SECP256R1())
    assert jws.public_jwk(holder_key) == RFC_HOLDER_JWK == holder_jwk
    full = RFC["issuer_jwt"] + "~" + "".join(d + "~" for d in RFC["disclosures"].values())
    pres = sdjwt.present(full, [("family_name",), ("address",), ("given_name",), ("nationalities", 0)],
                         holder_key=holder_key, aud="https://verifier.example.org", nonce="1234567890",
                         now=RFC_TIME)
    parts = sdjwt.split_sd_jwt(pres)
    assert set(parts.disclosures) == {RFC["disclosures"][n] for n in
                                      ("family_name", "address", "given_name", "nationality_US")}
    out = sdjwt.verify_sd_jwt(pres, key=jws.public_key_from_jwk(RFC["issuer_public_jwk"]), now=RFC_TIME,
                              aud="https://verifier.example.org", nonce="1234567890")
    assert out.claims["nationalities"] == ["US"]
    assert "email" not in out.claims
    assert out.key_binding is not None
    assert out.key_binding.nonce == "1234567890"


def test_rfc9901_example_rejected_after_its_exp() -> None:
    key = jws.public_key_from_jwk(RFC["issuer_public_jwk"])
    token = RFC["issuer_jwt"] + "~"
    assert code_of(lambda: sdjwt.verify_sd_jwt(token, key=key, now=datetime(2030, 1, 1, tzinfo=UTC),
                                               require_key_binding=False)) == "sd_jwt_expired"


# --- issuance


def test_issued_vc_shape(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, status=StatusReference(42, "https://status.portfeil.bg/lists/1"), decoys=3)
    parts = sdjwt.split_sd_jwt(token)
    parsed = jws.parse_compact(parts.issuer_jwt)
    assert parsed.header["typ"] == "dc+sd-jwt"
    assert parsed.header["alg"] == "ES256"
    assert len(parsed.header["x5c"]) == 2
    p = parsed.payload
    assert p["_sd_alg"] == "sha-256"
    assert p["vct"] == "urn:eudi:pid:1"
    assert p["iss"] == ISS
    assert p["cnf"] == {"jwk": jws.public_jwk(holder)}
    assert p["status"] == {"status_list": {"idx": 42, "uri": "https://status.portfeil.bg/lists/1"}}
    assert p["exp"] - p["iat"] == 90 * 86400
    for name in PID_CLAIMS:
        assert name not in p  # every user claim is selectively disclosable by default
    assert len(p["_sd"]) == len(PID_CLAIMS) + 3  # + decoys
    assert p["_sd"] == sorted(p["_sd"])
    # each nested claim is its own Disclosure (PID_21), and so is each array element
    discs = [sdjwt.parse_disclosure(d) for d in parts.disclosures]
    address = next(d for d in discs if d.name == "address")
    assert set(address.value) == {"_sd"}
    assert len(address.value["_sd"]) == 4 + 3
    nat = next(d for d in discs if d.name == "nationalities")
    assert all(set(e) == {"..."} for e in nat.value)
    assert len(parts.disclosures) == len(PID_CLAIMS) + 4 + 2 + 2


def test_salts_have_128_bits_and_are_unique(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    discs = [sdjwt.parse_disclosure(d) for d in sdjwt.split_sd_jwt(issue(issuer, holder)).disclosures]
    salts = [d.salt for d in discs]
    assert len(set(salts)) == len(salts)
    assert all(len(jws.b64url_decode(s)) >= 16 for s in salts)


def test_disclosure_policy_limits_what_is_hidden(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, disclosure_policy=[("given_name",), ("address", "locality"), ("nationalities", None)])
    p = jws.parse_compact(sdjwt.split_sd_jwt(token).issuer_jwt).payload
    assert "given_name" not in p
    assert p["family_name"] == "Петров"
    assert p["address"]["postal_code"] == "1000"
    assert "locality" not in p["address"]
    assert all("..." in e for e in p["nationalities"])


def test_issue_refuses_iss_not_in_certificate(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    assert code_of(lambda: issue(issuer, holder, iss="https://evil.example")) == "iss_san_mismatch"


def test_issue_refuses_to_hide_protected_claims(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    assert code_of(lambda: issue(issuer, holder, disclosure_policy=[("exp",)])) == "protected_claim_disclosed"


def test_issue_refuses_reserved_claim_names(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    assert code_of(lambda: issue(issuer, holder, claims={"a": {"_sd": 1}})) == "reserved_claim_name"
    assert code_of(lambda: issue(issuer, holder, claims={"vct": "x"})) == "reserved_claim_name"


def test_issue_without_iss(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, iss=None)
    out = verify(presentation(token, holder), issuer)
    assert out.iss is None
    assert "iss" not in out.claims


def test_iss_may_be_dns_uri_of_san_dns(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """draft-ietf-oauth-sd-jwt-vc-13 §3.5: a DNS URI (RFC 4501) in iss is matched against the dNSName SANs."""
    token = issue(issuer, holder, iss="dns:pid.portfeil.bg")
    assert verify(presentation(token, holder), issuer).iss == "dns:pid.portfeil.bg"


def test_rejects_https_iss_matching_only_a_dns_san(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """Any iss other than a DNS URI must equal a URI SAN: the host of an https URL is not enough."""
    assert code_of(lambda: issue(issuer, holder, iss="https://pid.portfeil.bg/other")) == "iss_san_mismatch"
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.update(iss="https://pid.portfeil.bg/other"))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "iss_san_mismatch"


# --- presentation and verification round trip


def test_round_trip_selective_nested_claim(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, status=StatusReference(7, "https://status.portfeil.bg/1"))
    pres = presentation(token, holder, [("address", "locality"), ("given_name",)])
    out = verify(pres, issuer)
    assert out.claims["address"] == {"locality": "София"}  # the parent is disclosed, siblings are not
    assert out.claims["given_name"] == "Иван"
    assert "family_name" not in out.claims
    assert "birthdate" not in out.claims
    assert set(out.disclosed_paths) == {("address",), ("address", "locality"), ("given_name",)}
    assert out.vct == "urn:eudi:pid:1"
    assert out.iss == ISS
    assert out.leaf == issuer.leaf
    assert out.cnf == {"jwk": jws.public_jwk(holder)}
    assert out.status == StatusReference(7, "https://status.portfeil.bg/1")
    assert out.key_binding is not None
    assert out.key_binding.aud == AUD
    assert out.header["typ"] == "dc+sd-jwt"


def test_round_trip_array_elements(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder)
    assert verify(presentation(token, holder, [("nationalities", 1)]), issuer).claims["nationalities"] == ["DE"]
    assert verify(presentation(token, holder, [("nationalities", None)]), issuer).claims["nationalities"] == [
        "BG", "DE"]
    out = verify(presentation(token, holder, [("nationalities",)]), issuer)
    assert out.claims["nationalities"] == ["BG", "DE"]


def test_whole_object_discloses_children(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    out = verify(presentation(issue(issuer, holder), holder, [("address",)]), issuer)
    assert out.claims["address"] == PID_CLAIMS["address"]


def test_present_nothing(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    out = verify(presentation(issue(issuer, holder), holder, []), issuer)
    assert out.disclosed_paths == ()
    assert set(out.claims) == {"vct", "iss", "iat", "exp", "cnf"}


def test_wallet_checks_issued_credential_without_kb(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    out = verify(issue(issuer, holder), issuer, require_key_binding=False, aud=None, nonce=None)
    assert out.claims["place_of_birth"] == {"country": "BG", "locality": "София"}
    assert out.key_binding is None


def test_accepts_legacy_vc_typ(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: h.update(typ="vc+sd-jwt"))
    assert verify(presentation(token, holder), issuer).vct == "urn:eudi:pid:1"


def test_chain_validation_is_cached(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder)
    verify(pres, issuer)
    hits = issuer.trust.hits
    verify(pres, issuer)
    assert issuer.trust.hits == hits + 1


def test_ed25519_holder_key(issuer: Issuer) -> None:
    from cryptography.hazmat.primitives.asymmetric import ed25519

    holder = ed25519.Ed25519PrivateKey.generate()
    token = sdjwt.issue_sd_jwt_vc(PID_CLAIMS, issuer_key=issuer.key, issuer_chain=issuer.chain,
                                  vct="urn:eudi:pid:1", now=NOW, holder_jwk=jws.public_jwk(holder))
    pres = sdjwt.present(token, [("sex",)], holder_key=holder, aud=AUD, nonce=NONCE, now=NOW)
    assert verify(pres, issuer).claims["sex"] == 1


# --- negative tests: algorithms and headers


def test_rejects_alg_none(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    parts = sdjwt.split_sd_jwt(presentation(issue(issuer, holder), holder))
    _, p, _ = parts.issuer_jwt.split(".")
    h = b64(json.dumps({"alg": "none", "typ": "dc+sd-jwt"}).encode())
    forged = f"{h}.{p}.~" + "".join(d + "~" for d in parts.disclosures)
    assert code_of(lambda: verify(forged, issuer, require_key_binding=False)) == "unsupported_alg"


def test_rejects_hs256(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    parts = sdjwt.split_sd_jwt(issue(issuer, holder))
    _, p, _ = parts.issuer_jwt.split(".")
    h = b64(json.dumps({"alg": "HS256", "typ": "dc+sd-jwt"}).encode())
    mac = hmac.new(b"secret", f"{h}.{p}".encode(), hashlib.sha256).digest()
    forged = f"{h}.{p}.{b64(mac)}~"
    assert code_of(lambda: verify(forged, issuer, key=issuer.key.public_key(),
                                  require_key_binding=False)) == "unsupported_alg"


def test_rejects_alg_key_confusion(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """Header says ES384 but the x5c leaf holds a P-256 key."""
    other = ec.generate_private_key(ec.SECP384R1())
    parts = sdjwt.split_sd_jwt(issue(issuer, holder))
    payload = jws.parse_compact(parts.issuer_jwt).payload
    jwt = jws.sign_compact(payload, other, typ="dc+sd-jwt", x5c=issuer.chain)
    assert code_of(lambda: verify(jwt + "~", issuer, require_key_binding=False)) == "alg_key_mismatch"


def test_rejects_wrong_typ(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: h.update(typ="JWT"))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "invalid_typ"


def test_rejects_legacy_typ_when_disabled(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: h.update(typ="vc+sd-jwt"))
    assert code_of(lambda: verify(presentation(token, holder), issuer, accept_legacy_typ=False)) == "invalid_typ"


def test_rejects_bad_issuer_signature(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    parts = sdjwt.split_sd_jwt(issue(issuer, holder))
    h, _p, s = parts.issuer_jwt.split(".")
    payload = jws.parse_compact(parts.issuer_jwt).payload
    payload["vct"] = "urn:eudi:pid:bg:1"
    tampered = f"{h}.{b64(json.dumps(payload).encode())}.{s}~" + "".join(d + "~" for d in parts.disclosures)
    assert code_of(lambda: verify(tampered, issuer, require_key_binding=False)) == "bad_signature"


def test_rejects_untrusted_chain(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    rogue = Issuer("Rogue")
    token = issue(rogue, holder)
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "untrusted_issuer"


def test_rejects_wrong_role(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """A PID-provider leaf is not an attestation provider, even under a root the verifier trusts."""
    trust = ChainValidator([issuer.root.certificate], Role.ATTESTATION_PROVIDER)
    pres = presentation(issue(issuer, holder), holder)
    assert code_of(lambda: verify(pres, issuer, trust=trust)) == "untrusted_issuer"


def test_rejects_iss_san_mismatch(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.update(iss="https://other.example"))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "iss_san_mismatch"


def test_rejects_crit_header(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: h.update(crit=["foo"], foo=1))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "unsupported_crit"


# --- negative tests: time


def test_rejects_expired(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, expires_in=timedelta(minutes=30), now=NOW - timedelta(hours=1))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "sd_jwt_expired"


def test_rejects_not_yet_valid(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, nbf=NOW + timedelta(minutes=10))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "sd_jwt_not_yet_valid"


def test_rejects_iat_in_future(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, now=NOW + timedelta(minutes=10))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "iat_in_future"


def test_accepts_within_clock_skew(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, now=NOW + timedelta(seconds=30), nbf=NOW + timedelta(seconds=30))
    assert verify(presentation(token, holder), issuer).vct == "urn:eudi:pid:1"
    expired_just_now = issue(issuer, holder, exp=NOW - timedelta(seconds=30))
    assert verify(presentation(expired_just_now, holder), issuer).vct == "urn:eudi:pid:1"


def test_rejects_missing_exp_when_required(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = issue(issuer, holder, expires_in=None)
    assert code_of(lambda: verify(presentation(token, holder), issuer, require_exp=True)) == "missing_exp"


def test_rejects_non_numeric_exp(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.update(exp="2099-01-01"))
    assert code_of(lambda: verify(presentation(token, holder), issuer)) == "invalid_claim"


# --- negative tests: Disclosures and digests


def test_rejects_unreferenced_disclosure(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """SPECS.md §6: other verifiers accept a Disclosure no digest references; RFC 9901 §7.1 step 5 forbids it."""
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    stray = sdjwt.make_disclosure("given_name", "Мария").encoded
    assert code_of(lambda: verify(pres + stray + "~", issuer, require_key_binding=False)) == \
        "unreferenced_disclosure"


def test_rejects_unreferenced_disclosure_under_kb(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """Even when the KB-JWT covers it: the holder cannot add claims the issuer did not sign."""
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    stray = sdjwt.make_disclosure("age_over_18", True).encoded
    unbound = pres + stray + "~"
    parsed = jws.parse_compact(sdjwt.split_sd_jwt(unbound).issuer_jwt)
    kb = jws.sign_compact({"iat": int(NOW.timestamp()), "aud": AUD, "nonce": NONCE,
                           "sd_hash": b64(hashlib.sha256(unbound.encode()).digest())}, holder, typ="kb+jwt")
    assert parsed.payload["cnf"]
    assert code_of(lambda: verify(unbound + kb, issuer)) == "unreferenced_disclosure"


def test_rejects_duplicate_disclosure(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    first = sdjwt.split_sd_jwt(pres).disclosures[0]
    assert code_of(lambda: verify(pres + first + "~", issuer, require_key_binding=False)) == \
        "duplicate_disclosure"


def test_rejects_duplicate_digest(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    d = sdjwt.make_disclosure("given_name", "Иван")

    def edit(h: dict[str, Any], p: dict[str, Any]) -> None:
        p["_sd"] = [*p["_sd"], d.digest()]
        p["address"] = {"_sd": [d.digest()]}

    token = resign(issuer, issue(issuer, holder, claims={"x": 1}), edit, extra=[d.encoded])
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "duplicate_digest"


def test_rejects_duplicate_claim_name(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    d = sdjwt.make_disclosure("family_name", "Петров")
    token = resign(issuer, issue(issuer, holder, claims={"family_name": "Иванов"}, disclosure_policy=[]),
                   lambda h, p: p.update(_sd=[d.digest()]), extra=[d.encoded])
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "duplicate_claim_name"


@pytest.mark.parametrize("name", ["_sd", "...", "_sd_alg"])
def test_rejects_reserved_claim_name_in_disclosure(name: str, issuer: Issuer,
                                                   holder: ec.EllipticCurvePrivateKey) -> None:
    enc = b64(json.dumps(["c2FsdHNhbHRzYWx0", name, "x"]).encode())
    digest = sdjwt.disclosure_digest(enc)
    token = resign(issuer, issue(issuer, holder, claims={"x": 1}), lambda h, p: p.update(_sd=[digest]),
                   extra=[enc])
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "reserved_claim_name"


def test_rejects_disclosure_type_mismatch(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    element = sdjwt.make_disclosure(None, "BG")  # an array-element Disclosure referenced from _sd
    token = resign(issuer, issue(issuer, holder, claims={"x": 1}), lambda h, p: p.update(_sd=[element.digest()]),
                   extra=[element.encoded])
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "disclosure_type_mismatch"


def test_rejects_protected_claim_in_disclosure(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """draft-ietf-oauth-sd-jwt-vc-13 §3.2.2.2: exp, nbf, iss, cnf, vct, status must stay visible."""
    d = sdjwt.make_disclosure("exp", 4102444800)

    def edit(h: dict[str, Any], p: dict[str, Any]) -> None:
        p.pop("exp")
        p["_sd"] = [*p["_sd"], d.digest()]

    token = resign(issuer, issue(issuer, holder), edit, extra=[d.encoded])
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "protected_claim_disclosed"


def test_rejects_unsupported_sd_alg(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.update(_sd_alg="md5"))
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "unsupported_sd_alg"


@pytest.mark.parametrize(("bad", "code"), [("WyJ=", "malformed_sd_jwt"), ("W yJ", "malformed_base64url"),
                                         ("QR", "malformed_base64url"), ("WyJhIiwiYiJdA", "malformed_base64url")])
def test_rejects_malformed_base64_disclosure(bad: str, code: str, issuer: Issuer,
                                             holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    assert code_of(lambda: verify(pres + bad + "~", issuer, require_key_binding=False)) == code


@pytest.mark.parametrize("content", [b"not json", b'{"a":1}', b'["only-salt"]', b'[1,"n","v"]', b'["s",1,"v"]',
                                     b'["s","n","v","extra"]', b'["s","n",NaN]', b'["s","n",{"a":1,"a":2}]'])
def test_rejects_malformed_json_disclosure(content: bytes, issuer: Issuer,
                                           holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    assert code_of(lambda: verify(pres + b64(content) + "~", issuer, require_key_binding=False)) == \
        "malformed_disclosure"


def test_rejects_oversized_input(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder)
    assert code_of(lambda: verify(pres, issuer, max_size=len(pres) - 1)) == "sd_jwt_too_large"


def test_rejects_too_many_disclosures(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    assert code_of(lambda: verify(pres + "WyJhIiwiYiJd~" * 600, issuer)) == "too_many_disclosures"


def test_rejects_empty_disclosure(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    assert code_of(lambda: verify(pres + "~", issuer, require_key_binding=False)) == "malformed_sd_jwt"


def test_rejects_jwt_without_tilde(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    jwt = sdjwt.split_sd_jwt(issue(issuer, holder)).issuer_jwt
    assert code_of(lambda: verify(jwt, issuer, require_key_binding=False)) == "malformed_sd_jwt"


# --- negative tests: VC profile claims


def test_rejects_missing_vct(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.pop("vct"))
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "missing_vct"


def test_rejects_vct_mismatch(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder)
    assert code_of(lambda: verify(pres, issuer, vct="urn:eudi:pid:bg:1")) == "vct_mismatch"
    assert verify(pres, issuer, vct={"urn:eudi:pid:1", "urn:eudi:pid:bg:1"}).vct == "urn:eudi:pid:1"


@pytest.mark.parametrize("status", [{"status_list": {"idx": -1, "uri": "https://s"}}, {"status_list": {"uri": "x"}},
                                    {"status_list": {"idx": True, "uri": "https://s"}}, "revoked", {}])
def test_rejects_invalid_status(status: object, issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    token = resign(issuer, issue(issuer, holder), lambda h, p: p.update(status=status))
    assert code_of(lambda: verify(token, issuer, require_key_binding=False)) == "invalid_status"


# --- negative tests: Key Binding


def test_requires_kb_when_cnf_present(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    assert code_of(lambda: verify(pres, issuer)) == "key_binding_required"


def test_requires_kb_by_policy(issuer: Issuer) -> None:
    token = issue(issuer, None)
    assert code_of(lambda: verify(token, issuer, require_key_binding=True)) == "key_binding_required"
    assert verify(token, issuer).key_binding is None  # no cnf and no policy: a bearer credential


def test_rejects_kb_without_cnf(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, None), holder)
    assert code_of(lambda: verify(pres, issuer)) == "missing_cnf"


def test_rejects_unexpected_kb(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder)
    assert code_of(lambda: verify(pres, issuer, require_key_binding=False)) == "unexpected_key_binding"


def test_rejects_kb_signed_by_other_key(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), ec.generate_private_key(ec.SECP256R1()))
    assert code_of(lambda: verify(pres, issuer)) == "bad_signature"


def test_rejects_kb_wrong_aud(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, aud="x509_san_dns:other.example")
    assert code_of(lambda: verify(pres, issuer)) == "kb_aud_mismatch"


def test_rejects_kb_wrong_nonce(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, nonce="replayed")
    assert code_of(lambda: verify(pres, issuer)) == "kb_nonce_mismatch"


def test_rejects_stale_kb(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, now=NOW - timedelta(minutes=10))
    assert code_of(lambda: verify(pres, issuer)) == "kb_stale"
    assert verify(pres, issuer, kb_max_age=timedelta(minutes=15)).key_binding is not None


def test_rejects_kb_in_future(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, now=NOW + timedelta(minutes=5))
    assert code_of(lambda: verify(pres, issuer)) == "kb_iat_in_future"


def test_rejects_kb_sd_hash_mismatch(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    """Dropping a Disclosure after the holder signed changes the presented SD-JWT."""
    pres = presentation(issue(issuer, holder), holder, [("given_name",), ("family_name",)])
    parts = sdjwt.split_sd_jwt(pres)
    fewer = sdjwt.SdJwtParts(parts.issuer_jwt, parts.disclosures[:1], None).presented + (parts.kb_jwt or "")
    assert code_of(lambda: verify(fewer, issuer)) == "kb_sd_hash_mismatch"


def test_rejects_kb_wrong_typ(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    kb = jws.sign_compact({"iat": int(NOW.timestamp()), "aud": AUD, "nonce": NONCE,
                           "sd_hash": b64(hashlib.sha256(pres.encode()).digest())}, holder, typ="JWT")
    assert code_of(lambda: verify(pres + kb, issuer)) == "invalid_typ"


def test_rejects_kb_without_expected_aud(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder)
    assert code_of(lambda: verify(pres, issuer, aud=None)) == "kb_expectations_missing"


def test_rejects_kb_hs256(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    pres = presentation(issue(issuer, holder), holder, holder_key=None)
    h = b64(json.dumps({"alg": "HS256", "typ": "kb+jwt"}).encode())
    p = b64(json.dumps({"iat": int(NOW.timestamp()), "aud": AUD, "nonce": NONCE,
                        "sd_hash": b64(hashlib.sha256(pres.encode()).digest())}).encode())
    kb = f"{h}.{p}.{b64(hmac.new(b'k', f'{h}.{p}'.encode(), hashlib.sha256).digest())}"
    assert code_of(lambda: verify(pres + kb, issuer)) == "unsupported_alg"


@pytest.mark.parametrize("sd_alg", ["sha-256", "sha-384", "sha-512"])
def test_batched_digests_match_rfc9901_definition(sd_alg: str) -> None:
    encoded = list(RFC["disclosures"].values())
    table = sdjwt._digest_disclosures(encoded, sd_alg)
    assert sorted(table) == sorted(sdjwt.disclosure_digest(e, sd_alg) for e in encoded)
    assert table[sdjwt.disclosure_digest(RFC["disclosures"]["given_name"], sd_alg)][1:] == ["given_name", "John"]


def test_rng_makes_disclosures_reproducible(issuer: Issuer, holder: ec.EllipticCurvePrivateKey) -> None:
    def counter_rng() -> Callable[[int], bytes]:
        state = {"n": 0}

        def rng(n: int) -> bytes:
            state["n"] += 1
            return hashlib.sha256(str(state["n"]).encode()).digest()[:n]

        return rng

    first = sdjwt.split_sd_jwt(issue(issuer, holder, rng=counter_rng(), decoys=1))
    second = sdjwt.split_sd_jwt(issue(issuer, holder, rng=counter_rng(), decoys=1))
    assert first.disclosures == second.disclosures
    assert jws.parse_compact(first.issuer_jwt).payload == jws.parse_compact(second.issuer_jwt).payload
