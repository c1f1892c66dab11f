/**
 * Reads the claims of a Kosmi JWT (docs/kosmi-protocol.md §6.3: HS512, aud/iss "kosmi", sub, jti, iat,
 * nbf, exp). The signature cannot be checked (the key is Kosmi's) and is not: the claims are only
 * used to learn when the token expires and whose it is.
 */
export interface JwtClaims {
  readonly sub: string;
  /** Seconds since the epoch. */
  readonly exp: number;
  readonly iat?: number;
}

/** The claims, or undefined when the text is not a JWT with a string sub and a numeric exp. */
export function decodeJwt(token: string): JwtClaims | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[1] === undefined) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch {
    return undefined; // not JSON: not a JWT, which the caller reports
  }
  if (payload === null || typeof payload !== 'object') return undefined;
  const { sub, exp, iat } = payload as Record<string, unknown>;
  if (typeof sub !== 'string' || typeof exp !== 'number' || !Number.isFinite(exp)) return undefined;
  return typeof iat === 'number' && Number.isFinite(iat) ? { sub, exp, iat } : { sub, exp };
}

export function expiryOf(claims: JwtClaims): Date {
  return new Date(claims.exp * 1000);
}
