import { randomUUID } from 'node:crypto';

/** An unsigned-looking HS512 JWT with Kosmi's claims (§6.3), for tests that never reach a server. */
export function fakeKosmiJwt(
  options: { sub?: string; lifetimeSeconds?: number; issuedAt?: number } = {},
): string {
  const iat = options.issuedAt ?? Math.floor(Date.now() / 1000);
  const exp = iat + (options.lifetimeSeconds ?? 31_449_600);
  const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');
  const claims = {
    aud: 'kosmi',
    iss: 'kosmi',
    typ: 'access',
    sub: options.sub ?? randomUUID(),
    jti: randomUUID(),
    iat,
    nbf: iat - 1,
    exp,
  };
  return `${encode({ alg: 'HS512', typ: 'JWT' })}.${encode(claims)}.${Buffer.from('signature').toString('base64url')}`;
}
