// Interop peer for portfeil's WALLET: the independent @openid4vc/openid4vp 0.4.6 VERIFIER side.
//
//   node wallet_verifier.mjs < {port, prefix: "x509_san_dns"|"x509_hash", responseMode, format: "dc+sd-jwt"|"mso_mdoc",
//                               leafPrivateJwk, x5c: [b64 DER...], method: "get"|"post"}
// Creates a signed request object (JAR, typ oauth-authz-req+jwt, x5c) with a DCQL query, serves it at
// http://localhost:PORT/request (GET, or POST with wallet_nonce), prints {"link": ...} on the first stdout line,
// receives the authorization response at /response, parses it with the library (decrypting direct_post.jwt with
// its ephemeral key), verifies an SD-JWT VC presentation (issuer signature through its x5c leaf, KB-JWT nonce/aud)
// with @sd-jwt/sd-jwt-vc, and prints {"ok", "claims"|"error"} as the last line, then exits.
import * as jose from 'jose'
import http from 'node:http'
import { X509Certificate, createHash, randomBytes } from 'node:crypto'
import { Openid4vpVerifier, parseOpenid4vpAuthorizationResponse, calculateX509HashClientIdPrefixValue } from '@openid4vc/openid4vp'
import { setGlobalConfig } from '@openid4vc/utils'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest } from '@sd-jwt/crypto-nodejs'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import path from 'node:path'

const here = path.dirname(fileURLToPath(import.meta.url))

setGlobalConfig({ allowInsecureUrls: true })
const input = JSON.parse(await new Promise((ok) => {
  let s = ''
  process.stdin.on('data', (d) => (s += d))
  process.stdin.on('end', () => ok(s))
}))

const base = `http://localhost:${input.port}`
const leafKey = await jose.importJWK(input.leafPrivateJwk, 'ES256')
const encKeys = await jose.generateKeyPair('ECDH-ES', { crv: 'P-256', extractable: true })
const encPub = { ...(await jose.exportJWK(encKeys.publicKey)), kid: 'enc-1', use: 'enc', alg: 'ECDH-ES' }

const callbacks = {
  hash: (data) => createHash('sha256').update(data).digest(),
  generateRandom: (n) => randomBytes(n),
  signJwt: async (signer, { header, payload }) => {
    const jwt = await new jose.CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ ...header, alg: 'ES256' }).sign(leafKey)
    return { jwt, signerJwk: undefined }
  },
  verifyJwt: async () => ({ verified: true }),
  decryptJwe: async (jwe) => {
    try {
      const { plaintext, protectedHeader } = await jose.compactDecrypt(jwe, encKeys.privateKey)
      return { decrypted: true, decryptionJwk: encPub, payload: new TextDecoder().decode(plaintext), header: protectedHeader }
    } catch (e) {
      return { decrypted: false }
    }
  },
}

const leafDer = Buffer.from(input.x5c[0], 'base64')
const clientId = input.prefix === 'x509_hash'
  ? `x509_hash:${await calculateX509HashClientIdPrefixValue({ x509Certificate: input.x5c[0], hash: callbacks.hash })}`
  : 'x509_san_dns:localhost'
const dcql = input.format === 'mso_mdoc'
  ? { credentials: [{ id: 'pid', format: 'mso_mdoc', meta: { doctype_value: 'eu.europa.ec.eudi.pid.1' },
      claims: [{ path: ['eu.europa.ec.eudi.pid.1', 'family_name'] }, { path: ['eu.europa.ec.eudi.pid.1', 'given_name'] }] }] }
  : { credentials: [{ id: 'pid', format: 'dc+sd-jwt', meta: { vct_values: ['urn:eudi:pid:1'] },
      claims: [{ path: ['family_name'] }, { path: ['given_name'] }] }] }
const nonce = randomBytes(16).toString('base64url')
const payload = {
  response_type: 'vp_token', client_id: clientId, response_mode: input.responseMode,
  response_uri: `${base}/response`, nonce, state: 'st-' + nonce.slice(0, 6), dcql_query: dcql,
  client_metadata: { jwks: { keys: [encPub] }, encrypted_response_enc_values_supported: ['A128GCM'],
    vp_formats_supported: { 'dc+sd-jwt': { 'sd-jwt_alg_values': ['ES256'], 'kb-jwt_alg_values': ['ES256'] },
      mso_mdoc: {} } },
}
const verifier = new Openid4vpVerifier({ callbacks })
async function requestObject(walletNonce) {
  const created = await verifier.createOpenId4vpAuthorizationRequest({
    authorizationRequestPayload: walletNonce ? { ...payload, wallet_nonce: walletNonce } : payload,
    jar: { requestUri: `${base}/request`, jwtSigner: { method: 'x5c', x5c: input.x5c, alg: 'ES256' },
      expiresInSeconds: 300,
      // the library's default aud is the request_uri; OpenID4VP 1.0 §5.8 names https://self-issued.me/v2
      additionalJwtPayload: { aud: 'https://self-issued.me/v2' } },
    wallet: walletNonce ? { expectedNonce: walletNonce } : undefined,
  })
  return created
}
const first = await requestObject(undefined)
let link = first.authorizationRequest
if (input.method === 'post') link += '&request_uri_method=post'

const done = new Promise((resolve) => {
  const server = http.createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const form = Object.fromEntries(new URLSearchParams(body))
    try {
      if (req.url === '/request') {
        const ro = req.method === 'POST' ? await requestObject(form.wallet_nonce) : first
        res.writeHead(200, { 'content-type': 'application/oauth-authz-req+jwt' })
        res.end(ro.jar?.authorizationRequestJwt ?? ro.authorizationRequestObject?.request)
        return
      }
      if (req.url === '/response') {
        const parsed = await parseOpenid4vpAuthorizationResponse({ authorizationResponse: form,
          authorizationRequestPayload: payload, callbacks })
        let vpToken = parsed.authorizationResponsePayload.vp_token
        if (typeof vpToken === 'string') vpToken = JSON.parse(vpToken)  // direct_post: a JSON string in the form
        const vp = vpToken.pid[0]
        const result = { ok: true, encrypted: Boolean(parsed.jarm), prefix: input.prefix, mode: input.responseMode }
        if (input.format === 'dc+sd-jwt') {
          const sd = new SDJwtVcInstance({ hasher: digest,
            // status lists are handed in by the test (the issuer runs in-process); their signature is checked too
            statusListFetcher: async (uri) => input.statusLists[uri],
            verifier: async (data, sig) => {
            const [h] = data.split('.')
            const x5c = JSON.parse(Buffer.from(h, 'base64url')).x5c
            const key = new X509Certificate(Buffer.from(x5c[0], 'base64')).publicKey
            const jwt = `${data}.${sig}`
            try { await jose.compactVerify(jwt, key); return true } catch { return false }
          }, kbVerifier: async (data, sig, pl) => {
            const key = await jose.importJWK(pl.cnf.jwk, 'ES256')
            try { await jose.compactVerify(`${data}.${sig}`, key); return true } catch { return false }
          } })
          const v = await sd.verify(vp, { keyBindingNonce: nonce, requiredClaimKeys: ['family_name'] })
          if (v.kb?.payload?.aud !== clientId) throw new Error('KB-JWT aud mismatch')
          result.claims = v.payload
        } else {
          // @owf/mdoc 0.6.0 (through mdoc_peer.mjs): issuerAuth chain to the IACA, digests, device signature
          // over the OpenID4VP SessionTranscript (with the JWK thumbprint when the response was encrypted)
          const thumb = input.responseMode === 'direct_post.jwt' ? await jose.calculateJwkThumbprint(encPub) : undefined
          const run = spawnSync(process.execPath, [path.join(here, 'mdoc_peer.mjs'), 'verify'], {
            input: JSON.stringify({ deviceResponse: vp, trusted: input.iacaRoots, clientId, nonce,
              jwkThumbprint: thumb, responseUri: payload.response_uri, now: new Date().toISOString() }),
          })
          const peer = JSON.parse(run.stdout.toString())
          if (!peer.ok) throw new Error('mdoc: ' + peer.error)
          result.claims = peer.claims
        }
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end('{}')
        server.close()
        resolve(result)
        return
      }
      res.writeHead(404); res.end()
    } catch (e) {
      res.writeHead(400, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ error: 'invalid_request' }))
      server.close()
      resolve({ ok: false, error: String(e?.message ?? e) })
    }
  })
  server.listen(input.port, '127.0.0.1', () => process.stdout.write(JSON.stringify({ link }) + '\n'))
  setTimeout(() => { server.close(); resolve({ ok: false, error: 'timeout' }) }, 60000).unref()
})
process.stdout.write(JSON.stringify(await done) + '\n')
process.exit(0)
