"""End-to-end flows through the pure layer only (no HTTP): the pieces of both sides fit together."""

from __future__ import annotations

import json
from typing import Any

from portfeil.pki.keys import generate_private_key, public_jwk
from portfeil.protocols import dpop, jwe, oauth, oid4vci, oid4vp
from portfeil.protocols.client_attestation import (
    create_client_attestation,
    create_client_attestation_pop,
    verify_client_attestation,
)
from portfeil.protocols.pkce import code_challenge, generate_code_verifier
from tests.protocols.conftest import NOW, Pki, Seen

ISSUER = "https://issuer.example.bg"


def test_pre_authorized_issuance_flow(wallet_provider: Pki) -> None:
    # issuer: offer with a transaction code
    tx = oid4vci.TxCode("numeric", 6, "Код от SMS")
    tx_value = oid4vci.new_tx_code(tx)
    assert len(tx_value) == 6
    assert tx_value.isdigit()
    offer_obj = oid4vci.build_credential_offer(ISSUER, ["pid_sd_jwt"], pre_authorized_code="pac", tx_code=tx)
    link = oid4vci.credential_offer_uri(offer_obj, scheme="haip-vci://")
    # wallet: parse the offer, authenticate with a client attestation, prove a DPoP key
    offer = oid4vci.parse_credential_offer_uri(link)
    assert isinstance(offer, oid4vci.CredentialOffer)
    instance, dpop_key, holder = (generate_private_key("ES256") for _ in range(3))
    att = create_client_attestation(wallet_provider.leaf_key, issuer="https://wp.example.bg", client_id="w-1",
                                    instance_jwk=public_jwk(instance), now=NOW, x5c=wallet_provider.chain)
    pop = create_client_attestation_pop(instance, client_id="w-1", audience=ISSUER, now=NOW)
    token_form = {"grant_type": oauth.PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": offer.pre_authorized_code,
                  "tx_code": tx_value, "client_id": "w-1"}
    proof = dpop.create_dpop_proof(dpop_key, htm="POST", htu=f"{ISSUER}/token", now=NOW)
    # issuer: token endpoint
    client = verify_client_attestation(att, pop, trust=wallet_provider.validator, audience=ISSUER, now=NOW,
                                       seen=Seen(), client_id="w-1")
    bound = dpop.verify_dpop_proof(proof, htm="POST", htu=f"{ISSUER}/token", now=NOW, seen=Seen())
    req = oauth.validate_token_request(token_form)
    oauth.check_pre_authorized_code_grant(req, expected_tx_code=tx_value)
    token = oauth.token_response("at-1", expires_in=300, credential_identifiers={"pid_sd_jwt": ["pid-a"]})
    # wallet: token response, nonce, proof, encrypted credential request
    parsed_token = oauth.parse_token_response(json.dumps(token))
    c_nonce = oid4vci.parse_nonce_response(oid4vci.nonce_response("cn-1"))
    enc_key = jwe.generate_encryption_key()
    body: dict[str, Any] = {
        "credential_identifier": parsed_token.credential_identifiers["pid_sd_jwt"][0],
        "proofs": {"jwt": [oid4vci.create_proof_jwt(holder, audience=ISSUER, now=NOW, nonce=c_nonce,
                                                    client_id="w-1")]},
        "credential_response_encryption": {"jwk": enc_key.jwk, "enc": "A128GCM"},
    }
    access_proof = dpop.create_dpop_proof(dpop_key, htm="POST", htu=f"{ISSUER}/credential", now=NOW,
                                          access_token=parsed_token.access_token)
    # issuer: credential endpoint
    dpop.verify_dpop_proof(access_proof, htm="POST", htu=f"{ISSUER}/credential", now=NOW, seen=Seen(),
                           access_token="at-1", expected_jkt=bound.jkt, status=401)
    creq = oid4vci.validate_credential_request(body, known_configuration_ids={"pid_sd_jwt"},
                                               authorized_identifiers={"pid-a": "pid_sd_jwt"})
    nonces = {"cn-1"}

    def consume(nonce: str) -> bool:
        if nonce not in nonces:
            return False
        nonces.remove(nonce)
        return True

    keys = oid4vci.verify_proofs(creq, credential_issuer=ISSUER, now=NOW, client_id=client.client_id,
                                 consume_nonce=consume)
    assert keys[0].jwk == public_jwk(holder)
    assert creq.response_encryption is not None
    encrypted = oid4vci.encrypt_credential_response(oid4vci.credential_response(["sd-jwt~"], notification_id="n-1"),
                                                    creq.response_encryption)
    # wallet: decrypt and read the credential
    result = oid4vci.parse_credential_response(encrypted, decryption_key=enc_key)
    assert result.credentials == ("sd-jwt~",)
    assert result.notification_id == "n-1"


def test_presentation_flow(rp_access: Pki) -> None:
    # verifier: request object behind a request_uri fetched with POST
    enc = jwe.generate_encryption_key()
    link = oid4vp.request_link(client_id="x509_san_dns:verifier.example.bg", request_uri_method="post",
                               request_uri="https://verifier.example.bg/request/1", scheme=oid4vp.HAIP_SCHEME)
    # wallet: parse the link, POST wallet metadata + nonce
    parsed = oid4vp.parse_request_link(link)
    assert parsed.request_uri_method == "post"
    body = oid4vp.request_uri_post_body(wallet_nonce="wn-1", wallet_metadata=oid4vp.build_wallet_metadata())
    # verifier: answers with a signed request echoing the wallet nonce
    _metadata, wallet_nonce = oid4vp.parse_request_uri_post(body)
    dcql = {"credentials": [{"id": "pid", "format": "dc+sd-jwt"}]}
    request = oid4vp.build_request_object(
        rp_access.leaf_key, rp_access.chain, client_id="x509_san_dns:verifier.example.bg",
        response_uri="https://verifier.example.bg/response", nonce="n-1", state="s-1", dcql_query=dcql, now=NOW,
        client_metadata=oid4vp.build_client_metadata(enc.jwk), wallet_nonce=wallet_nonce)
    # wallet: verify and answer
    req = oid4vp.verify_request_object(request, trust=rp_access.validator, now=NOW, url_client_id=parsed.client_id,
                                       expected_wallet_nonce="wn-1")
    form = oid4vp.build_authorization_response(req, {"pid": ["presentation"]})
    # verifier: decrypt and check
    res = oid4vp.parse_authorization_response(form, response_mode="direct_post.jwt", expected_state="s-1",
                                              decryption_key=enc, dcql_query=dcql)
    assert res.vp_token == {"pid": ["presentation"]}


def test_authorization_code_flow_par() -> None:
    verifier = generate_code_verifier()
    par = oauth.validate_par_request({
        "client_id": "w-1", "response_type": "code", "redirect_uri": "https://wallet.example.bg/cb",
        "code_challenge": code_challenge(verifier), "code_challenge_method": "S256", "scope": "pid",
        "issuer_state": "is-1"}, authenticated_client_id="w-1", scope_to_configuration={"pid": "pid_sd_jwt"})
    uri, expires = oauth.parse_par_response(oauth.par_response(oauth.new_request_uri(), 60))
    assert oauth.parse_request_uri(uri) == uri
    assert expires == 60
    req = oauth.validate_token_request({"grant_type": "authorization_code", "code": "c", "code_verifier": verifier,
                                        "redirect_uri": par.redirect_uri})
    oauth.check_authorization_code_grant(req, code_challenge=par.code_challenge, redirect_uri=par.redirect_uri,
                                         client_id=par.client_id)
