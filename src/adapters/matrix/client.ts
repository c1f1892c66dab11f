/**
 * How the adapter talks to the homeserver once it has a session.
 *
 * MatrixApi.request() is the single path for every authenticated call (ours and the SDK's): it
 * adds the current access token, and when the homeserver answers M_UNKNOWN_TOKEN or
 * M_MISSING_TOKEN, anywhere (sync, send, join, the SDK's own calls), it waits for the one shared
 * renewal (SessionManager.renew) and repeats the call with the new token.
 *
 * matrix-bot-sdk's MatrixClient sends all its requests through doRequest(); the subclass made by
 * createRelayClient() routes doRequest into MatrixApi. So the SDK client never holds a token of its
 * own: after a re-login the same client, with the same storage and handlers, carries on with the new
 * token (instead of building a new client, which the stock SDK would need since its token is fixed;
 * a new client would also open a second crypto store on the same files).
 */
import type { MatrixClient } from 'matrix-bot-sdk';
import { classifyMatrixError } from './errors.js';
import { matrixRequest, type MatrixRequest } from './http.js';
import type { MatrixSdkModule } from './sdk-loader.js';
import { MatrixAuthFailure, type SessionManager } from './session-manager.js';
import type { SyncStore } from './sync-store.js';

/** A rejected token is renewed and the call repeated at most this often (a second invalidation can race). */
const MAX_TOKEN_RETRIES = 2;

export type ApiRequest = Omit<MatrixRequest, 'accessToken'>;

export class MatrixApi {
  constructor(
    private readonly homeserver: string,
    private readonly sessions: SessionManager,
    private readonly signal: AbortSignal,
  ) {}

  /** Throws MatrixAuthFailure when the token cannot be renewed, else the classified HTTP error. */
  async request(request: ApiRequest): Promise<unknown> {
    for (let retry = 0; ; retry++) {
      const session = this.sessions.current;
      if (session === undefined) throw new MatrixAuthFailure('no Matrix session yet');
      const signal =
        request.signal === undefined ? this.signal : AbortSignal.any([request.signal, this.signal]);
      try {
        return await matrixRequest(this.homeserver, { ...request, accessToken: session.accessToken, signal });
      } catch (error) {
        const verdict = classifyMatrixError(error);
        if (verdict.kind !== 'token' || retry >= MAX_TOKEN_RETRIES || this.signal.aborted) throw error;
        await this.sessions.renew(session.accessToken, verdict);
      }
    }
  }
}

/** The SDK client plus the one protected method the sync loop needs. */
export interface RelayClient extends MatrixClient {
  /** MatrixClient.processSync: emits room.message, room.event, room.invite, ... (decrypting first). */
  feedSync(raw: unknown, emit: (type: string, ...payload: unknown[]) => Promise<void>): Promise<void>;
}

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

export function createRelayClient(
  sdk: MatrixSdkModule,
  options: { homeserver: string; api: MatrixApi; storage: SyncStore; cryptoStore?: unknown },
): RelayClient {
  const { api } = options;
  class SdkClient extends sdk.MatrixClient implements RelayClient {
    override doRequest(
      ...[method, endpoint, qs, body, timeout, raw, contentType, noEncoding]: DoRequestArgs
    ): Promise<unknown> {
      return api.request({
        method,
        path: endpoint.startsWith('/') ? endpoint : `/${endpoint}`,
        query: qs ?? null,
        body,
        ...(contentType === undefined ? {} : { contentType }),
        timeoutMs: timeout ?? 60_000,
        responseType: raw === true ? 'response' : noEncoding === true ? 'buffer' : 'json',
      });
    }

    feedSync(raw: unknown, emit: (type: string, ...payload: unknown[]) => Promise<void>): Promise<void> {
      return this.processSync(raw, emit) as Promise<void>;
    }
  }
  // The token argument is unused: doRequest above supplies the current one on every call.
  const cryptoStore = (options.cryptoStore ?? null) as ConstructorParameters<typeof sdk.MatrixClient>[3];
  return new SdkClient(options.homeserver, '', options.storage, cryptoStore);
}

/** True for errors that mean the account needs a human (auth), as opposed to a network problem. */
export function isAuthFailure(error: unknown): error is MatrixAuthFailure {
  return error instanceof MatrixAuthFailure;
}

export { classifyMatrixError };
