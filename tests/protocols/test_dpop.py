from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from portfeil.pki.keys import generate_private_key, private_jwk, public_jwk
from portfeil.protocols import ProtocolError
from portfeil.protocols.dpop import access_token_hash, create_dpop_proof, verify_dpop_proof
from tests.protocols.conftest import NOW, Seen
from tests.protocols.helpers import jwt, unsigned

HTU = "https://issuer.example.bg/token"
KEY = generate_private_key("ES256")


def _verify(proof: str, seen: Seen | None = None, **kw: Any) -> Any:
    args: dict[str, Any] = {"htm": "POST", "htu": HTU, "now": NOW, "seen": seen or Seen()}
    args.update(kw)
    return verify_dpop_proof(proof, **args)


def _claims(**over: Any) -> dict[str, Any]:
    c: dict[str, Any] = {"jti": "j1", "htm": "POST", "htu": HTU, "iat": int(NOW.timestamp())}
    c.update(over)
    return c


def test_round_trip_returns_jkt() -> None:
    from portfeil.pki.keys import jwk_thumbprint

    proof = create_dpop_proof(KEY, htm="post", htu=HTU + "?x=1#f", now=NOW)
    result = _verify(proof)
    assert result.jkt == jwk_thumbprint(public_jwk(KEY))


def test_eddsa_key_works() -> None:
    k = generate_private_key("EdDSA")
    assert _verify(create_dpop_proof(k, htm="POST", htu=HTU, now=NOW)).jwk["kty"] == "OKP"


def test_htu_normalised_default_port_and_case() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu="HTTPS://Issuer.Example.BG:443/token", now=NOW)
    _verify(proof)


def test_rejects_wrong_typ() -> None:
    proof = jwt(_claims(), KEY, typ="jwt", header={"jwk": public_jwk(KEY)})
    with pytest.raises(ProtocolError) as e:
        _verify(proof)
    assert e.value.code == "invalid_dpop_proof"


def test_rejects_alg_none() -> None:
    proof = unsigned({"alg": "none", "typ": "dpop+jwt", "jwk": public_jwk(KEY)}, _claims())
    with pytest.raises(ProtocolError) as e:
        _verify(proof)
    assert e.value.code == "invalid_dpop_proof"


def test_rejects_alg_outside_allow_list() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW)
    with pytest.raises(ProtocolError):
        _verify(proof, algorithms={"EdDSA"})


def test_rejects_bad_signature() -> None:
    other = generate_private_key("ES256")
    proof = jwt(_claims(), other, typ="dpop+jwt", header={"jwk": public_jwk(KEY)})
    with pytest.raises(ProtocolError) as e:
        _verify(proof)
    assert e.value.code == "invalid_dpop_proof"


def test_rejects_private_key_in_jwk() -> None:
    proof = jwt(_claims(), KEY, typ="dpop+jwt", header={"jwk": private_jwk(KEY)})
    with pytest.raises(ProtocolError) as e:
        _verify(proof)
    assert "private" in e.value.message


def test_rejects_missing_jwk() -> None:
    proof = jwt(_claims(), KEY, typ="dpop+jwt")
    with pytest.raises(ProtocolError):
        _verify(proof)


def test_rejects_wrong_htm() -> None:
    proof = create_dpop_proof(KEY, htm="GET", htu=HTU, now=NOW)
    with pytest.raises(ProtocolError):
        _verify(proof)


def test_rejects_wrong_htu() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu="https://issuer.example.bg/credential", now=NOW)
    with pytest.raises(ProtocolError):
        _verify(proof)


def test_rejects_old_iat() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW - timedelta(minutes=10))
    with pytest.raises(ProtocolError) as e:
        _verify(proof)
    assert e.value.code == "invalid_dpop_proof"


def test_rejects_future_iat() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW + timedelta(minutes=5))
    with pytest.raises(ProtocolError):
        _verify(proof)


def test_rejects_replayed_jti() -> None:
    s = Seen()
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW)
    _verify(proof, s)
    with pytest.raises(ProtocolError) as e:
        _verify(proof, s)
    assert "already" in e.value.message


def test_requires_server_nonce_with_fresh_one() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW)
    with pytest.raises(ProtocolError) as e:
        _verify(proof, check_nonce=lambda n: n == "n-1", new_nonce=lambda: "n-2")
    assert e.value.code == "use_dpop_nonce"
    assert e.value.headers == {"DPoP-Nonce": "n-2"}
    assert e.value.status == 400


def test_rejects_wrong_server_nonce_resource_server_401() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW, nonce="old")
    with pytest.raises(ProtocolError) as e:
        _verify(proof, check_nonce=lambda n: n == "n-1", new_nonce=lambda: "n-2", status=401)
    assert e.value.code == "use_dpop_nonce"
    assert e.value.status == 401
    assert e.value.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')


def test_accepts_server_nonce() -> None:
    proof = create_dpop_proof(KEY, htm="POST", htu=HTU, now=NOW, nonce="n-1")
    assert _verify(proof, check_nonce=lambda n: n == "n-1").nonce == "n-1"


def test_ath_matches() -> None:
    proof = create_dpop_proof(KEY, htm="GET", htu=HTU, now=NOW, access_token="tok")
    _verify(proof, htm="GET", access_token="tok")
    import base64
    import hashlib

    expected = base64.urlsafe_b64encode(hashlib.sha256(b"tok").digest()).rstrip(b"=").decode()
    assert access_token_hash("tok") == expected


def test_rejects_wrong_ath() -> None:
    proof = create_dpop_proof(KEY, htm="GET", htu=HTU, now=NOW, access_token="tok")
    with pytest.raises(ProtocolError):
        _verify(proof, htm="GET", access_token="other")


@pytest.mark.parametrize("ath", ["\x80", "ё"])
def test_rejects_non_ascii_ath_cleanly(ath: str) -> None:
    """A non-ASCII ``ath`` once crashed ``hmac.compare_digest`` (TypeError); it must be a plain refusal."""
    proof = jwt(_claims(htm="GET", ath=ath), KEY, typ="dpop+jwt", header={"jwk": public_jwk(KEY)})
    with pytest.raises(ProtocolError) as e:
        _verify(proof, htm="GET", access_token="tok")
    assert e.value.code == "invalid_dpop_proof"


def test_rejects_missing_ath() -> None:
    proof = create_dpop_proof(KEY, htm="GET", htu=HTU, now=NOW)
    with pytest.raises(ProtocolError):
        _verify(proof, htm="GET", access_token="tok")


def test_rejects_key_not_bound_to_token() -> None:
    proof = create_dpop_proof(KEY, htm="GET", htu=HTU, now=NOW, access_token="tok")
    with pytest.raises(ProtocolError) as e:
        _verify(proof, htm="GET", access_token="tok", expected_jkt="somebody-else")
    assert e.value.code == "invalid_token"
    assert e.value.status == 401


def test_rejects_missing_jti() -> None:
    c = _claims()
    del c["jti"]
    with pytest.raises(ProtocolError):
        _verify(jwt(c, KEY, typ="dpop+jwt", header={"jwk": public_jwk(KEY)}))


def test_rejects_string_iat() -> None:
    proof = jwt(_claims(iat=str(int(NOW.timestamp()))), KEY, typ="dpop+jwt", header={"jwk": public_jwk(KEY)})
    with pytest.raises(ProtocolError):
        _verify(proof)
