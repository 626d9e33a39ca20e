// Interop peer for portfeil's mdoc tests: @owf/mdoc 0.6.0 with a node:crypto context.
//
//   node mdoc_peer.mjs transcript     < {clientId, nonce, jwkThumbprint?, responseUri}
//   node mdoc_peer.mjs transcript-dcapi < {origin, nonce, jwkThumbprint?}
//   node mdoc_peer.mjs verify         < {deviceResponse (base64url), trusted: [b64 DER], clientId, nonce,
//                                        jwkThumbprint?, responseUri, now (ISO)}
//   node mdoc_peer.mjs issue-present  < {dsPrivateJwk, dsCertificate (b64 DER), devicePrivateJwk, docType,
//                                        namespaces {ns: {id: value}}, dates [[ns, id]...], signed, validFrom,
//                                        validUntil, disclose {ns: [id]}, clientId, nonce, jwkThumbprint?,
//                                        responseUri}
// Writes one JSON object to stdout: {ok: true, ...} or {ok: false, error}.
import crypto from 'node:crypto'
import {
  CoseKey,
  DateOnly,
  DeviceKey,
  DeviceRequest,
  DeviceResponse,
  DocRequest,
  Issuer,
  ItemsRequest,
  SessionTranscript,
  SignatureAlgorithm,
  Verifier,
  base64url,
} from '@owf/mdoc'

const HASH = { ES256: 'sha256', ES384: 'sha384', ES512: 'sha512', EdDSA: null }
const ALG_NAME = { [-7]: 'ES256', [-35]: 'ES384', [-36]: 'ES512', [-8]: 'EdDSA' }
const DIGEST = { 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }

function jwkOf(coseKey, withPrivate) {
  const jwk = { ...coseKey.jwk }
  for (const k of ['alg', 'kid', 'key_ops', 'use']) delete jwk[k]
  if (!withPrivate) delete jwk.d
  return jwk
}

function algName(alg, key) {
  if (alg !== undefined && alg !== null) return typeof alg === 'number' ? ALG_NAME[alg] : alg
  const crv = key.jwk.crv
  return crv === 'P-384' ? 'ES384' : crv === 'Ed25519' ? 'EdDSA' : 'ES256'
}

function x509(der) {
  return new crypto.X509Certificate(Buffer.from(der))
}

const ctx = {
  crypto: {
    random: (length) => new Uint8Array(crypto.randomBytes(length)),
    digest: ({ digestAlgorithm, bytes }) =>
      new Uint8Array(crypto.createHash(DIGEST[digestAlgorithm]).update(bytes).digest()),
    calculateEphemeralMacKey: () => {
      throw new Error('DeviceMac is not used in these tests')
    },
  },
  cose: {
    sign1: {
      sign: ({ toBeSigned, key, algorithm }) => {
        const name = algName(algorithm, key)
        const privateKey = crypto.createPrivateKey({ key: jwkOf(key, true), format: 'jwk' })
        return new Uint8Array(crypto.sign(HASH[name], toBeSigned, { key: privateKey, dsaEncoding: 'ieee-p1363' }))
      },
      verify: ({ key, sign1 }) => {
        const name = sign1.signatureAlgorithmName
        if (!(name in HASH)) return false
        const publicKey = crypto.createPublicKey({ key: jwkOf(key, false), format: 'jwk' })
        return crypto.verify(HASH[name], sign1.toBeSigned, { key: publicKey, dsaEncoding: 'ieee-p1363' }, sign1.signature)
      },
    },
    mac0: {
      sign: () => {
        throw new Error('mac0 unsupported')
      },
      verify: () => false,
    },
  },
  x509: {
    getIssuerNameField: ({ certificate, field }) =>
      x509(certificate)
        .issuer.split('\n')
        .filter((line) => line.startsWith(`${field}=`))
        .map((line) => line.slice(field.length + 1)),
    getPublicKey: ({ certificate }) => CoseKey.fromJwk(x509(certificate).publicKey.export({ format: 'jwk' })),
    verifyCertificateChain: ({ trustedCertificates, x5chain, now }) => {
      const when = now ?? new Date()
      const chain = x5chain.map(x509)
      const anchors = trustedCertificates.map(x509)
      for (const cert of chain) {
        if (when < new Date(cert.validFrom) || when > new Date(cert.validTo)) throw new Error('certificate outside its validity')
      }
      for (let i = 0; i + 1 < chain.length; i++) {
        if (!chain[i].checkIssued(chain[i + 1]) || !chain[i].verify(chain[i + 1].publicKey)) throw new Error('broken chain')
      }
      const last = chain[chain.length - 1]
      const anchored = anchors.some(
        (a) => Buffer.compare(a.raw, last.raw) === 0 || (last.checkIssued(a) && last.verify(a.publicKey)),
      )
      if (!anchored) throw new Error('chain does not end at a trusted certificate')
    },
    getCertificateData: ({ certificate }) => {
      const c = x509(certificate)
      return {
        issuerName: c.issuer.replace(/\n/g, ', '),
        subjectName: c.subject.replace(/\n/g, ', '),
        serialNumber: c.serialNumber,
        thumbprint: c.fingerprint256,
        notBefore: new Date(c.validFrom),
        notAfter: new Date(c.validTo),
        pem: c.toString(),
      }
    },
  },
}

async function transcript(input) {
  return SessionTranscript.forOid4Vp(
    {
      clientId: input.clientId,
      nonce: input.nonce,
      jwkThumbprint: input.jwkThumbprint ? base64url.decode(input.jwkThumbprint) : undefined,
      responseUri: input.responseUri,
    },
    ctx,
  )
}

const commands = {
  async transcript(input) {
    return { transcript: Buffer.from((await transcript(input)).encode()).toString('hex') }
  },

  async ['transcript-dcapi'](input) {
    const st = await SessionTranscript.forOid4VpDcApi(
      {
        origin: input.origin,
        nonce: input.nonce,
        jwkThumbprint: input.jwkThumbprint ? base64url.decode(input.jwkThumbprint) : undefined,
      },
      ctx,
    )
    return { transcript: Buffer.from(st.encode()).toString('hex') }
  },

  async verify(input) {
    const deviceResponse = DeviceResponse.fromEncodedForOid4Vp(input.deviceResponse)
    await Verifier.verifyDeviceResponse(
      {
        deviceResponse,
        sessionTranscript: await transcript(input),
        trustedCertificates: input.trusted.map((b) => new Uint8Array(Buffer.from(b, 'base64'))),
        now: new Date(input.now),
        skewSeconds: 0,
      },
      ctx,
    )
    const claims = {}
    for (const doc of deviceResponse.documents ?? []) {
      for (const [ns, items] of doc.issuerSigned.issuerNamespaces.issuerNamespaces) {
        claims[ns] = Object.fromEntries(items.map((i) => [i.elementIdentifier, String(i.elementValue)]))
      }
    }
    return { claims }
  },

  async ['issue-present'](input) {
    const issuer = new Issuer(input.docType, ctx)
    for (const [ns, values] of Object.entries(input.namespaces)) {
      const v = { ...values }
      for (const [dns, id] of input.dates ?? []) if (dns === ns) v[id] = new DateOnly(v[id])
      issuer.addIssuerNamespace(ns, v)
    }
    const issuerSigned = await issuer.sign({
      signingKey: CoseKey.fromJwk(input.dsPrivateJwk),
      algorithm: SignatureAlgorithm.ES256,
      digestAlgorithm: 'SHA-256',
      validityInfo: {
        signed: new Date(input.signed),
        validFrom: new Date(input.validFrom),
        validUntil: new Date(input.validUntil),
      },
      deviceKeyInfo: { deviceKey: DeviceKey.fromJwk(publicOnly(input.devicePrivateJwk)) },
      certificates: [new Uint8Array(Buffer.from(input.dsCertificate, 'base64'))],
    })
    const namespaces = {}
    for (const [ns, ids] of Object.entries(input.disclose)) namespaces[ns] = Object.fromEntries(ids.map((id) => [id, false]))
    const deviceRequest = DeviceRequest.create({
      docRequests: [DocRequest.create({ itemsRequest: ItemsRequest.create({ docType: input.docType, namespaces }) })],
    })
    const deviceResponse = await DeviceResponse.createWithDeviceRequest(
      {
        deviceRequest,
        sessionTranscript: await transcript(input),
        issuerSigned: [issuerSigned],
        signature: { signingKey: CoseKey.fromJwk(input.devicePrivateJwk) },
      },
      ctx,
    )
    return {
      deviceResponse: deviceResponse.encodedForOid4Vp,
      issuerSigned: Buffer.from(issuerSigned.encode()).toString('base64url'),
    }
  },
}

function publicOnly(jwk) {
  const { d, ...rest } = jwk
  return rest
}

let data = ''
process.stdin.setEncoding('utf8')
process.stdin.on('data', (chunk) => {
  data += chunk
})
process.stdin.on('end', async () => {
  try {
    const out = await commands[process.argv[2]](JSON.parse(data))
    process.stdout.write(JSON.stringify({ ok: true, ...out }))
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, error: String(err?.message ?? err) }))
  }
})
