"""Parsers of untrusted input raise only EidError (CSR) or answer with an OCSP error status (OCSP requests)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from cryptography.x509 import ocsp
from hypothesis import given, settings
from hypothesis import strategies as st

from portfeil.eid.certificates import OcspStatus, ocsp_response, parse_csr
from portfeil.eid.errors import EidError
from portfeil.eid.holder import generate_key, make_csr
from portfeil.pki.ca import create_intermediate_ca, create_root_ca
from portfeil.pki.roles import Role

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
ROOT = create_root_ca("r", Role.EID, now=NOW)
ISSUING = create_intermediate_ca(ROOT, "i", Role.EID, now=NOW)
CSR = make_csr(generate_key())


@given(st.binary(max_size=600))
@settings(max_examples=300, deadline=None)
def test_parse_csr_fuzz(data: bytes) -> None:
    with pytest.raises(EidError):
        parse_csr(data)


@given(st.integers(min_value=0, max_value=len(CSR) - 1), st.integers(min_value=1, max_value=255))
@settings(max_examples=200, deadline=None)
def test_parse_csr_mutated(pos: int, flip: int) -> None:
    data = bytearray(CSR)
    data[pos] ^= flip
    codes = ("invalid_csr", "csr_signature_invalid", "unsupported_key")
    errors: list[str] = []
    try:
        parse_csr(bytes(data))
    except EidError as exc:
        errors.append(exc.code)
    assert all(c in codes for c in errors)


@given(st.binary(max_size=400))
@settings(max_examples=300, deadline=None)
def test_ocsp_garbage_is_malformed(data: bytes) -> None:
    resp = ocsp.load_der_ocsp_response(ocsp_response(ISSUING, data, lambda _n: OcspStatus("good"), now=NOW))
    assert resp.response_status in (ocsp.OCSPResponseStatus.MALFORMED_REQUEST, ocsp.OCSPResponseStatus.UNAUTHORIZED)
