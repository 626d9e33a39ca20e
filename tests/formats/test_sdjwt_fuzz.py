"""Fuzzing SD-JWT parsing and verification: whatever the input, only FormatError escapes."""

from __future__ import annotations

import base64
import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError, jws, sdjwt

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISSUER = ec.generate_private_key(ec.SECP256R1())
HOLDER = ec.generate_private_key(ec.SECP256R1())
CLAIMS = {
    "given_name": "Иван",
    "address": {"locality": "София", "postal_code": "1000"},
    "nationalities": ["BG", "DE"],
    "age_in_years": 41,
}
ISSUED = sdjwt.issue_sd_jwt(
    CLAIMS,
    issuer_key=ISSUER,
    visible_claims={"iat": int(NOW.timestamp()), "exp": int((NOW + timedelta(days=1)).timestamp())},
    holder_jwk=jws.public_jwk(HOLDER),
    typ="dc+sd-jwt",
    decoys=2,
)
PRESENTED = sdjwt.present(ISSUED, [("address",), ("nationalities", 0)], holder_key=HOLDER, aud="a", nonce="n",
                          now=NOW)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(["_sd", "...", "_sd_alg", "a", "cnf", "exp", "iat", "jwk"]), children,
                      max_size=4),
    max_leaves=15,
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check(token: str, **kw: Any) -> None:
    for fn in (sdjwt.verify_sd_jwt, sdjwt.verify_sd_jwt_vc):
        with contextlib.suppress(FormatError):
            fn(token, key=ISSUER.public_key(), now=NOW, aud="a", nonce="n", **kw)
    with contextlib.suppress(FormatError):
        sdjwt.present(token, [("address",)], holder_key=HOLDER, aud="a", nonce="n", now=NOW)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from("~.eyJ0-_AQwz=\n{}[]\"ab1"), max_size=200))
def test_fuzz_compact_strings(text: str) -> None:
    check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pos=st.integers(min_value=0), char=st.sampled_from("~.A_-=!x \x00é"), cut=st.booleans())
def test_fuzz_mutated_presentation(pos: int, char: str, cut: bool) -> None:
    i = pos % len(PRESENTED)
    mutated = PRESENTED[:i] if cut else PRESENTED[:i] + char + PRESENTED[i + 1:]
    check(mutated)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(st.sampled_from(["_sd", "_sd_alg", "cnf", "exp", "iat", "nbf", "vct", "iss",
                                                "status", "a", "b"]), json_values, max_size=6),
       disclosures=st.lists(json_values, max_size=5), kb=st.booleans())
def test_fuzz_signed_payloads_and_disclosures(payload: dict[str, Any], disclosures: list[Any], kb: bool) -> None:
    """Validly signed issuer JWTs with arbitrary structure and arbitrary Disclosure contents."""
    encoded = [b64(json.dumps(d).encode()) for d in disclosures]
    # reference each Disclosure from the payload so that processing reaches it
    payload = dict(payload)
    sd = payload.get("_sd")
    if isinstance(sd, list):
        payload["_sd"] = sd + [sdjwt.disclosure_digest(e) for e in encoded]
    else:
        payload["_sd"] = [sdjwt.disclosure_digest(e) for e in encoded]
    try:
        jwt = jws.sign_compact(payload, ISSUER, typ="dc+sd-jwt")
    except FormatError:
        return
    token = jwt + "~" + "".join(e + "~" for e in encoded)
    if kb:
        token += jws.sign_compact({"iat": int(NOW.timestamp()), "aud": "a", "nonce": "n", "sd_hash": "x"}, HOLDER,
                                  typ="kb+jwt")
    check(token)


@settings(max_examples=200, deadline=None)
@given(kb_payload=st.dictionaries(st.sampled_from(["iat", "aud", "nonce", "sd_hash", "x"]), json_values),
       kb_typ=st.sampled_from(["kb+jwt", "JWT", None]))
def test_fuzz_kb_jwt(kb_payload: dict[str, Any], kb_typ: str | None) -> None:
    base = sdjwt.split_sd_jwt(PRESENTED).presented
    try:
        kb = jws.sign_compact(kb_payload, HOLDER, typ=kb_typ)
    except FormatError:
        return
    check(base + kb)


def test_rejects_deeply_nested_disclosure() -> None:
    deep = b64(b'["s","n",' + b"[" * 100_000 + b"]" * 100_000 + b"]")
    with pytest.raises(FormatError) as err:
        sdjwt.verify_sd_jwt(PRESENTED.rsplit("~", 1)[0] + "~" + deep + "~", key=ISSUER.public_key(), now=NOW,
                            require_key_binding=False)
    assert err.value.code == "malformed_disclosure"


def test_rejects_deeply_nested_claims() -> None:
    claims: dict[str, Any] = {"a": 1}
    for _ in range(40):
        claims = {"a": claims}
    payload = {"iat": int(NOW.timestamp()), **claims}
    token = jws.sign_compact(payload, ISSUER) + "~"
    with pytest.raises(FormatError) as err:
        sdjwt.verify_sd_jwt(token, key=ISSUER.public_key(), now=NOW)
    assert err.value.code == "claims_too_deep"
