// An independent wallet (@openid4vc/openid4vci 0.4.6) obtains credentials from portfeil's PID provider through the
// pre-authorized code flow against a live server: offer -> metadata -> token (DPoP, tx_code) -> for each offered
// configuration: fresh nonce -> JWT proof -> credential. Input JSON on stdin: {offer_uri, tx_code}. Output JSON:
// {version, token_type, credentials: {config_id: [credential, ...]}, holder_jwks: {config_id: jwk}}.
import * as jose from 'jose';
import { createHash, randomBytes } from 'node:crypto';
import { Openid4vciClient } from '@openid4vc/openid4vci';
import { setGlobalConfig } from '@openid4vc/utils';

setGlobalConfig({ allowInsecureUrls: true });  // the live test server is http://localhost (SPECS.md section 7)

const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (d) => s += d);
  process.stdin.on('end', () => ok(s)); }));

const keys = new Map();  // jwk.x -> private key
async function newKey() {
  const pair = await jose.generateKeyPair('ES256', { extractable: true });
  const jwk = await jose.exportJWK(pair.publicKey);
  keys.set(jwk.x, pair.privateKey);
  return jwk;
}
const callbacks = {
  hash: (data) => createHash('sha256').update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  fetch: (url, init) => fetch(url, init),
  clientAuthentication: () => {},  // anonymous pre-authorized access (pre-authorized_grant_anonymous_access_supported)
  signJwt: async (signer, { header, payload }) => {
    const key = keys.get(signer.publicJwk.x);
    return { jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(key), signerJwk: signer.publicJwk };
  },
};

const client = new Openid4vciClient({ callbacks });
const offer = await client.resolveCredentialOffer(input.offer_uri);
const md = await client.resolveIssuerMetadata(offer.credential_issuer);
const dpopJwk = await newKey();
const dpopSigner = { method: 'jwk', alg: 'ES256', publicJwk: dpopJwk };
const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
  credentialOffer: offer, issuerMetadata: md, txCode: input.tx_code, dpop: { signer: dpopSigner } });
let dpopNonce = token.dpop?.nonce;
const out = { version: md.originalDraftVersion, token_type: token.accessTokenResponse.token_type, credentials: {},
              holder_jwks: {} };
for (const configId of offer.credential_configuration_ids) {
  const holderJwk = await newKey();
  const { c_nonce } = await client.requestNonce({ issuerMetadata: md });  // a fresh nonce per request
  const { jwt } = await client.createCredentialRequestJwtProof({
    issuerMetadata: md, signer: { method: 'jwk', alg: 'ES256', publicJwk: holderJwk }, nonce: c_nonce,
    credentialConfigurationId: configId, issuedAt: new Date() });
  const res = await client.retrieveCredentials({
    issuerMetadata: md, accessToken: token.accessTokenResponse.access_token, credentialConfigurationId: configId,
    proofs: { jwt: [jwt] }, dpop: { signer: dpopSigner, nonce: dpopNonce } });
  dpopNonce = res.dpop?.nonce ?? dpopNonce;
  out.credentials[configId] = res.credentialResponse.credentials.map((c) => c.credential);
  out.holder_jwks[configId] = holderJwk;
}
process.stdout.write(JSON.stringify(out));
