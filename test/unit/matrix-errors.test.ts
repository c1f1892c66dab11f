import { describe, expect, it } from 'vitest';
import {
  MatrixApiError,
  MatrixNetworkError,
  classifyMatrixError,
  isUnrecognizedEndpoint,
} from '../../src/adapters/matrix/errors.js';

describe('classifyMatrixError: the one place that decides retry, renew or give up', () => {
  it('token errors, with or without soft logout', () => {
    expect(
      classifyMatrixError(new MatrixApiError(401, 'M_UNKNOWN_TOKEN', 'x', { softLogout: true })),
    ).toEqual({
      kind: 'token',
      errcode: 'M_UNKNOWN_TOKEN',
      softLogout: true,
    });
    expect(classifyMatrixError(new MatrixApiError(401, 'M_MISSING_TOKEN', 'x'))).toMatchObject({
      kind: 'token',
      softLogout: false,
    });
    expect(classifyMatrixError(new MatrixApiError(401, 'HTTP_401', 'Unauthorized'))).toMatchObject({
      kind: 'token',
    });
  });

  it('rate limits wait, never log in', () => {
    expect(
      classifyMatrixError(new MatrixApiError(429, 'M_LIMIT_EXCEEDED', 'slow', { retryAfterMs: 1234 })),
    ).toEqual({ kind: 'rate-limited', retryAfterMs: 1234 });
    expect(classifyMatrixError(new MatrixApiError(429, 'HTTP_429', ''))).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 1_000,
    });
    expect(
      classifyMatrixError(new MatrixApiError(429, 'M_LIMIT_EXCEEDED', '', { retryAfterMs: 10 * 60_000 })),
    ).toEqual({ kind: 'rate-limited', retryAfterMs: 120_000 });
  });

  it('M_FORBIDDEN, server errors, client errors, network, abort', () => {
    expect(classifyMatrixError(new MatrixApiError(403, 'M_FORBIDDEN', 'banned'))).toMatchObject({
      kind: 'forbidden',
    });
    expect(classifyMatrixError(new MatrixApiError(502, 'HTTP_502', 'Bad Gateway'))).toMatchObject({
      kind: 'transient',
    });
    expect(classifyMatrixError(new MatrixApiError(404, 'M_NOT_FOUND', 'no'))).toMatchObject({
      kind: 'fatal',
      errcode: 'M_NOT_FOUND',
    });
    expect(classifyMatrixError(new MatrixNetworkError('ECONNREFUSED'))).toMatchObject({ kind: 'transient' });
    const abort = new Error('aborted');
    abort.name = 'AbortError';
    expect(classifyMatrixError(abort)).toEqual({ kind: 'aborted' });
  });

  it("understands the SDK's own MatrixError shape", () => {
    const sdkError = {
      errcode: 'M_UNKNOWN_TOKEN',
      statusCode: 401,
      body: { soft_logout: true, error: 'gone' },
    };
    expect(classifyMatrixError(sdkError)).toMatchObject({ kind: 'token', softLogout: true });
    expect(classifyMatrixError({ errcode: 'M_LIMIT_EXCEEDED', statusCode: 429, retryAfterMs: 50 })).toEqual({
      kind: 'rate-limited',
      retryAfterMs: 50,
    });
  });

  it('an endpoint the server does not serve: M_UNRECOGNIZED, or a bare 404 / 405 (issue 9, /v3/refresh)', () => {
    for (const errcode of ['M_UNRECOGNIZED', 'HTTP_404', 'HTTP_405'])
      expect(isUnrecognizedEndpoint(errcode)).toBe(true);
    for (const errcode of ['M_NOT_FOUND', 'M_UNKNOWN_TOKEN', 'M_FORBIDDEN', 'HTTP_400', 'HTTP_502'])
      expect(isUnrecognizedEndpoint(errcode)).toBe(false);
  });
});
