// Interop peer for portfeil's verifier: the independent @openid4vc/openid4vp 0.4.6 wallet side, presenting
// SD-JWT VC (@sd-jwt/sd-jwt-vc 0.19.0) or mdoc (@owf/mdoc 0.6.0) credentials to a live portfeil server.
//
//   node verifier_wallet.mjs < {link, method: "get"|"post", holderPrivateJwk, now (seconds),
//                               sdjwt?: {credential, frame}, mdoc?: {dsPrivateJwk, dsCertificate, docType,
//                               namespaces, dates, disclose, signed, validFrom, validUntil}}
// Resolves the request by reference over HTTP (request_uri), verifies it (x509_san_dns / x509_hash, signature
// with the x5c leaf), builds the presentation bound to the request's client_id + nonce (+ the mdoc OpenID4VP
// SessionTranscript), encrypts the response when direct_post.jwt is asked for, POSTs it to response_uri and
// writes {ok, prefix, status, body, responseMode} to stdout.
import * as jose from 'jose'
import { X509Certificate, createHash, randomBytes } from 'node:crypto'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { ES256, digest } from '@sd-jwt/crypto-nodejs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

setGlobalConfig({ allowInsecureUrls: true })

const input = JSON.parse(await new Promise((ok) => {
  let s = ''
  process.stdin.on('data', (d) => (s += d))
  process.stdin.on('end', () => ok(s))
}))

async function keyFor(signer) {
  if (signer.method === 'x5c') return new X509Certificate(Buffer.from(signer.x5c[0], 'base64')).publicKey
  if (signer.method === 'jwk') return await jose.importJWK(signer.publicJwk, signer.alg)
  throw new Error('unsupported signer ' + signer.method)
}

const callbacks = {
  hash: (data) => createHash('sha256').update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  verifyJwt: async (signer, { compact }) => {
    try {
      await jose.compactVerify(compact, await keyFor(signer))
      return { verified: true }
    } catch (e) {
      return { verified: false }
    }
  },
  getX509CertificateMetadata: (b64) => {
    const alt = new X509Certificate(Buffer.from(b64, 'base64')).subjectAltName ?? ''
    const parts = alt.split(', ')
    return {
      sanDnsNames: parts.filter((p) => p.startsWith('DNS:')).map((p) => p.slice(4)),
      sanUriNames: parts.filter((p) => p.startsWith('URI:')).map((p) => p.slice(4)),
    }
  },
  encryptJwe: async (enc, data) => {
    const hdr = { alg: enc.alg, enc: enc.enc, kid: enc.publicJwk.kid }
    if (enc.apu) hdr.apu = enc.apu
    if (enc.apv) hdr.apv = enc.apv
    const jwe = await new jose.CompactEncrypt(new TextEncoder().encode(data)).setProtectedHeader(hdr)
      .encrypt(await jose.importJWK(enc.publicJwk, enc.alg))
    return { jwe, encryptionJwk: enc.publicJwk }
  },
  fetch: (url, init) => globalThis.fetch(url, init),
}

const out = { ok: true }
try {
  const params = Object.fromEntries(new URL(input.link).searchParams)
  const client = new Openid4vpClient({ callbacks })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: { ...params, request_uri_method: input.method },
    wallet: input.method === 'post' ? { metadata: { vp_formats_supported: { 'dc+sd-jwt': {} } } } : undefined,
  })
  const req = resolved.authorizationRequestPayload
  out.prefix = resolved.client.prefix
  out.responseMode = req.response_mode
  const encJwk = req.client_metadata?.jwks?.keys?.[0]
  let vpToken
  if (input.sdjwt) {
    const kbSigner = await ES256.getSigner(input.holderPrivateJwk)
    const sdjwt = new SDJwtVcInstance({ hasher: digest, kbSigner, kbSignAlg: 'ES256' })
    const presentation = await sdjwt.present(input.sdjwt.credential, input.sdjwt.frame, {
      kb: { payload: { iat: input.now, aud: req.client_id, nonce: req.nonce } },
    })
    vpToken = { pid: [presentation] }
  } else {
    const thumb = req.response_mode === 'direct_post.jwt'
      ? await jose.calculateJwkThumbprint({ kty: encJwk.kty, crv: encJwk.crv, x: encJwk.x, y: encJwk.y })
      : undefined
    const here = path.dirname(fileURLToPath(import.meta.url))
    // @owf/mdoc 0.6.0 writes no protected alg unless the JWK names it (see tests/interop/test_mdoc_interop.py)
    const mdocInput = { ...input.mdoc, dsPrivateJwk: { ...input.mdoc.dsPrivateJwk, alg: 'ES256' },
      devicePrivateJwk: { ...input.holderPrivateJwk, alg: 'ES256' }, clientId: req.client_id,
      nonce: req.nonce, jwkThumbprint: thumb, responseUri: req.response_uri }
    const proc = spawnSync('node', [path.join(here, 'mdoc_peer.mjs'), 'issue-present'],
      { input: JSON.stringify(mdocInput), encoding: 'utf8' })
    const res = JSON.parse(proc.stdout)
    if (!res.ok) throw new Error('mdoc peer: ' + res.error)
    vpToken = { pid_mdoc: [res.deviceResponse] }
  }
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: req,
    authorizationResponsePayload: { vp_token: vpToken, state: req.state },
    jarm: req.response_mode === 'direct_post.jwt' ? {
      encryption: {},
      serverMetadata: {
        authorization_encryption_alg_values_supported: ['ECDH-ES'],
        authorization_encryption_enc_values_supported: ['A128GCM', 'A256GCM'],
      },
    } : undefined,
  })
  const form = req.response_mode === 'direct_post.jwt'
    ? { response: response.jarm.responseJwt }
    : Object.fromEntries(Object.entries(response.authorizationResponsePayload)
      .map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]))
  const posted = await globalThis.fetch(req.response_uri, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  })
  out.status = posted.status
  out.body = await posted.text()
} catch (e) {
  out.ok = false
  out.error = String(e?.message ?? e) + (e?.errorResponse ? ' ' + JSON.stringify(e.errorResponse) : '')
}
process.stdout.write(JSON.stringify(out))
