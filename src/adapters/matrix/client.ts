/**
 * How the adapter talks to the homeserver once it has a session.
 *
 * MatrixApi.request() is the single path for every authenticated call (ours and, with encryption
 * on, the SDK's): it adds the current access token, and when the homeserver answers
 * M_UNKNOWN_TOKEN or M_MISSING_TOKEN, anywhere (sync, send, join, the SDK's key uploads), it waits
 * for the one shared renewal (SessionManager.renew) and repeats the call with the new token.
 *
 * With `encryption = true` the account also has a matrix-bot-sdk MatrixClient, for its CryptoClient
 * only (sdk-loader.ts). createRelayClient() routes the client's requests into MatrixApi, so the SDK
 * client never holds a token of its own: after a re-login the same client, with the same crypto
 * store and handlers, carries on with the new token (instead of building a new client, which the
 * stock SDK would need since its token is fixed; a new client would also open a second crypto
 * store on the same files).
 */
import type { MatrixClient } from 'matrix-bot-sdk';
import { classifyMatrixError } from './errors.js';
import { matrixRequest, matrixStream, type MatrixRequest, type StreamedResponse } from './http.js';
import type { MatrixSdkModule } from './sdk-loader.js';
import { MatrixAuthFailure, type SessionManager } from './session-manager.js';
import type { SyncStore } from './sync-store.js';

/** A rejected token is renewed and the call repeated at most this often (a second invalidation can race). */
const MAX_TOKEN_RETRIES = 2;

export type ApiRequest = Omit<MatrixRequest, 'accessToken'>;

export class MatrixApi {
  constructor(
    readonly homeserver: string,
    private readonly sessions: SessionManager,
    private readonly signal: AbortSignal,
  ) {}

  /** Throws MatrixAuthFailure when the token cannot be renewed, else the classified HTTP error. */
  request(request: ApiRequest): Promise<unknown> {
    return this.withToken(request.signal, (accessToken, signal) =>
      matrixRequest(this.homeserver, { ...request, accessToken, signal }),
    );
  }

  /** A GET whose body is streamed (media downloads), with the same token handling as request(). */
  stream(request: { path: string; signal: AbortSignal }): Promise<StreamedResponse> {
    return this.withToken(request.signal, (accessToken, signal) =>
      matrixStream(this.homeserver, { path: request.path, accessToken, signal }),
    );
  }

  /** Runs `call` with the current token; a rejected token is renewed and the call repeated. */
  private async withToken<T>(
    own: AbortSignal | undefined,
    call: (accessToken: string, signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    for (let retry = 0; ; retry++) {
      const session = this.sessions.current;
      if (session === undefined) throw new MatrixAuthFailure('no Matrix session yet');
      const signal = own === undefined ? this.signal : AbortSignal.any([own, this.signal]);
      try {
        return await call(session.accessToken, signal);
      } catch (error) {
        const verdict = classifyMatrixError(error);
        if (verdict.kind !== 'token' || retry >= MAX_TOKEN_RETRIES || this.signal.aborted) throw error;
        await this.sessions.renew(session.accessToken, verdict);
      }
    }
  }
}

/** The SDK client of an account with encryption on; its `crypto` is the CryptoClient. */
export type RelayClient = MatrixClient;

type DoRequestArgs = [
  method: 'GET' | 'POST' | 'PUT' | 'DELETE',
  endpoint: string,
  qs?: Record<string, string | number | boolean | string[]> | null,
  body?: unknown,
  timeout?: number,
  raw?: boolean,
  contentType?: string,
  noEncoding?: boolean,
];

/**
 * matrix-bot-sdk 0.8.0 has no request hook and no way to change a client's token: every call of
 * the client and of its CryptoClient / RustEngine (keys upload, query, claim, to-device) goes through
 * the public method MatrixClient.doRequest (lib/MatrixClient.js line 1773, declared public in
 * lib/MatrixClient.d.ts), which adds the token given to the constructor. The only other hook,
 * setRequestFn (lib/request.js), is process-wide and must mimic the `request` package. So this
 * subclass overrides doRequest; test/unit/matrix-sdk-contract.test.ts fails when an SDK upgrade
 * renames it, changes its parameters or stops calling it.
 */
export function createRelayClient(
  sdk: MatrixSdkModule,
  options: { homeserver: string; api: MatrixApi; storage: SyncStore; cryptoStore?: unknown },
): RelayClient {
  const { api } = options;
  class SdkClient extends sdk.MatrixClient {
    override doRequest(
      ...[method, endpoint, qs, body, timeout, raw, contentType, noEncoding]: DoRequestArgs
    ): Promise<unknown> {
      return api.request({
        method,
        path: endpoint.startsWith('/') ? endpoint : `/${endpoint}`,
        query: qs ?? null,
        body,
        ...(typeof contentType === 'string' ? { contentType } : {}),
        timeoutMs: timeout ?? 60_000,
        responseType: raw === true ? 'response' : noEncoding === true ? 'buffer' : 'json',
      });
    }
  }
  // The token argument is unused: doRequest above supplies the current one on every call.
  const cryptoStore = (options.cryptoStore ?? null) as ConstructorParameters<typeof sdk.MatrixClient>[3];
  return new SdkClient(options.homeserver, '', options.storage, cryptoStore);
}
