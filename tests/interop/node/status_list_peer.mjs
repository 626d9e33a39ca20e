// Interop helper: Token Status List through the independent @sd-jwt/jwt-status-list (0.19.0) + jose.
// stdin: {"jobs": [job...]}, stdout: {"results": [result...]}
//   {"mode": "read", "jwt", "jwk", "indices"}  -> verify the signature (jose, typ statuslist+jwt), decode the list
//                                                 with the peer, return {"bits", "statuses": [...], "sub"}
//   {"mode": "issue", "bits", "size", "set": [[idx, value]...], "uri", "iat", "exp", "ttl"}
//                                              -> peer builds + compresses the list, jose signs ES256;
//                                                 returns {"jwt", "jwk"}
import { StatusList, createHeaderAndPayload, getListFromStatusListJWT } from '@sd-jwt/jwt-status-list'
import { SignJWT, exportJWK, generateKeyPair, importJWK, jwtVerify } from 'jose'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))

async function read(job) {
  const key = await importJWK(job.jwk, 'ES256')
  const { payload, protectedHeader } = await jwtVerify(job.jwt, key, { typ: 'statuslist+jwt' })
  const list = getListFromStatusListJWT(job.jwt)
  return {
    typ: protectedHeader.typ,
    sub: payload.sub,
    bits: list.getBitsPerStatus(),
    statuses: job.indices.map((i) => list.getStatus(i)),
  }
}

async function issue(job) {
  const list = new StatusList(new Array(job.size).fill(0), job.bits)
  for (const [idx, value] of job.set) list.setStatus(idx, value)
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true })
  const { header, payload } = createHeaderAndPayload(
    list,
    { sub: job.uri, iat: job.iat, exp: job.exp, ttl: job.ttl },
    { alg: 'ES256', typ: 'statuslist+jwt' },
  )
  const jwt = await new SignJWT(payload).setProtectedHeader(header).sign(privateKey)
  return { jwt, jwk: await exportJWK(publicKey) }
}

const results = []
for (const job of input.jobs) {
  try {
    results.push(job.mode === 'read' ? await read(job) : await issue(job))
  } catch (e) {
    results.push({ error: `${e?.constructor?.name}: ${e?.message}` })
  }
}
process.stdout.write(JSON.stringify({ results }))
