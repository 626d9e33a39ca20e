from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest

from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.protocols import ProtocolError
from portfeil.protocols.client_attestation import create_key_attestation
from portfeil.protocols.jwe import decrypt, generate_encryption_key
from portfeil.protocols.oid4vci import (
    ClaimDescription,
    CredentialConfiguration,
    TxCode,
    build_credential_offer,
    create_proof_jwt,
    credential_issuer_metadata,
    credential_offer_uri,
    credential_response,
    decrypt_credential_request,
    deferred_pending_response,
    encrypt_credential_response,
    nonce_response,
    parse_credential_issuer_metadata,
    parse_credential_offer,
    parse_credential_offer_uri,
    validate_credential_request,
    validate_deferred_credential_request,
    validate_notification_request,
    verify_proofs,
)
from tests.protocols.conftest import NOW, Pki
from tests.protocols.helpers import jwt

ISSUER = "https://issuer.example.bg"
CONFIGS = {"pid_sd_jwt", "pid_mdoc"}
HOLDER = generate_private_key("ES256")


def _configs() -> list[CredentialConfiguration]:
    claims = [ClaimDescription(("family_name",), {"bg": "Фамилия", "en": "Family name"}, mandatory=True),
              ClaimDescription(("address", "locality"), {"bg": "Населено място", "en": "Locality"})]
    return [
        CredentialConfiguration("pid_sd_jwt", "dc+sd-jwt", "pid", vct="urn:eudi:pid:1",
                                display={"bg": "Лична идентификация", "en": "Person identification"}, claims=claims),
        CredentialConfiguration("pid_mdoc", "mso_mdoc", "eu.europa.ec.eudi.pid.1", doctype="eu.europa.ec.eudi.pid.1",
                                credential_signing_alg_values_supported=[-7],
                                key_attestations_required={"key_storage": ["iso_18045_high"]}),
    ]


def test_metadata_builder_and_parser() -> None:
    md = credential_issuer_metadata(ISSUER, configurations=_configs(), display={"bg": "МВР", "en": "Ministry"},
                                    batch_size=10, response_encryption_required=False,
                                    deferred_credential_endpoint=ISSUER + "/deferred",
                                    notification_endpoint=ISSUER + "/notification")
    cfg = md["credential_configurations_supported"]["pid_sd_jwt"]
    assert cfg["credential_metadata"]["claims"][0] == {
        "path": ["family_name"], "mandatory": True,
        "display": [{"name": "Фамилия", "locale": "bg"}, {"name": "Family name", "locale": "en"}]}
    assert cfg["proof_types_supported"]["jwt"]["proof_signing_alg_values_supported"] == ["ES256"]
    assert md["credential_configurations_supported"]["pid_mdoc"]["proof_types_supported"]["jwt"][
        "key_attestations_required"] == {"key_storage": ["iso_18045_high"]}
    assert md["batch_credential_issuance"] == {"batch_size": 10}
    assert md["nonce_endpoint"] == ISSUER + "/nonce"
    assert parse_credential_issuer_metadata(json.dumps(md), expected_issuer=ISSUER) == md


def test_metadata_rejects_issuer_mismatch() -> None:
    md = credential_issuer_metadata(ISSUER, configurations=_configs(), display={"en": "x"})
    with pytest.raises(ProtocolError):
        parse_credential_issuer_metadata(md, expected_issuer="https://evil.example")


def test_metadata_rejects_sd_jwt_without_vct() -> None:
    md = credential_issuer_metadata(ISSUER, configurations=_configs(), display={"en": "x"})
    del md["credential_configurations_supported"]["pid_sd_jwt"]["vct"]
    with pytest.raises(ProtocolError):
        parse_credential_issuer_metadata(md, expected_issuer=ISSUER)


def test_metadata_rejects_http_endpoint() -> None:
    md = credential_issuer_metadata(ISSUER, configurations=_configs(), display={"en": "x"})
    md["credential_endpoint"] = "http://issuer.example.bg/credential"
    with pytest.raises(ProtocolError):
        parse_credential_issuer_metadata(md, expected_issuer=ISSUER)


# --- offers

def test_offer_by_value_round_trip() -> None:
    offer = build_credential_offer(ISSUER, ["pid_sd_jwt"], pre_authorized_code="pac",
                                   tx_code=TxCode("numeric", 6, "Кодът от SMS"), issuer_state="st",
                                   authorization_code=True)
    uri = credential_offer_uri(offer)
    assert uri.startswith("openid-credential-offer://?credential_offer=")
    parsed = parse_credential_offer_uri(uri)
    assert not isinstance(parsed, str)
    assert parsed.pre_authorized_code == "pac"
    assert parsed.tx_code == TxCode("numeric", 6, "Кодът от SMS")
    assert parsed.issuer_state == "st"
    assert parsed.to_dict() == offer


def test_offer_by_reference_and_haip_scheme() -> None:
    uri = credential_offer_uri(offer_uri=ISSUER + "/offers/1", scheme="haip-vci://")
    assert uri.startswith("haip-vci://?credential_offer_uri=")
    assert parse_credential_offer_uri(uri) == ISSUER + "/offers/1"


def test_offer_rejects_both_forms() -> None:
    offer = quote(json.dumps(build_credential_offer(ISSUER, ["x"])))
    with pytest.raises(ProtocolError):
        parse_credential_offer_uri(f"openid-credential-offer://?credential_offer={offer}&credential_offer_uri=x")


def test_offer_rejects_http_reference() -> None:
    with pytest.raises(ProtocolError):
        parse_credential_offer_uri("openid-credential-offer://?credential_offer_uri=http%3A%2F%2Fevil.example%2Fo")


def test_offer_rejects_http_issuer() -> None:
    with pytest.raises(ProtocolError):
        parse_credential_offer({"credential_issuer": "http://issuer", "credential_configuration_ids": ["x"]})


def test_offer_rejects_empty_configuration_ids() -> None:
    with pytest.raises(ProtocolError):
        parse_credential_offer({"credential_issuer": ISSUER, "credential_configuration_ids": []})


def test_offer_rejects_bad_tx_code_mode() -> None:
    offer = build_credential_offer(ISSUER, ["x"], pre_authorized_code="p", tx_code=TxCode())
    offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["input_mode"] = "voice"
    with pytest.raises(ProtocolError):
        parse_credential_offer(offer)


# --- credential request

def _req(**over: Any) -> dict[str, Any]:
    r: dict[str, Any] = {"credential_configuration_id": "pid_sd_jwt", "proofs": {"jwt": ["a.b.c"]}}
    r.update(over)
    return {k: v for k, v in r.items() if v is not None}


def test_request_with_configuration_id() -> None:
    r = validate_credential_request(_req(), known_configuration_ids=CONFIGS)
    assert r.credential_configuration_id == "pid_sd_jwt"
    assert r.proof_type == "jwt"


def test_request_with_identifier() -> None:
    r = validate_credential_request(_req(credential_configuration_id=None, credential_identifier="pid-1"),
                                    known_configuration_ids=CONFIGS, authorized_identifiers={"pid-1": "pid_sd_jwt"})
    assert r.credential_identifier == "pid-1"


def test_request_rejects_old_proof_parameter() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_credential_request(_req(proofs=None, proof={"proof_type": "jwt", "jwt": "a.b.c"}),
                                    known_configuration_ids=CONFIGS)
    assert e.value.code == "invalid_credential_request"


def test_request_rejects_both_identifiers() -> None:
    with pytest.raises(ProtocolError):
        validate_credential_request(_req(credential_identifier="pid-1"), known_configuration_ids=CONFIGS,
                                    authorized_identifiers={"pid-1": "pid_sd_jwt"})


def test_request_rejects_unknown_configuration() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_credential_request(_req(credential_configuration_id="x"), known_configuration_ids=CONFIGS)
    assert e.value.code == "unknown_credential_configuration"


def test_request_rejects_unknown_identifier() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_credential_request(_req(credential_configuration_id=None, credential_identifier="nope"),
                                    known_configuration_ids=CONFIGS, authorized_identifiers={"pid-1": "pid_sd_jwt"})
    assert e.value.code == "unknown_credential_identifier"


def test_request_rejects_configuration_id_when_identifiers_issued() -> None:
    with pytest.raises(ProtocolError):
        validate_credential_request(_req(), known_configuration_ids=CONFIGS,
                                    authorized_identifiers={"pid-1": "pid_sd_jwt"})


def test_request_rejects_two_proof_types() -> None:
    with pytest.raises(ProtocolError):
        validate_credential_request(_req(proofs={"jwt": ["a"], "attestation": ["b"]}), known_configuration_ids=CONFIGS)


def test_request_rejects_batch_over_limit() -> None:
    with pytest.raises(ProtocolError):
        validate_credential_request(_req(proofs={"jwt": ["a", "b", "c"]}), known_configuration_ids=CONFIGS,
                                    batch_size=2)


def test_request_rejects_missing_required_encryption() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_credential_request(_req(), known_configuration_ids=CONFIGS, encryption_required=True)
    assert e.value.code == "invalid_encryption_parameters"


def test_request_rejects_bad_encryption_enc() -> None:
    k = generate_encryption_key()
    with pytest.raises(ProtocolError) as e:
        validate_credential_request(_req(credential_response_encryption={"jwk": k.jwk, "enc": "A128CBC-HS256"}),
                                    known_configuration_ids=CONFIGS)
    assert e.value.code == "invalid_encryption_parameters"


# --- proofs

class Nonces:
    def __init__(self, *values: str) -> None:
        self.live = set(values)

    def __call__(self, n: str) -> bool:
        if n in self.live:
            self.live.remove(n)
            return True
        return False


def _proof_request(*proofs: str) -> Any:
    return validate_credential_request(_req(proofs={"jwt": list(proofs)}), known_configuration_ids=CONFIGS,
                                       batch_size=5)


def test_proof_round_trip_batch() -> None:
    k2 = generate_private_key("ES256")
    p1 = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", client_id="w")
    p2 = create_proof_jwt(k2, audience=ISSUER, now=NOW, nonce="n1", client_id="w")
    nonces = Nonces("n1")
    keys = verify_proofs(_proof_request(p1, p2), credential_issuer=ISSUER, now=NOW, consume_nonce=nonces,
                         client_id="w")
    assert [k.jwk for k in keys] == [public_jwk(HOLDER), public_jwk(k2)]
    assert nonces.live == set()


def test_proof_rejects_wrong_typ() -> None:
    p = jwt({"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n1"}, HOLDER, typ="jwt",
            header={"jwk": public_jwk(HOLDER)})
    with pytest.raises(ProtocolError) as e:
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))
    assert e.value.code == "invalid_proof"


def test_proof_rejects_disallowed_alg() -> None:
    k = generate_private_key("EdDSA")
    p = create_proof_jwt(k, audience=ISSUER, now=NOW, nonce="n1")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_wrong_audience() -> None:
    p = create_proof_jwt(HOLDER, audience="https://evil.example", now=NOW, nonce="n1")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_stale_iat() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW - timedelta(hours=1), nonce="n1")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_unknown_nonce() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="guess")
    with pytest.raises(ProtocolError) as e:
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))
    assert e.value.code == "invalid_nonce"


def test_proof_rejects_reused_nonce() -> None:
    nonces = Nonces("n1")
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1")
    verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=nonces)
    with pytest.raises(ProtocolError) as e:
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=nonces)
    assert e.value.code == "invalid_nonce"


def test_proof_rejects_missing_nonce() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce=None)
    with pytest.raises(ProtocolError) as e:
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))
    assert e.value.code == "invalid_nonce"


def test_proof_rejects_wrong_iss() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", client_id="other")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"), client_id="w")


def test_proof_rejects_iss_when_anonymous() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", client_id="w")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_bad_signature() -> None:
    p = jwt({"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n1"}, generate_private_key("ES256"),
            typ="openid4vci-proof+jwt", header={"jwk": public_jwk(HOLDER)})
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_two_key_sources(wallet_provider: Pki) -> None:
    p = jwt({"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n1"}, HOLDER, typ="openid4vci-proof+jwt",
            header={"jwk": public_jwk(HOLDER), "x5c": ["AAAA"]})
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_same_key_twice() -> None:
    p1 = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1")
    p2 = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p1, p2), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"))


def test_proof_rejects_plain_jwk_when_key_attestation_required() -> None:
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1")
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                      key_attestation_required=True)


def test_proof_with_key_attestation(wallet_provider: Pki) -> None:
    k2 = generate_private_key("ES256")
    ka = create_key_attestation(wallet_provider.leaf_key, attested_keys=[HOLDER, k2], now=NOW,
                                x5c=wallet_provider.chain)
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", key_attestation=ka)
    keys = verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                         key_attestation_trust=wallet_provider.validator, key_attestation_required=True,
                         required_key_storage={"iso_18045_high"})
    assert [k.jwk for k in keys] == [public_jwk(HOLDER), public_jwk(k2)]
    assert keys[0].key_attestation is not None


def test_proof_rejects_jwk_header_outside_attested_keys(wallet_provider: Pki) -> None:
    ka = create_key_attestation(wallet_provider.leaf_key, attested_keys=[HOLDER], now=NOW, x5c=wallet_provider.chain)
    other = generate_private_key("ES256")
    p = jwt({"aud": ISSUER, "iat": int(NOW.timestamp()), "nonce": "n1"}, other, typ="openid4vci-proof+jwt",
            header={"jwk": public_jwk(other), "key_attestation": ka})
    with pytest.raises(ProtocolError) as e:
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                      key_attestation_trust=wallet_provider.validator)
    assert "attested" in e.value.message


def test_proof_rejects_key_attestation_not_covering_signer(wallet_provider: Pki) -> None:
    ka = create_key_attestation(wallet_provider.leaf_key, attested_keys=[generate_private_key("ES256")], now=NOW,
                                x5c=wallet_provider.chain)
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", key_attestation=ka)
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                      key_attestation_trust=wallet_provider.validator)


def test_proof_rejects_weak_key_storage(wallet_provider: Pki) -> None:
    ka = create_key_attestation(wallet_provider.leaf_key, attested_keys=[HOLDER], now=NOW, x5c=wallet_provider.chain,
                                key_storage=["iso_18045_basic"])
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1", key_attestation=ka)
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                      key_attestation_trust=wallet_provider.validator, required_key_storage={"iso_18045_high"})


def test_attestation_proof_type(wallet_provider: Pki) -> None:
    ka = create_key_attestation(wallet_provider.leaf_key, attested_keys=[HOLDER], now=NOW, x5c=wallet_provider.chain,
                                nonce="n1")
    req = validate_credential_request(_req(proofs={"attestation": [ka]}), known_configuration_ids=CONFIGS)
    keys = verify_proofs(req, credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                         key_attestation_trust=wallet_provider.validator)
    assert keys[0].jwk == public_jwk(HOLDER)


# --- responses

def test_credential_response_shapes() -> None:
    assert credential_response(["a~b~", "c~d~"], notification_id="n") == {
        "credentials": [{"credential": "a~b~"}, {"credential": "c~d~"}], "notification_id": "n"}
    assert deferred_pending_response("t1", interval=5) == {"transaction_id": "t1", "interval": 5}
    assert nonce_response("cn") == {"c_nonce": "cn"}


def test_deferred_request() -> None:
    assert validate_deferred_credential_request({"transaction_id": "t1"}) == ("t1", None)
    with pytest.raises(ProtocolError) as e:
        validate_deferred_credential_request({"transaction_id": 5})
    assert e.value.code == "invalid_transaction_id"


def test_notification_request() -> None:
    n = validate_notification_request({"notification_id": "n1", "event": "credential_accepted"},
                                      known_notification_id=lambda x: x == "n1")
    assert n.event == "credential_accepted"


def test_notification_rejects_unknown_id() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_notification_request({"notification_id": "n2", "event": "credential_accepted"},
                                      known_notification_id=lambda x: x == "n1")
    assert e.value.code == "invalid_notification_id"


def test_notification_rejects_unknown_event() -> None:
    with pytest.raises(ProtocolError) as e:
        validate_notification_request({"notification_id": "n1", "event": "credential_lost"},
                                      known_notification_id=lambda x: x == "n1")
    assert e.value.code == "invalid_notification_request"


def test_response_encryption_round_trip() -> None:
    k = generate_encryption_key()
    req = validate_credential_request(_req(credential_response_encryption={"jwk": k.jwk, "enc": "A256GCM"}),
                                      known_configuration_ids=CONFIGS, encryption_required=True)
    assert req.response_encryption is not None
    token = encrypt_credential_response(credential_response(["cred"]), req.response_encryption)
    assert json.loads(decrypt(token, k.private_key, expected_kid=k.kid).plaintext) == {
        "credentials": [{"credential": "cred"}]}


def test_request_decryption() -> None:
    from portfeil.protocols.jwe import encrypt

    k = generate_encryption_key()
    token = encrypt(json.dumps(_req()).encode(), k.jwk, enc="A128GCM")
    assert decrypt_credential_request(token, k.private_key, kid=k.kid) == _req()
    with pytest.raises(ProtocolError):
        decrypt_credential_request(token, k.private_key, kid="other")


# --- wallet-side parsers

def test_parse_credential_and_deferred_responses() -> None:
    from portfeil.protocols.oid4vci import parse_credential_response, parse_nonce_response

    assert parse_nonce_response(nonce_response("c1")) == "c1"
    r = parse_credential_response(credential_response(["a", "b"], notification_id="n"))
    assert r.credentials == ("a", "b")
    assert r.notification_id == "n"
    d = parse_credential_response(deferred_pending_response("t", interval=3))
    assert (d.transaction_id, d.interval) == ("t", 3)


def test_parse_encrypted_credential_response() -> None:
    from portfeil.protocols.oid4vci import ResponseEncryption, parse_credential_response

    k = generate_encryption_key()
    token = encrypt_credential_response(credential_response(["cred"]), ResponseEncryption(k.jwk, "ECDH-ES", "A128GCM"))
    assert parse_credential_response(token, decryption_key=k).credentials == ("cred",)
    with pytest.raises(ProtocolError):
        parse_credential_response(credential_response(["cred"]), decryption_key=k)


def test_credential_response_rejects_both_credentials_and_transaction() -> None:
    from portfeil.protocols.oid4vci import parse_credential_response

    with pytest.raises(ProtocolError):
        parse_credential_response({"credentials": [{"credential": "a"}], "transaction_id": "t"})
    with pytest.raises(ProtocolError):
        parse_credential_response({"transaction_id": "t"})


def test_proof_requirements_from_configuration(wallet_provider: Pki) -> None:
    from portfeil.protocols.oid4vci import proof_requirements

    md = credential_issuer_metadata(ISSUER, configurations=_configs(), display={"en": "x"})
    mdoc = proof_requirements(md["credential_configurations_supported"]["pid_mdoc"])
    assert mdoc.key_attestation_required
    assert mdoc.key_storage == ("iso_18045_high",)
    sd = proof_requirements(md["credential_configurations_supported"]["pid_sd_jwt"])
    assert not sd.key_attestation_required
    p = create_proof_jwt(HOLDER, audience=ISSUER, now=NOW, nonce="n1")
    verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"), **sd.kwargs())
    with pytest.raises(ProtocolError):
        verify_proofs(_proof_request(p), credential_issuer=ISSUER, now=NOW, consume_nonce=Nonces("n1"),
                      key_attestation_trust=wallet_provider.validator, **mdoc.kwargs())
