// verify.mjs: verifies tokens issued by svckit with panva's jose, through
// svckit's JWKS served on loopback. Input (stdin, JSON): {jwksURL, iss, aud,
// tokens: {name: token}}. Output (stdout, JSON): {name: {ok, alg, sub, error}}.
import * as jose from 'jose';

const input = JSON.parse(await new Promise((resolve) => {
  let s = '';
  process.stdin.on('data', (d) => { s += d; });
  process.stdin.on('end', () => resolve(s));
}));
const JWKS = jose.createRemoteJWKSet(new URL(input.jwksURL));
const out = {};
for (const [name, token] of Object.entries(input.tokens)) {
  try {
    const { payload, protectedHeader } = await jose.jwtVerify(token, JWKS, {
      issuer: input.iss, audience: input.aud, typ: 'at+jwt', algorithms: ['EdDSA', 'ES256'], requiredClaims: ['exp', 'sub'],
    });
    out[name] = { ok: true, alg: protectedHeader.alg, sub: payload.sub };
  } catch (e) {
    out[name] = { ok: false, error: `${e.code ?? ''} ${e.message}` };
  }
}
process.stdout.write(JSON.stringify(out));
