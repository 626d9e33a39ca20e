from __future__ import annotations

import base64
import json

import pytest

from portfeil.protocols import ProtocolError
from portfeil.protocols.jwe import decrypt, encrypt, generate_encryption_key


@pytest.mark.parametrize("enc", ["A128GCM", "A256GCM"])
def test_round_trip(enc: str) -> None:
    k = generate_encryption_key()
    token = encrypt(b"hello", k.jwk, enc=enc)
    out = decrypt(token, k.private_key, expected_kid=k.kid)
    assert out.plaintext == b"hello"
    assert out.header["enc"] == enc
    assert out.header["kid"] == k.kid


def test_rejects_wrong_kid() -> None:
    k = generate_encryption_key()
    with pytest.raises(ProtocolError):
        decrypt(encrypt(b"x", k.jwk, enc="A128GCM"), k.private_key, expected_kid="other")


def test_rejects_other_key() -> None:
    k, other = generate_encryption_key(), generate_encryption_key()
    with pytest.raises(ProtocolError):
        decrypt(encrypt(b"x", k.jwk, enc="A128GCM"), other.private_key)


def test_rejects_disallowed_enc() -> None:
    k = generate_encryption_key()
    with pytest.raises(ProtocolError):
        encrypt(b"x", k.jwk, enc="A128CBC-HS256")
    with pytest.raises(ProtocolError):
        decrypt(encrypt(b"x", k.jwk, enc="A256GCM"), k.private_key, encryptions={"A128GCM"})


def _with_header(token: str, **changes: object) -> str:
    h64, rest = token.split(".", 1)
    header = json.loads(base64.urlsafe_b64decode(h64 + "=" * (-len(h64) % 4)))
    header.update(changes)
    new = base64.urlsafe_b64encode(json.dumps(header).encode()).rstrip(b"=").decode()
    return new + "." + rest


def test_rejects_rsa_alg_header() -> None:
    k = generate_encryption_key()
    with pytest.raises(ProtocolError):
        decrypt(_with_header(encrypt(b"x", k.jwk, enc="A128GCM"), alg="RSA-OAEP"), k.private_key)


def test_rejects_zip_header() -> None:
    k = generate_encryption_key()
    with pytest.raises(ProtocolError):
        decrypt(_with_header(encrypt(b"x", k.jwk, enc="A128GCM"), zip="DEF"), k.private_key)


def test_rejects_tampered_ciphertext() -> None:
    k = generate_encryption_key()
    parts = encrypt(b"hello world", k.jwk, enc="A128GCM").split(".")
    parts[3] = ("A" if parts[3][0] != "A" else "B") + parts[3][1:]
    with pytest.raises(ProtocolError):
        decrypt(".".join(parts), k.private_key)


def test_rejects_private_recipient_key() -> None:
    from portfeil.pki.keys import private_jwk

    k = generate_encryption_key()
    with pytest.raises(ProtocolError):
        encrypt(b"x", private_jwk(k.private_key), enc="A128GCM")


def test_decrypts_joserfc_token_with_apu_apv() -> None:
    """Our cryptography-based decryption agrees with joserfc's Concat KDF when apu/apv are used."""
    from joserfc import jwe as jrfc
    from joserfc.jwk import ECKey

    k = generate_encryption_key()
    token = jrfc.encrypt_compact({"alg": "ECDH-ES", "enc": "A256GCM", "apu": "YWxpY2U", "apv": "Ym9i"}, b"payload",
                                 ECKey.import_key({n: k.jwk[n] for n in ("kty", "crv", "x", "y")}))
    assert decrypt(token, k.private_key).plaintext == b"payload"


def test_rejects_epk_not_on_curve() -> None:
    k = generate_encryption_key()
    token = encrypt(b"x", k.jwk, enc="A128GCM")
    epk = dict(decrypt(token, k.private_key).header["epk"])
    epk["y"] = epk["x"]
    with pytest.raises(ProtocolError):
        decrypt(_with_header(token, epk=epk), k.private_key)


def test_rejects_epk_of_other_curve() -> None:
    k = generate_encryption_key()
    other = generate_encryption_key(curve="P-384")
    token = encrypt(b"x", other.jwk, enc="A128GCM")
    with pytest.raises(ProtocolError):
        decrypt(token, k.private_key)


def test_rejects_encrypted_key_part() -> None:
    k = generate_encryption_key()
    parts = encrypt(b"x", k.jwk, enc="A128GCM").split(".")
    parts[1] = "AAAA"
    with pytest.raises(ProtocolError):
        decrypt(".".join(parts), k.private_key)


def test_p384_round_trip() -> None:
    k = generate_encryption_key(curve="P-384")
    assert decrypt(encrypt(b"x", k.jwk, enc="A256GCM"), k.private_key).plaintext == b"x"
