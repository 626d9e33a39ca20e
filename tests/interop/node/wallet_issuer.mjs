// An independent OpenID4VCI 1.0 credential issuer + authorization server built on @openid4vc/openid4vci 0.4.6
// (Openid4vciIssuer) and @openid4vc/oauth2 0.4.6 (Oauth2AuthorizationServer, Oauth2ResourceServer), issuing an
// SD-JWT VC with @sd-jwt/sd-jwt-vc 0.19.0 and an mdoc with @owf/mdoc 0.6.0. portfeil's wallet receives from it
// (tests/interop/test_wallet_receive_interop.py).
//
// Input JSON on stdin: {port, txCode, sdJwt: {leafPrivateJwk, x5c: [b64 DER leaf, ...]},
//                       mdoc: {dsPrivateJwk, dsCertificate: b64 DER}}
// The issuer is http://localhost:PORT (listening on 127.0.0.1); the SD-JWT VC leaf must carry it as a SAN URI.
// Pre-authorized code flow with a tx_code; DPoP is required at the token and credential endpoints, with a server
// DPoP nonce (RFC 9449 §8) that the wallet must pick up from a use_dpop_nonce error; a fresh c_nonce per call of
// the nonce endpoint, each usable once. stdout: one JSON line {port, offer, offerByReference} when ready, then one
// JSON line per event ({event: "dpop_nonce_challenge"|"token"|"credential"|"error", ...}).
import crypto from 'node:crypto';
import http from 'node:http';
import * as jose from 'jose';
import { Openid4vciIssuer, Openid4vciVersion } from '@openid4vc/openid4vci';
import { Oauth2AuthorizationServer, Oauth2ResourceServer, Oauth2ServerErrorResponseError,
  Oauth2ResourceUnauthorizedError, preAuthorizedCodeGrantIdentifier } from '@openid4vc/oauth2';
import { setGlobalConfig } from '@openid4vc/utils';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';
import { CoseKey, DateOnly, DeviceKey, Issuer, SignatureAlgorithm } from '@owf/mdoc';

setGlobalConfig({ allowInsecureUrls: true });  // http://localhost (SPECS.md section 7)

const input = JSON.parse(await new Promise((ok) => { let s = ''; process.stdin.on('data', (d) => s += d);
  process.stdin.on('end', () => ok(s)); }));
const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n');

const BASE = `http://localhost:${input.port}`;
const VCT = 'urn:eudi:pid:1';
const DOCTYPE = 'eu.europa.ec.eudi.pid.1';
const CLAIMS = { family_name: 'Petrova', given_name: 'Maria', birthdate: '1990-04-12', nationalities: ['BG'],
  age_equal_or_over: { '18': true } };
const MDOC_CLAIMS = { family_name: 'Petrova', given_name: 'Maria', birth_date: '1990-04-12', issuing_country: 'BG',
  age_over_18: true };

// --- callbacks for the @openid4vc libraries (jose does the JWS work)
const asKeys = await jose.generateKeyPair('ES256', { extractable: true });
const asPublicJwk = { ...(await jose.exportJWK(asKeys.publicKey)), kid: 'as-1', use: 'sig', alg: 'ES256' };
const callbacks = {
  hash: (data, alg) => crypto.createHash(alg === 'sha-384' ? 'sha384' : alg === 'sha-512' ? 'sha512' : 'sha256')
    .update(data).digest(),
  generateRandom: (n) => crypto.randomBytes(n),
  fetch: (url, init) => fetch(url, init),
  signJwt: async (signer, { header, payload }) => {
    if (signer.method !== 'jwk' || signer.publicJwk.kid !== asPublicJwk.kid) throw new Error('unknown signer');
    return { jwt: await new jose.SignJWT(payload).setProtectedHeader(header).sign(asKeys.privateKey),
      signerJwk: signer.publicJwk };
  },
  verifyJwt: async (signer, { compact }) => {
    const jwk = signer.method === 'jwk' ? signer.publicJwk : undefined;
    if (!jwk) return { verified: false };
    try {
      await jose.compactVerify(compact, await jose.importJWK(jwk, signer.alg));
      return { verified: true, signerJwk: jwk };
    } catch {
      return { verified: false, signerJwk: jwk };
    }
  },
};
const issuer = new Openid4vciIssuer({ callbacks });
const as = new Oauth2AuthorizationServer({ callbacks });
const rs = new Oauth2ResourceServer({ callbacks });

// --- metadata
const asMetadata = as.createAuthorizationServerMetadata({
  issuer: BASE, token_endpoint: `${BASE}/token`, jwks_uri: `${BASE}/jwks`,
  grant_types_supported: [preAuthorizedCodeGrantIdentifier], dpop_signing_alg_values_supported: ['ES256'],
  'pre-authorized_grant_anonymous_access_supported': true,
});
const proofTypes = { jwt: { proof_signing_alg_values_supported: ['ES256'] } };
const credentialIssuer = issuer.createCredentialIssuerMetadata({
  credential_issuer: BASE, authorization_servers: [BASE], credential_endpoint: `${BASE}/credential`,
  nonce_endpoint: `${BASE}/nonce`, batch_credential_issuance: { batch_size: 2 },
  display: [{ name: 'Node interop issuer', locale: 'en' }, { name: 'Node издател', locale: 'bg' }],
  credential_configurations_supported: {
    pid_sd_jwt: { format: 'dc+sd-jwt', vct: VCT, scope: 'pid_sd_jwt', cryptographic_binding_methods_supported: ['jwk'],
      credential_signing_alg_values_supported: ['ES256'], proof_types_supported: proofTypes,
      credential_metadata: { display: [{ name: 'Node PID (SD-JWT VC)', locale: 'en' }],
        claims: [{ path: ['family_name'], display: [{ name: 'Family name', locale: 'en' }] }] } },
    pid_mdoc: { format: 'mso_mdoc', doctype: DOCTYPE, scope: 'pid_mdoc',
      cryptographic_binding_methods_supported: ['cose_key'], credential_signing_alg_values_supported: [-7],
      proof_types_supported: proofTypes,
      credential_metadata: { display: [{ name: 'Node PID (mdoc)', locale: 'en' }],
        claims: [{ path: [DOCTYPE, 'family_name'], display: [{ name: 'Family name', locale: 'en' }] }] } },
  },
});
const issuerMetadata = { originalDraftVersion: Openid4vciVersion.V1, credentialIssuer,
  authorizationServers: [asMetadata],
  knownCredentialConfigurations: issuer.getKnownCredentialConfigurationsSupported(credentialIssuer) };

// --- state
const preAuthorizedCode = crypto.randomBytes(32).toString('base64url');
const offerOptions = {
  issuerMetadata, credentialConfigurationIds: ['pid_sd_jwt', 'pid_mdoc'],
  grants: { [preAuthorizedCodeGrantIdentifier]: { 'pre-authorized_code': preAuthorizedCode,
    tx_code: { input_mode: 'numeric', length: input.txCode.length, description: 'PIN sent separately' } } },
};
const { credentialOffer, credentialOfferObject } = await issuer.createCredentialOffer(offerOptions);
const { credentialOffer: credentialOfferByReference } = await issuer.createCredentialOffer({
  ...offerOptions, credentialOfferUri: `${BASE}/offer` });
let codeUsed = false;
const dpopNonce = crypto.randomBytes(16).toString('base64url');
const cNonces = new Map();  // c_nonce -> expiry (ms); each one usable once

function dpopNonceOf(headers) {
  const dpop = headers.get('DPoP');
  if (!dpop) return undefined;
  try { return jose.decodeJwt(dpop).nonce; } catch { return undefined; }
}

// --- issuance
const sdjwt = new SDJwtVcInstance({ signer: await ES256.getSigner(input.sdJwt.leafPrivateJwk), signAlg: 'ES256',
  hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt });

async function issueSdJwt(holderJwk) {
  const now = Math.floor(Date.now() / 1000);
  const payload = { iss: BASE, vct: VCT, iat: now, exp: now + 30 * 86400, cnf: { jwk: holderJwk }, ...CLAIMS };
  return sdjwt.issue(payload, { _sd: ['family_name', 'given_name', 'birthdate', 'nationalities', 'age_equal_or_over'] },
    { header: { x5c: input.sdJwt.x5c } });
}

const mdocCtx = {
  crypto: {
    random: (n) => new Uint8Array(crypto.randomBytes(n)),
    digest: ({ bytes }) => new Uint8Array(crypto.createHash('sha256').update(bytes).digest()),
    calculateEphemeralMacKey: () => { throw new Error('unused'); },
  },
  cose: {
    sign1: {
      sign: ({ toBeSigned, key }) => {
        const { alg, kid, key_ops, use, ...jwk } = key.jwk;  // eslint-disable-line no-unused-vars
        const privateKey = crypto.createPrivateKey({ key: jwk, format: 'jwk' });
        return new Uint8Array(crypto.sign('sha256', toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
      },
      verify: () => { throw new Error('unused'); },
    },
    mac0: { sign: () => { throw new Error('unused'); }, verify: () => false },
  },
  x509: {},
};

async function issueMdoc(holderJwk) {
  const mdoc = new Issuer(DOCTYPE, mdocCtx);
  mdoc.addIssuerNamespace(DOCTYPE, { ...MDOC_CLAIMS, birth_date: new DateOnly(MDOC_CLAIMS.birth_date) });
  const now = new Date();
  const signed = await mdoc.sign({
    signingKey: CoseKey.fromJwk(input.mdoc.dsPrivateJwk), algorithm: SignatureAlgorithm.ES256,
    digestAlgorithm: 'SHA-256',
    validityInfo: { signed: now, validFrom: now, validUntil: new Date(now.getTime() + 30 * 86400_000) },
    deviceKeyInfo: { deviceKey: DeviceKey.fromJwk({ kty: holderJwk.kty, crv: holderJwk.crv, x: holderJwk.x,
      y: holderJwk.y }) },
    certificates: [new Uint8Array(Buffer.from(input.mdoc.dsCertificate, 'base64'))],
  });
  return Buffer.from(signed.encode()).toString('base64url');
}

// --- endpoints
async function token(req, body) {
  const form = Object.fromEntries(new URLSearchParams(body));
  const parsed = as.parseAccessTokenRequest({ accessTokenRequest: form, request: req });
  if (parsed.grant.grantType !== preAuthorizedCodeGrantIdentifier) {
    throw new Oauth2ServerErrorResponseError({ error: 'unsupported_grant_type' });
  }
  if (!parsed.dpop) throw new Oauth2ServerErrorResponseError({ error: 'invalid_dpop_proof', error_description: 'DPoP required' });
  if (dpopNonceOf(req.headers) !== dpopNonce) {
    emit({ event: 'dpop_nonce_challenge', path: '/token' });
    return [400, { error: 'use_dpop_nonce', error_description: 'use the DPoP-Nonce' }];
  }
  const { dpop } = await as.verifyPreAuthorizedCodeAccessTokenRequest({
    grant: parsed.grant, accessTokenRequest: parsed.accessTokenRequest, request: req,
    expectedPreAuthorizedCode: preAuthorizedCode, expectedTxCode: input.txCode,
    dpop: { jwt: parsed.dpop.jwt, required: true, allowedSigningAlgs: ['ES256'] },
    authorizationServerMetadata: asMetadata,
  });
  if (codeUsed) throw new Oauth2ServerErrorResponseError({ error: 'invalid_grant', error_description: 'code used' });
  codeUsed = true;
  const response = await as.createAccessTokenResponse({
    audience: BASE, authorizationServer: BASE, expiresInSeconds: 300, subject: preAuthorizedCode,
    signer: { method: 'jwk', alg: 'ES256', publicJwk: asPublicJwk }, dpop: { jwk: dpop.jwk },
  });
  emit({ event: 'token', token_type: response.token_type });
  return [200, response];
}

function nonce() {
  const value = crypto.randomBytes(24).toString('base64url');
  cNonces.set(value, Date.now() + 60_000);
  return [200, issuer.createNonceResponse({ cNonce: value, cNonceExpiresIn: 60 })];
}

async function credential(req, body) {
  if (dpopNonceOf(req.headers) !== dpopNonce) {
    emit({ event: 'dpop_nonce_challenge', path: '/credential' });
    return [401, { error: 'use_dpop_nonce' }, { 'WWW-Authenticate': 'DPoP error="use_dpop_nonce"' }];
  }
  const verified = await rs.verifyResourceRequest({ authorizationServers: [asMetadata], resourceServer: BASE,
    request: req, allowedAuthenticationSchemes: ['DPoP'] });
  const parsed = issuer.parseCredentialRequest({ issuerMetadata, credentialRequest: JSON.parse(body) });
  const configId = parsed.credentialConfigurationId;
  if (!configId || !parsed.proofs?.jwt?.length) {
    throw new Oauth2ServerErrorResponseError({ error: 'invalid_credential_request' });
  }
  if (parsed.proofs.jwt.length > credentialIssuer.batch_credential_issuance.batch_size) {
    throw new Oauth2ServerErrorResponseError({ error: 'invalid_credential_request', error_description: 'batch' });
  }
  const holderJwks = [];
  let usedNonce;
  for (const jwt of parsed.proofs.jwt) {
    const claimed = jose.decodeJwt(jwt).nonce;
    if (!cNonces.has(claimed)) throw new Oauth2ServerErrorResponseError({ error: 'invalid_nonce' });
    const { signer } = await issuer.verifyCredentialRequestJwtProof({ issuerMetadata, jwt, expectedNonce: claimed,
      nonceExpiresAt: new Date(cNonces.get(claimed)) });
    if (usedNonce !== undefined && usedNonce !== claimed) {
      throw new Oauth2ServerErrorResponseError({ error: 'invalid_proof', error_description: 'mixed nonces' });
    }
    usedNonce = claimed;
    holderJwks.push(signer.publicJwk);
  }
  cNonces.delete(usedNonce);  // one credential request per c_nonce
  const credentials = [];
  for (const jwk of holderJwks) {
    credentials.push({ credential: configId === 'pid_mdoc' ? await issueMdoc(jwk) : await issueSdJwt(jwk) });
  }
  emit({ event: 'credential', configuration_id: configId, proofs: holderJwks.length, scheme: verified.scheme,
    holder_keys: holderJwks.map((j) => j.x) });
  return [200, issuer.createCredentialResponse({ credentialRequest: parsed, credentials })];
}

const routes = {
  'GET /.well-known/openid-credential-issuer': () => [200, credentialIssuer],
  'GET /.well-known/oauth-authorization-server': () => [200, asMetadata],
  'GET /jwks': () => [200, { keys: [asPublicJwk] }],
  'GET /offer': () => [200, credentialOfferObject],
  'POST /token': token,
  'POST /nonce': nonce,
  'POST /credential': credential,
};

const server = http.createServer(async (msg, res) => {
  const chunks = [];
  for await (const c of msg) chunks.push(c);
  const body = Buffer.concat(chunks).toString('utf8');
  const url = new URL(msg.url, BASE);
  const headers = new Headers();
  for (const [k, v] of Object.entries(msg.headers)) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
  const req = { method: msg.method, url: url.toString(), headers };
  let status; let payload; let extra = {};
  try {
    const handler = routes[`${msg.method} ${url.pathname}`];
    if (!handler) [status, payload] = [404, { error: 'not_found' }];
    else [status, payload, extra = {}] = await handler(req, body);
  } catch (err) {
    if (err instanceof Oauth2ServerErrorResponseError) [status, payload] = [400, err.errorResponse];
    else if (err instanceof Oauth2ResourceUnauthorizedError) [status, payload] = [401, { error: 'invalid_token' }];
    else [status, payload] = [500, { error: 'server_error' }];
    emit({ event: 'error', path: url.pathname, status, error: payload.error,
      message: String(err?.message ?? err).slice(0, 500) });
  }
  res.writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', 'DPoP-Nonce': dpopNonce,
    ...extra });
  res.end(JSON.stringify(payload));
});
server.listen(input.port, '127.0.0.1', () => emit({ port: input.port, offer: credentialOffer,
  offerByReference: credentialOfferByReference }));
