"""Interop with the independent ``@openid4vc/*`` 0.4.6 packages (TypeScript, SPECS.md §7), run through node:

* OpenID4VP 1.0: their wallet resolves OUR signed request objects (x509_san_dns and x509_hash), checks the
  client identifier, and builds an encrypted ``direct_post.jwt`` response (JWE made by ``jose``) that WE decrypt
  and check;
* OpenID4VCI 1.0: their wallet parses OUR credential offer, OUR issuer and AS metadata (and must classify them as
  version 1.0), then creates JWT proofs (with and without a key attestation from their wallet-provider helper)
  that WE verify;
* client attestation: their verifier accepts OUR client attestation JWT (typ, cnf, x5c signature).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from portfeil.pki.certs import certs_to_x5c
from portfeil.pki.keys import generate_private_key, private_jwk, public_jwk
from portfeil.protocols import ProtocolError
from portfeil.protocols.client_attestation import create_client_attestation, verify_client_attestation
from portfeil.protocols.dpop import verify_dpop_proof
from portfeil.protocols.jwe import generate_encryption_key
from portfeil.protocols.oauth import authorization_server_metadata
from portfeil.protocols.oid4vci import (
    CredentialConfiguration,
    CredentialRequest,
    TxCode,
    build_credential_offer,
    credential_issuer_metadata,
    credential_offer_uri,
    verify_proofs,
)
from portfeil.protocols.oid4vp import (
    build_authorization_response,
    build_client_metadata,
    build_request_object,
    parse_authorization_response,
    parse_request_link,
    verify_request_object,
    x509_hash,
)
from tests.protocols.conftest import NOW, Pki, Seen

pytestmark = pytest.mark.interop

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"
ISSUER = "https://issuer.example.bg"
DNS = "verifier.example.bg"

DRIVER = r"""
import * as jose from 'jose';
import { X509Certificate, createHash, randomBytes } from 'node:crypto';
import { Openid4vpClient, Openid4vpVerifier } from '@openid4vc/openid4vp';
import { Openid4vciClient, Openid4vciWalletProvider } from '@openid4vc/openid4vci';
import { verifyClientAttestationJwt, clientAuthenticationClientAttestationJwt, resourceRequest }
  from '@openid4vc/oauth2';

const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (d) => s += d);
  process.stdin.on('end', () => ok(s)); }));
const now = new Date(input.now * 1000);

async function keyFor(signer) {
  if (signer.method === 'x5c') return new X509Certificate(Buffer.from(signer.x5c[0], 'base64')).publicKey;
  if (signer.method === 'jwk') return await jose.importJWK(signer.publicJwk, signer.alg);
  throw new Error('unsupported signer ' + signer.method);
}
const callbacks = {
  hash: (data, alg) => createHash('sha256').update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  verifyJwt: async (signer, { compact }) => {
    try { await jose.compactVerify(compact, await keyFor(signer)); return { verified: true }; }
    catch (e) { return { verified: false }; }
  },
  getX509CertificateMetadata: (b64) => {
    const alt = new X509Certificate(Buffer.from(b64, 'base64')).subjectAltName ?? '';
    const parts = alt.split(', ');
    return { sanDnsNames: parts.filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4)),
             sanUriNames: parts.filter((p) => p.startsWith('URI:')).map((p) => p.slice(4)) };
  },
  encryptJwe: async (enc, data) => {
    const hdr = { alg: enc.alg, enc: enc.enc, kid: enc.publicJwk.kid };
    if (enc.apu) hdr.apu = enc.apu;
    if (enc.apv) hdr.apv = enc.apv;
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(hdr)
      .encrypt(await jose.importJWK(enc.publicJwk, enc.alg));
    return { jwe, encryptionJwk: enc.publicJwk };
  },
  fetch: async (url) => {
    const body = input.documents?.[String(url)];
    if (body === undefined) return new Response('not found', { status: 404 });
    return new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
  },
};

const out = {};
if (input.op === 'vp_wallet') {
  const client = new Openid4vpClient({ callbacks });
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: { client_id: input.client_id, request: input.request } });
  out.prefix = resolved.client.prefix;
  out.nonce = resolved.authorizationRequestPayload.nonce;
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: resolved.authorizationRequestPayload,
    authorizationResponsePayload: { vp_token: input.vp_token },
    jarm: { encryption: {}, serverMetadata: {
      authorization_encryption_alg_values_supported: ['ECDH-ES'],
      authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'] } },
  });
  out.response = response.jarm.responseJwt;
} else if (input.op === 'vci_wallet') {
  const holder = await jose.generateKeyPair('ES256', { extractable: true });
  const holderJwk = await jose.exportJWK(holder.publicKey);
  const signJwt = async (signer, { header, payload }) => ({
    jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(holder.privateKey), signerJwk: holderJwk });
  const client = new Openid4vciClient({ callbacks: { ...callbacks, signJwt } });
  const offer = await client.resolveCredentialOffer(input.offer_uri);
  out.offer = offer;
  const md = await client.resolveIssuerMetadata(offer.credential_issuer);
  out.version = md.originalDraftVersion;
  let keyAttestationJwt;
  if (input.key_attestation) {
    // signed with the holder key (the peer cannot have our wallet-provider certificate): our verifier must refuse it
    const wp = new Openid4vciWalletProvider({ callbacks: { ...callbacks, signJwt } });
    keyAttestationJwt = await wp.createKeyAttestationJwt({
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk },
      attestedKeys: [holderJwk], use: 'proof_type.jwt', issuedAt: now, expiresAt: new Date(now.getTime() + 3600e3),
      keyStorage: ['iso_18045_high'], userAuthentication: ['iso_18045_high'] });
  }
  const { jwt } = await client.createCredentialRequestJwtProof({ issuerMetadata: md,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk }, nonce: input.nonce, issuedAt: now,
    credentialConfigurationId: input.configuration_id, clientId: input.client_id ?? undefined, keyAttestationJwt });
  out.proof = jwt;
  out.jwk = holderJwk;
  out.key_attestation = keyAttestationJwt ?? null;
} else if (input.op === 'client_attestation') {
  const r = await verifyClientAttestationJwt({ clientAttestationJwt: input.attestation, callbacks, now });
  out.sub = r.payload.sub;
  out.cnf = r.payload.cnf;
}
if (input.op === 'vp_verifier') {
  const key = await jose.importJWK(input.private_jwk, 'ES256');
  const signJwt = async (signer, { header, payload }) => ({
    jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(key) });
  const verifier = new Openid4vpVerifier({ callbacks: { ...callbacks, signJwt } });
  const result = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: input.payload, scheme: 'haip-vp://',
    jar: { jwtSigner: { method: 'x5c', alg: 'ES256', x5c: input.x5c }, expiresInSeconds: 300,
           additionalJwtPayload: input.aud ? { aud: input.aud } : undefined } });
  out.link = result.authorizationRequest;
}
if (input.op === 'dpop' || input.op === 'client_auth') {
  const key = await jose.importJWK(input.private_jwk, 'ES256');
  const publicJwk = { ...input.private_jwk };
  delete publicJwk.d;
  const signJwt = async (signer, { header, payload }) => ({
    jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(key), signerJwk: publicJwk });
  if (input.op === 'dpop') {
    let seen;
    const fetch = async (url, init) => { seen = init.headers; return new Response('{}', { status: 200 }); };
    await resourceRequest({ url: input.url, accessToken: input.access_token, requestOptions: { method: 'POST' },
      dpop: { signer: { method: 'jwk', alg: 'ES256', publicJwk }, nonce: input.nonce },
      callbacks: { ...callbacks, signJwt, fetch } });
    out.dpop = seen.DPoP;
    out.authorization = seen.Authorization;
  } else {
    const headers = new Headers();
    await clientAuthenticationClientAttestationJwt({ clientAttestationJwt: input.attestation,
      callbacks: { ...callbacks, signJwt } })({ headers, authorizationServerMetadata: { issuer: input.issuer } });
    out.attestation = headers.get('OAuth-Client-Attestation');
    out.pop = headers.get('OAuth-Client-Attestation-PoP');
  }
}
process.stdout.write(JSON.stringify(out));
"""


def run_node(payload: dict[str, Any]) -> dict[str, Any]:
    if shutil.which("node") is None:
        pytest.skip("node runtime missing: install Node 20 to run the @openid4vc interop tests")
    if not (NODE_DIR / "node_modules" / "@openid4vc" / "openid4vp").is_dir():
        pytest.skip("node runtime missing: tests/interop/node/node_modules not installed (npm install)")
    proc = subprocess.run(["node", "--input-type=module", "-e", DRIVER], cwd=NODE_DIR, input=json.dumps(payload),
                          capture_output=True, text=True, timeout=120, check=False)
    if proc.returncode != 0:
        raise AssertionError(f"peer failed: {proc.stderr[-3000:]}")
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


DCQL = {"credentials": [{"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eudi:pid:1"]},
                         "claims": [{"path": ["given_name"]}]}]}


@pytest.mark.parametrize("prefix", ["x509_san_dns", "x509_hash"])
def test_vp_peer_wallet_accepts_our_request_and_we_decrypt_its_response(rp_access: Pki, prefix: str) -> None:
    enc = generate_encryption_key()
    client_id = f"x509_san_dns:{DNS}" if prefix == "x509_san_dns" else f"x509_hash:{x509_hash(rp_access.leaf)}"
    now = time.time()
    real_now = datetime.fromtimestamp(now, UTC)
    request = build_request_object(
        rp_access.leaf_key, rp_access.chain, client_id=client_id, response_uri=f"https://{DNS}/response",
        nonce="nonce-123", state="state-9", dcql_query=DCQL, now=real_now,
        client_metadata=build_client_metadata(enc.jwk), verifier_info=[{"format": "registration_cert",
                                                                         "data": "eyJ.registration.cert"}])
    out = run_node({"op": "vp_wallet", "now": int(now), "client_id": client_id, "request": request,
                    "vp_token": {"pid": ["eyJ.sd-jwt~d1~kb"]}})
    assert out["prefix"] == prefix
    res = parse_authorization_response({"response": out["response"]}, response_mode="direct_post.jwt",
                                       expected_state="state-9", credential_query_ids={"pid"}, decryption_key=enc)
    assert res.vp_token == {"pid": ["eyJ.sd-jwt~d1~kb"]}
    assert res.encrypted


def test_vp_peer_wallet_rejects_our_request_with_wrong_dns(rp_access: Pki) -> None:
    """Sanity check of the peer setup: a client_id DNS name that is not in the SAN must fail there too."""
    enc = generate_encryption_key()
    request = build_request_object(
        rp_access.leaf_key, rp_access.chain, client_id="x509_san_dns:evil.example",
        response_uri="https://evil.example/response", nonce="n", dcql_query=DCQL,
        now=datetime.now(UTC), client_metadata=build_client_metadata(enc.jwk))
    with pytest.raises(AssertionError, match="peer failed"):
        run_node({"op": "vp_wallet", "now": int(time.time()), "client_id": "x509_san_dns:evil.example",
                  "request": request, "vp_token": {"pid": ["x"]}})


def _issuer_documents() -> dict[str, Any]:
    md = credential_issuer_metadata(
        ISSUER, display={"bg": "МВР", "en": "Ministry of Interior"}, batch_size=5,
        configurations=[CredentialConfiguration("pid_sd_jwt", "dc+sd-jwt", "pid", vct="urn:eudi:pid:1",
                                                display={"bg": "ЛИД", "en": "PID"})])
    asmd = authorization_server_metadata(ISSUER, authorization_endpoint=f"{ISSUER}/authorize",
                                         token_endpoint=f"{ISSUER}/token",
                                         pushed_authorization_request_endpoint=f"{ISSUER}/par")
    return {f"{ISSUER}/.well-known/openid-credential-issuer": md,
            f"{ISSUER}/.well-known/oauth-authorization-server": asmd}


@pytest.mark.parametrize("anonymous", [True, False])
def test_vci_peer_wallet_reads_our_offer_and_metadata_and_we_verify_its_proof(anonymous: bool) -> None:
    offer = build_credential_offer(ISSUER, ["pid_sd_jwt"], pre_authorized_code="pac-1",
                                   tx_code=TxCode("numeric", 6, "SMS"))
    out = run_node({"op": "vci_wallet", "now": int(NOW.timestamp()), "offer_uri": credential_offer_uri(offer),
                    "documents": _issuer_documents(), "nonce": "c-nonce-1", "configuration_id": "pid_sd_jwt",
                    "client_id": None if anonymous else "wallet-1"})
    assert out["offer"]["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]["tx_code"]["length"] == 6
    assert out["version"] == "V1"
    req = CredentialRequest("pid_sd_jwt", None, "jwt", (out["proof"],), None)
    used: list[str] = []

    def consume(nonce: str) -> bool:
        used.append(nonce)
        return nonce == "c-nonce-1"

    keys = verify_proofs(req, credential_issuer=ISSUER, now=NOW, client_id=None if anonymous else "wallet-1",
                         consume_nonce=consume)
    assert keys[0].jwk["x"] == out["jwk"]["x"]
    assert used == ["c-nonce-1"]
    with pytest.raises(ProtocolError):
        verify_proofs(req, credential_issuer="https://other-issuer.example", now=NOW, consume_nonce=lambda n: True,
                      client_id=None if anonymous else "wallet-1")


def test_vci_peer_key_attestation_header_is_read(wallet_provider: Pki) -> None:
    """The peer's proof carries a key_attestation header; our verifier reads it and (correctly) refuses it because
    the peer's attestation is not signed by a trusted wallet provider."""
    out = run_node({"op": "vci_wallet", "now": int(NOW.timestamp()),
                    "offer_uri": credential_offer_uri(build_credential_offer(ISSUER, ["pid_sd_jwt"],
                                                                             pre_authorized_code="p")),
                    "documents": _issuer_documents(), "nonce": "n", "configuration_id": "pid_sd_jwt",
                    "client_id": None, "key_attestation": True})
    assert out["key_attestation"]
    req = CredentialRequest("pid_sd_jwt", None, "jwt", (out["proof"],), None)
    with pytest.raises(ProtocolError) as e:
        verify_proofs(req, credential_issuer=ISSUER, now=NOW, consume_nonce=lambda n: True,
                      key_attestation_trust=wallet_provider.validator)
    assert e.value.code == "invalid_proof"
    assert e.value.details.get("reason") == "invalid_x5c"


def test_peer_accepts_our_client_attestation(wallet_provider: Pki) -> None:
    instance = generate_private_key("ES256")
    att = create_client_attestation(wallet_provider.leaf_key, issuer="https://wallet-provider.example.bg",
                                    client_id="wallet-1", instance_jwk=public_jwk(instance), now=NOW,
                                    x5c=wallet_provider.chain)
    out = run_node({"op": "client_attestation", "now": int(NOW.timestamp()), "attestation": att,
                    "x5c": certs_to_x5c(wallet_provider.chain)})
    assert out["sub"] == "wallet-1"
    assert out["cnf"]["jwk"]["x"] == public_jwk(instance)["x"]


def test_we_verify_peer_dpop_proof(seen: Seen) -> None:
    key = generate_private_key("ES256")
    out = run_node({"op": "dpop", "now": int(time.time()), "private_jwk": private_jwk(key),
                    "url": "https://issuer.example.bg/credential?x=1", "access_token": "at-123", "nonce": "dn-1"})
    assert out["authorization"] == "DPoP at-123"
    proof = verify_dpop_proof(out["dpop"], htm="POST", htu="https://issuer.example.bg/credential",
                              now=datetime.now(UTC), seen=seen, access_token="at-123",
                              check_nonce=lambda n: n == "dn-1")
    assert proof.jwk["x"] == public_jwk(key)["x"]
    with pytest.raises(ProtocolError):
        verify_dpop_proof(out["dpop"], htm="POST", htu="https://issuer.example.bg/credential",
                          now=datetime.now(UTC), seen=seen, access_token="at-123")


def test_we_verify_peer_client_attestation_pop(wallet_provider: Pki, seen: Seen) -> None:
    instance = generate_private_key("ES256")
    now = datetime.now(UTC)
    att = create_client_attestation(wallet_provider.leaf_key, issuer="https://wallet-provider.example.bg",
                                    client_id="wallet-1", instance_jwk=public_jwk(instance), now=now,
                                    x5c=wallet_provider.chain)
    out = run_node({"op": "client_auth", "now": int(now.timestamp()), "private_jwk": private_jwk(instance),
                    "attestation": att, "issuer": ISSUER})
    assert out["attestation"] == att
    result = verify_client_attestation(out["attestation"], out["pop"], trust=wallet_provider.validator,
                                       audience=ISSUER, now=now, seen=seen, client_id="wallet-1")
    assert result.client_id == "wallet-1"
    with pytest.raises(ProtocolError):
        verify_client_attestation(out["attestation"], out["pop"], trust=wallet_provider.validator,
                                  audience="https://other-as.example", now=now, seen=Seen())


@pytest.mark.parametrize("aud", ["https://self-issued.me/v2", None])
def test_we_verify_peer_verifier_request(rp_access: Pki, aud: str | None) -> None:
    """Their verifier's signed request, opened by our wallet from the haip-vp:// link. Without an explicit aud the
    peer writes none (RFC 9101 does not mandate it): accepted by default, refused with ``require_aud``."""
    enc = generate_encryption_key()
    payload = {"response_type": "vp_token", "client_id": f"x509_san_dns:{DNS}", "response_mode": "direct_post.jwt",
               "response_uri": f"https://{DNS}/response", "nonce": "n-7", "state": "s-7", "dcql_query": DCQL,
               "client_metadata": build_client_metadata(enc.jwk)}
    out = run_node({"op": "vp_verifier", "now": int(time.time()), "private_jwk": private_jwk(rp_access.leaf_key),
                    "x5c": certs_to_x5c(rp_access.chain), "payload": payload, "aud": aud})
    link = parse_request_link(out["link"])
    assert out["link"].startswith("haip-vp://")
    assert link.request is not None
    if aud is None:
        with pytest.raises(ProtocolError) as e:
            verify_request_object(link.request, trust=rp_access.validator, now=datetime.now(UTC),
                                  url_client_id=link.client_id, require_aud=True)
        assert "aud" in e.value.message
    req = verify_request_object(link.request, trust=rp_access.validator, now=datetime.now(UTC),
                                url_client_id=link.client_id)
    assert req.nonce == "n-7"
    form = build_authorization_response(req, {"pid": ["x"]})
    assert parse_authorization_response(form, response_mode="direct_post.jwt", expected_state="s-7",
                                        decryption_key=enc).vp_token == {"pid": ["x"]}
