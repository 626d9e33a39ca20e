"""Fuzz: whatever goes into the Token Status List parsers, only FormatError comes out."""

from __future__ import annotations

import base64
import contextlib
import json
import zlib
from datetime import UTC, datetime

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portfeil.formats import FormatError
from portfeil.formats.status_list import (
    StatusList,
    issue_status_list_cwt,
    issue_status_list_jwt,
    parse_status_claim,
    verify_status_list_cwt,
    verify_status_list_jwt,
)

URI = "https://status.portfeil.example/lists/1"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
KEY = ec.generate_private_key(ec.SECP256R1())
PUB = KEY.public_key()
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=20,
)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _only_format_error(fn: object, *args: object, **kwargs: object) -> None:
    with contextlib.suppress(FormatError):
        fn(*args, **kwargs)  # type: ignore[operator]


@FUZZ
@given(json_values)
def test_fuzz_status_list_json_object(obj: object) -> None:
    _only_format_error(StatusList.from_json, obj)


@FUZZ
@given(st.sampled_from([0, 1, 2, 3, 4, 5, 8, 16, -1, True, 1.0, "1", None]), st.text(max_size=60))
def test_fuzz_bits_and_lst(bits: object, lst: str) -> None:
    _only_format_error(StatusList.from_json, {"bits": bits, "lst": lst})


@FUZZ
@given(st.binary(max_size=300), st.sampled_from([1, 2, 4, 8]))
def test_fuzz_compressed_bytes(data: bytes, bits: int) -> None:
    _only_format_error(StatusList.from_compressed, data, bits, max_bytes=4096)


@FUZZ
@given(st.binary(min_size=1, max_size=200), st.integers(min_value=0, max_value=30))
def test_fuzz_truncated_and_flipped_zlib(payload: bytes, cut: int) -> None:
    data = bytearray(zlib.compress(payload, 9))
    data[cut % len(data)] ^= 0x5A
    _only_format_error(StatusList.from_compressed, bytes(data), 1, max_bytes=4096)
    _only_format_error(StatusList.from_compressed, bytes(data[: cut % len(data)]), 1, max_bytes=4096)


@FUZZ
@given(st.binary(max_size=300))
def test_fuzz_status_list_cbor(data: bytes) -> None:
    _only_format_error(StatusList.from_cbor, data)


@FUZZ
@given(json_values)
def test_fuzz_status_claim(obj: object) -> None:
    _only_format_error(parse_status_claim, obj)
    _only_format_error(parse_status_claim, {"status_list": obj})


@FUZZ
@given(st.text(max_size=300))
def test_fuzz_jwt_text(token: str) -> None:
    _only_format_error(verify_status_list_jwt, token, uri=URI, now=NOW, key=PUB)


@FUZZ
@given(json_values, json_values)
def test_fuzz_jwt_header_and_payload(header: object, payload: object) -> None:
    token = f"{_b64u(json.dumps(header).encode())}.{_b64u(json.dumps(payload).encode())}.{_b64u(b'x' * 64)}"
    _only_format_error(verify_status_list_jwt, token, uri=URI, now=NOW, key=PUB)


@FUZZ
@given(json_values)
def test_fuzz_signed_jwt_with_hostile_status_list(status_list: object) -> None:
    """A correctly signed token whose status_list is garbage: still only FormatError."""
    token = issue_status_list_jwt(StatusList(8), uri=URI, key=KEY, now=NOW)
    h, _, _ = token.split(".")
    payload = {"sub": URI, "iat": int(NOW.timestamp()), "status_list": status_list}
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    p = _b64u(json.dumps(payload).encode())
    r, s = decode_dss_signature(KEY.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA256())))
    _only_format_error(
        verify_status_list_jwt,
        f"{h}.{p}.{_b64u(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}",
        uri=URI,
        now=NOW,
        key=PUB,
    )


@FUZZ
@given(st.binary(max_size=400))
def test_fuzz_cwt_bytes(token: bytes) -> None:
    _only_format_error(verify_status_list_cwt, token, uri=URI, now=NOW, key=PUB)


@FUZZ
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=0, max_value=255))
def test_fuzz_cwt_bit_flips(pos: int, mask: int) -> None:
    token = bytearray(issue_status_list_cwt(StatusList(64), uri=URI, key=KEY, now=NOW))
    token[pos % len(token)] ^= mask
    _only_format_error(verify_status_list_cwt, bytes(token), uri=URI, now=NOW, key=PUB)


@FUZZ
@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=1, max_value=255))
def test_fuzz_jwt_char_flips(pos: int, delta: int) -> None:
    token = issue_status_list_jwt(StatusList(64), uri=URI, key=KEY, now=NOW)
    i = pos % len(token)
    mutated = token[:i] + chr((ord(token[i]) + delta) % 0x110000 or 1) + token[i + 1 :]
    _only_format_error(verify_status_list_jwt, mutated, uri=URI, now=NOW, key=PUB)


@pytest.mark.parametrize("bomb_mib", [20, 200])
def test_zlib_bomb_in_signed_cwt_is_refused(bomb_mib: int) -> None:
    """A signed token is no excuse: the decompressed size limit still holds."""
    compressor = zlib.compressobj(9)
    chunk = bytes(1024 * 1024)
    bomb = b"".join(compressor.compress(chunk) for _ in range(bomb_mib)) + compressor.flush()
    claims = {2: URI, 6: int(NOW.timestamp()), 65533: {"bits": 1, "lst": bomb}}
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    protected = cbor2.dumps({1: -7, 16: "application/statuslist+cwt"})
    payload = cbor2.dumps(claims)
    r, s = decode_dss_signature(
        KEY.sign(cbor2.dumps(["Signature1", protected, b"", payload]), ec.ECDSA(hashes.SHA256()))
    )
    token = cbor2.dumps(cbor2.CBORTag(18, [protected, {}, payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")]))
    with pytest.raises(FormatError) as err:
        verify_status_list_cwt(token, uri=URI, now=NOW, key=PUB, max_bytes=16 * 1024 * 1024)
    assert err.value.code == "status_list_too_large"
