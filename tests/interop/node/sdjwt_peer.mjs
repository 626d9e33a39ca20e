// Interop peer for portfeil's SD-JWT VC tests: @sd-jwt/sd-jwt-vc 0.19.0 + @sd-jwt/crypto-nodejs.
// Reads a JSON array of operations on stdin, writes a JSON array of results on stdout.
//   {op: "issue", claims, frame, issuerPrivateJwk, x5c: [b64 DER...], holderPublicJwk, iss?, iat, exp}
//   {op: "present", sdjwt, frame, holderPrivateJwk, aud, nonce, iat}
//   {op: "verify", presentation, rootDerB64, aud, nonce, currentDate}
// The library leaves x5c to the caller: the verifier callback below checks the chain up to the given root with
// node:crypto, requires iss (when present) to be a SAN URI/DNS of the leaf, then checks the ES256 signature.
import { X509Certificate, createPublicKey } from 'node:crypto';
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc';
import { ES256, digest, generateSalt } from '@sd-jwt/crypto-nodejs';

function b64urlJson(segment) {
  return JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
}

function makeX5cVerifier(rootDerB64, currentDate) {
  const root = new X509Certificate(Buffer.from(rootDerB64, 'base64'));
  return async (data, sig) => {
    const [h, p] = data.split('.');
    const header = b64urlJson(h);
    const payload = b64urlJson(p);
    if (header.alg !== 'ES256') throw new Error(`unexpected alg ${header.alg}`);
    if (!Array.isArray(header.x5c) || header.x5c.length === 0) throw new Error('x5c missing');
    const chain = header.x5c.map((c) => new X509Certificate(Buffer.from(c, 'base64')));
    const when = new Date(currentDate * 1000);
    for (let i = 0; i < chain.length; i++) {
      const cert = chain[i];
      const issuer = i + 1 < chain.length ? chain[i + 1] : root;
      if (!cert.checkIssued(issuer) || !cert.verify(issuer.publicKey)) throw new Error('x5c chain broken');
      if (when < new Date(cert.validFrom) || when > new Date(cert.validTo)) throw new Error('x5c cert expired');
    }
    const last = chain[chain.length - 1];
    if (!(last.fingerprint256 === root.fingerprint256 || last.checkIssued(root))) throw new Error('untrusted root');
    const leaf = chain[0];
    if (payload.iss !== undefined) {
      const sans = (leaf.subjectAltName || '').split(', ');
      const ok = sans.includes(`URI:${payload.iss}`) || sans.includes(`DNS:${payload.iss}`);
      if (!ok) throw new Error('iss is not a SAN of the x5c leaf');
    }
    const jwk = leaf.publicKey.export({ format: 'jwk' });
    const verify = await ES256.getVerifier(jwk);
    return verify(data, sig);
  };
}

async function kbVerifier(data, sig, payload) {
  if (!payload.cnf || !payload.cnf.jwk) throw new Error('no cnf.jwk');
  const verify = await ES256.getVerifier(payload.cnf.jwk);
  return verify(data, sig);
}

async function run(op) {
  if (op.op === 'issue') {
    const signer = await ES256.getSigner(op.issuerPrivateJwk);
    const sdjwt = new SDJwtVcInstance({ signer, signAlg: 'ES256', hasher: digest, hashAlg: 'sha-256',
      saltGenerator: generateSalt });
    const payload = { ...op.claims, vct: op.vct, iat: op.iat, exp: op.exp, cnf: { jwk: op.holderPublicJwk } };
    if (op.iss) payload.iss = op.iss;
    const token = await sdjwt.issue(payload, op.frame, { header: { x5c: op.x5c } });
    return { sdjwt: token };
  }
  if (op.op === 'present') {
    const kbSigner = await ES256.getSigner(op.holderPrivateJwk);
    const sdjwt = new SDJwtVcInstance({ hasher: digest, kbSigner, kbSignAlg: 'ES256' });
    const presentation = await sdjwt.present(op.sdjwt, op.frame, {
      kb: { payload: { iat: op.iat, aud: op.aud, nonce: op.nonce } },
    });
    return { presentation };
  }
  if (op.op === 'verify') {
    const sdjwt = new SDJwtVcInstance({ hasher: digest, verifier: makeX5cVerifier(op.rootDerB64, op.currentDate),
      kbVerifier });
    try {
      const res = await sdjwt.verify(op.presentation, { keyBindingNonce: op.nonce, currentDate: op.currentDate });
      if (!res.kb) throw new Error('no key binding');
      if (res.kb.payload.aud !== op.aud) throw new Error('kb aud mismatch');
      const claims = await sdjwt.getClaims(op.presentation);
      return { ok: true, claims, header: res.header, kbPayload: res.kb.payload };
    } catch (e) {
      return { ok: false, error: String(e && e.message ? e.message : e) };
    }
  }
  throw new Error(`unknown op ${op.op}`);
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (c) => { input += c; });
process.stdin.on('end', async () => {
  const ops = JSON.parse(input);
  const out = [];
  for (const op of ops) {
    try {
      out.push(await run(op));
    } catch (e) {
      out.push({ error: String(e && e.message ? e.message : e) });
    }
  }
  process.stdout.write(JSON.stringify(out));
});
