// mint.mjs: mints the tokens of the cross-implementation test with panva's
// jose. Input (stdin, JSON): {iss, aud, secret (base64url)}. Output
// (stdout, JSON): {jwks: {keys: [...]}, tokens: {name: token}}.
import * as jose from 'jose';
import { sign as nodeSign } from 'node:crypto';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));
const { iss, aud } = input;
const secret = Buffer.from(input.secret, 'base64url');
const now = Math.floor(Date.now() / 1000);

const ed = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
const es = await jose.generateKeyPair('ES256', { extractable: true });
const rs = await jose.generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const attacker = await jose.generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });

const pub = async (k, kid, alg) => ({ ...(await jose.exportJWK(k.publicKey)), kid, alg, use: 'sig' });
const jwks = { keys: [await pub(ed, 'jose-ed', 'EdDSA'), await pub(es, 'jose-es', 'ES256'), await pub(rs, 'jose-rs', 'RS256')] };

const claims = { sub: 'alice', scope: 'read', client_id: 'jose-client' };
const build = (c = claims) => new jose.SignJWT(c).setIssuer(iss).setAudience(aud).setIssuedAt(now).setExpirationTime(now + 600).setJti('j1');
const b64 = (o) => Buffer.from(typeof o === 'string' ? o : JSON.stringify(o)).toString('base64url');
// raw signs any header and payload with Ed25519 through node's crypto,
// for shapes jose itself refuses to produce (crit variants, string dates).
const raw = (header, payload, key = ed.privateKey) => {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${nodeSign(null, Buffer.from(input), key).toString('base64url')}`;
};
const base = { iss, aud, sub: 'alice', iat: now, exp: now + 600 };
const edHeader = { alg: 'EdDSA', kid: 'jose-ed', typ: 'at+jwt' };

const spki = await jose.exportSPKI(ed.publicKey);
const edRaw = Buffer.from((await jose.exportJWK(ed.publicKey)).x, 'base64url');

const tokens = {
  'valid EdDSA': await build().setProtectedHeader(edHeader).sign(ed.privateKey),
  'valid ES256': await build().setProtectedHeader({ alg: 'ES256', kid: 'jose-es', typ: 'at+jwt' }).sign(es.privateKey),
  'valid RS256': await build().setProtectedHeader({ alg: 'RS256', kid: 'jose-rs', typ: 'at+jwt' }).sign(rs.privateKey),
  'valid HS256': await build().setProtectedHeader({ alg: 'HS256', kid: 'shared', typ: 'at+jwt' }).sign(secret),
  'valid typ application/at+jwt': await build().setProtectedHeader({ ...edHeader, typ: 'application/at+jwt' }).sign(ed.privateKey),
  'valid typ AT+JWT': await build().setProtectedHeader({ ...edHeader, typ: 'AT+JWT' }).sign(ed.privateKey),
  'alg none': new jose.UnsecuredJWT(base).encode(),
  'alg none with kid and typ': `${b64({ alg: 'none', kid: 'jose-ed', typ: 'at+jwt' })}.${b64(base)}.`,
  'HS256 keyed with the Ed25519 public key (raw)': await build().setProtectedHeader({ alg: 'HS256', kid: 'jose-ed', typ: 'at+jwt' }).sign(edRaw),
  'HS256 keyed with the Ed25519 public key (SPKI PEM)': await build().setProtectedHeader({ alg: 'HS256', kid: 'jose-ed', typ: 'at+jwt' }).sign(Buffer.from(spki)),
  'crit with an unknown extension': await build().setProtectedHeader({ ...edHeader, crit: ['x-ext'], 'x-ext': 1 }).sign(ed.privateKey, { crit: { 'x-ext': true } }),
  'crit empty': raw({ ...edHeader, crit: [] }, base),
  'crit naming exp': raw({ ...edHeader, crit: ['exp'] }, base),
  'crit b64 false': raw({ ...edHeader, crit: ['b64'], b64: false }, base),
  'typ JWT': await build().setProtectedHeader({ ...edHeader, typ: 'JWT' }).sign(ed.privateKey),
  'typ missing': await build().setProtectedHeader({ alg: 'EdDSA', kid: 'jose-ed' }).sign(ed.privateKey),
  'typ rt+jwt': await build().setProtectedHeader({ ...edHeader, typ: 'rt+jwt' }).sign(ed.privateKey),
  'wrong aud': await new jose.SignJWT(claims).setIssuer(iss).setAudience('https://other.example').setIssuedAt(now).setExpirationTime(now + 600).setProtectedHeader(edHeader).sign(ed.privateKey),
  'wrong iss': await new jose.SignJWT(claims).setIssuer('https://evil.example').setAudience(aud).setIssuedAt(now).setExpirationTime(now + 600).setProtectedHeader(edHeader).sign(ed.privateKey),
  'no exp': await new jose.SignJWT(claims).setIssuer(iss).setAudience(aud).setIssuedAt(now).setProtectedHeader(edHeader).sign(ed.privateKey),
  'expired': await new jose.SignJWT(claims).setIssuer(iss).setAudience(aud).setIssuedAt(now - 7200).setExpirationTime(now - 3600).setProtectedHeader(edHeader).sign(ed.privateKey),
  'nbf in the future': await build().setNotBefore(now + 3600).setProtectedHeader(edHeader).sign(ed.privateKey),
  'exp as a string': raw(edHeader, { ...base, exp: String(now + 600) }),
  'nbf as a string': raw(edHeader, { ...base, nbf: String(now - 10) }),
  'iat as a string': raw(edHeader, { ...base, iat: String(now) }),
  'unknown kid': await build().setProtectedHeader({ ...edHeader, kid: 'no-such-key' }).sign(attacker.privateKey),
  'embedded jwk, known kid': await build().setProtectedHeader({ ...edHeader, jwk: await jose.exportJWK(attacker.publicKey) }).sign(attacker.privateKey),
  'embedded jwk, no kid': await build().setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', jwk: await jose.exportJWK(attacker.publicKey) }).sign(attacker.privateKey),
  'jku header': await build().setProtectedHeader({ ...edHeader, kid: 'evil', jku: 'https://evil.example/jwks.json' }).sign(attacker.privateKey),
  'another key under our kid': await build().setProtectedHeader(edHeader).sign(attacker.privateKey),
  'ES256 token under the EdDSA kid': await build().setProtectedHeader({ alg: 'ES256', kid: 'jose-ed', typ: 'at+jwt' }).sign(es.privateKey),
  'oversize': await build({ ...claims, pad: 'A'.repeat(5000) }).setProtectedHeader(edHeader).sign(ed.privateKey),
  'no sub': await new jose.SignJWT({ scope: 'read' }).setIssuer(iss).setAudience(aud).setIssuedAt(now).setExpirationTime(now + 600).setProtectedHeader(edHeader).sign(ed.privateKey),
};

process.stdout.write(JSON.stringify({ jwks, tokens }));
