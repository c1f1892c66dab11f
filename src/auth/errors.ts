/**
 * Classified login errors (house style: "auth (no blind retry loop)"). The adapter decides retry
 * versus `failed` from the class alone.
 */

/** A login that a human must fix: wrong password, a page that no longer matches, no Chromium. */
export class LoginFailedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LoginFailedError';
  }
}

/** A login that may work when tried again later: network down, Kosmi unreachable, HTTP 5xx. */
export class TransientLoginError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientLoginError';
  }
}
