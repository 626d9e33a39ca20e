from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.protocols import ProtocolError
from portfeil.protocols.client_attestation import (
    create_client_attestation,
    create_client_attestation_pop,
    create_key_attestation,
    verify_client_attestation,
    verify_key_attestation,
)
from tests.protocols.conftest import NOW, Pki, Seen
from tests.protocols.helpers import jwt

AS = "https://issuer.example.bg"
CLIENT = "wallet-instance-1"
INSTANCE = generate_private_key("ES256")


def _att(wp: Pki, **kw: Any) -> str:
    args: dict[str, Any] = {"issuer": "https://wallet-provider.example.bg", "client_id": CLIENT,
                            "instance_jwk": public_jwk(INSTANCE), "now": NOW, "x5c": wp.chain}
    args.update(kw)
    return create_client_attestation(wp.leaf_key, **args)


def _pop(**kw: Any) -> str:
    args: dict[str, Any] = {"client_id": CLIENT, "audience": AS, "now": NOW}
    args.update(kw)
    return create_client_attestation_pop(INSTANCE, **args)


def _verify(att: str, pop: str, wp: Pki, **kw: Any) -> Any:
    args: dict[str, Any] = {"trust": wp.validator, "audience": AS, "now": NOW, "seen": Seen()}
    args.update(kw)
    return verify_client_attestation(att, pop, **args)


def test_round_trip(wallet_provider: Pki) -> None:
    result = _verify(_att(wallet_provider), _pop(), wallet_provider, client_id=CLIENT)
    assert result.client_id == CLIENT
    assert result.cnf_jwk == public_jwk(INSTANCE)
    assert result.leaf == wallet_provider.leaf


def test_rejects_untrusted_wallet_provider(wallet_provider: Pki, other_wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError) as e:
        _verify(_att(other_wallet_provider), _pop(), wallet_provider)
    assert e.value.code == "invalid_client"
    assert e.value.status == 401


def test_rejects_attestation_without_x5c(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider, x5c=()), _pop(), wallet_provider)


def test_rejects_wrong_attestation_typ(wallet_provider: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    att = sign_compact({"iss": "x", "sub": CLIENT, "exp": int(NOW.timestamp()) + 60,
                        "cnf": {"jwk": public_jwk(INSTANCE)}}, wallet_provider.leaf_key, typ="jwt",
                       x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError):
        _verify(att, _pop(), wallet_provider)


def test_rejects_expired_attestation(wallet_provider: Pki) -> None:
    att = _att(wallet_provider, now=NOW - timedelta(days=2))
    with pytest.raises(ProtocolError) as e:
        _verify(att, _pop(), wallet_provider)
    assert e.value.code == "use_fresh_attestation"


def test_rejects_pop_signed_by_other_key(wallet_provider: Pki) -> None:
    pop = create_client_attestation_pop(generate_private_key("ES256"), client_id=CLIENT, audience=AS, now=NOW)
    with pytest.raises(ProtocolError) as e:
        _verify(_att(wallet_provider), pop, wallet_provider)
    assert e.value.code == "invalid_client"


def test_rejects_pop_for_other_client(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), _pop(client_id="someone-else"), wallet_provider)


def test_rejects_request_client_id_mismatch(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), _pop(), wallet_provider, client_id="other")


def test_rejects_wrong_audience(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), _pop(audience="https://evil.example"), wallet_provider)


def test_rejects_stale_pop(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), _pop(now=NOW - timedelta(minutes=30)), wallet_provider)


def test_rejects_replayed_pop(wallet_provider: Pki) -> None:
    s = Seen()
    att, pop = _att(wallet_provider), _pop()
    _verify(att, pop, wallet_provider, seen=s)
    with pytest.raises(ProtocolError):
        _verify(att, pop, wallet_provider, seen=s)


def test_rejects_pop_without_jti(wallet_provider: Pki) -> None:
    pop = jwt({"iss": CLIENT, "aud": AS, "iat": int(NOW.timestamp())}, INSTANCE,
              typ="oauth-client-attestation-pop+jwt")
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), pop, wallet_provider)


def test_challenge_required(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError) as e:
        _verify(_att(wallet_provider), _pop(), wallet_provider, check_challenge=lambda c: c == "ch-1",
                new_challenge=lambda: "ch-2")
    assert e.value.code == "use_attestation_challenge"
    assert e.value.headers["OAuth-Client-Attestation-Challenge"] == "ch-2"
    _verify(_att(wallet_provider), _pop(challenge="ch-1"), wallet_provider, check_challenge=lambda c: c == "ch-1")


def test_rejects_untrusted_issuer_name(wallet_provider: Pki) -> None:
    with pytest.raises(ProtocolError):
        _verify(_att(wallet_provider), _pop(), wallet_provider, trusted_issuers={"https://other"})


def test_rejects_private_cnf_key(wallet_provider: Pki) -> None:
    from portfeil.pki.keys import private_jwk

    with pytest.raises(ProtocolError):
        _att(wallet_provider, instance_jwk=private_jwk(INSTANCE))


# --- key attestation (OpenID4VCI 1.0 Annex D)

def test_key_attestation_round_trip(wallet_provider: Pki) -> None:
    k1, k2 = generate_private_key("ES256"), generate_private_key("ES256")
    token = create_key_attestation(wallet_provider.leaf_key, attested_keys=[k1, k2], now=NOW,
                                   x5c=wallet_provider.chain, nonce="c-1")
    ka = verify_key_attestation(token, trust=wallet_provider.validator, now=NOW, expected_nonce="c-1")
    assert ka.attested_keys == (public_jwk(k1), public_jwk(k2))
    assert ka.key_storage == ("iso_18045_high",)


def test_key_attestation_rejects_untrusted(wallet_provider: Pki, other_wallet_provider: Pki) -> None:
    token = create_key_attestation(other_wallet_provider.leaf_key, attested_keys=[INSTANCE], now=NOW,
                                   x5c=other_wallet_provider.chain)
    with pytest.raises(ProtocolError) as e:
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW)
    assert e.value.code == "invalid_proof"


def test_key_attestation_rejects_expired(wallet_provider: Pki) -> None:
    token = create_key_attestation(wallet_provider.leaf_key, attested_keys=[INSTANCE], now=NOW - timedelta(days=3),
                                   x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError):
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW)


def test_key_attestation_rejects_missing_exp_in_proof(wallet_provider: Pki) -> None:
    token = create_key_attestation(wallet_provider.leaf_key, attested_keys=[INSTANCE], now=NOW, lifetime=None,
                                   x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError):
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW)


def test_key_attestation_rejects_wrong_nonce(wallet_provider: Pki) -> None:
    token = create_key_attestation(wallet_provider.leaf_key, attested_keys=[INSTANCE], now=NOW, nonce="a",
                                   x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError) as e:
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW, expected_nonce="b")
    assert e.value.code == "invalid_nonce"


def test_key_attestation_rejects_wrong_typ(wallet_provider: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    token = sign_compact({"iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60,
                          "attested_keys": [public_jwk(INSTANCE)]}, wallet_provider.leaf_key,
                         typ="openid4vci-proof+jwt", x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError):
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW)


def test_key_attestation_rejects_empty_keys(wallet_provider: Pki) -> None:
    from portfeil.formats.jws import sign_compact

    token = sign_compact({"iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 60, "attested_keys": []},
                         wallet_provider.leaf_key, typ="key-attestation+jwt", x5c=wallet_provider.chain)
    with pytest.raises(ProtocolError):
        verify_key_attestation(token, trust=wallet_provider.validator, now=NOW)
