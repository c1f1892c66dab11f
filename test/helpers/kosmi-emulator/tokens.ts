import { randomBytes, randomUUID } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';

/** HS512 JWTs with the claims of docs/kosmi-protocol.md §6.3. */
export class EmulatorTokens {
  private readonly secret = randomBytes(64);
  private readonly revoked = new Set<string>();
  private readonly issued = new Set<string>();

  async issue(
    sub: string,
    lifetimeSeconds: number,
    issuedAt = Math.floor(Date.now() / 1000),
  ): Promise<string> {
    const jti = randomUUID();
    this.issued.add(jti);
    return new SignJWT({ typ: 'access' })
      .setProtectedHeader({ alg: 'HS512', typ: 'JWT' })
      .setAudience('kosmi')
      .setIssuer('kosmi')
      .setSubject(sub)
      .setJti(jti)
      .setIssuedAt(issuedAt)
      .setNotBefore(issuedAt - 1)
      .setExpirationTime(issuedAt + lifetimeSeconds)
      .sign(this.secret);
  }

  /** The token's sub and jti, or a reason it is refused (bad signature, expired, revoked). */
  async verify(token: unknown): Promise<{ sub: string; jti: string; exp: number } | { refused: string }> {
    if (typeof token !== 'string' || token === '') return { refused: 'no token' };
    try {
      const { payload } = await jwtVerify(token, this.secret, {
        algorithms: ['HS512'],
        audience: 'kosmi',
        issuer: 'kosmi',
      });
      if (payload.typ !== 'access' || typeof payload.sub !== 'string' || typeof payload.jti !== 'string')
        return { refused: 'bad claims' };
      if (this.revoked.has(payload.jti)) return { refused: 'revoked' };
      return { sub: payload.sub, jti: payload.jti, exp: payload.exp ?? 0 };
    } catch (error) {
      return { refused: (error as Error).message };
    }
  }

  /** The jti claim of any JWT-shaped token, unverified (to record what a client presented). */
  static peekJti(token: unknown): string | undefined {
    if (typeof token !== 'string') return undefined;
    try {
      const claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as {
        jti?: unknown;
      };
      return typeof claims.jti === 'string' ? claims.jti : undefined;
    } catch {
      return undefined;
    }
  }

  revoke(jti: string): void {
    this.revoked.add(jti);
  }

  /** Revokes every token issued so far. */
  revokeAll(): void {
    for (const jti of this.issued) this.revoked.add(jti);
  }
}
