/**
 * The persisted Matrix session, one file per account in the data dir (issue 4 §2): user id, device
 * id, access token, refresh token. Mode 0600, written atomically. A restart reuses it (checked with
 * whoami), so restarts do not log in again and do not pile up devices.
 */
import { createHash } from 'node:crypto';
import { writeFileAtomic } from '../../core/atomic-file.js';
import type { RefreshApi } from './auth-requests.js';
import { readJsonFile } from './files.js';
import { errorMessage } from '../../core/errors.js';

export interface MatrixSession {
  readonly homeserver: string;
  readonly userId: string;
  readonly deviceId: string;
  readonly accessToken: string;
  readonly refreshToken?: string;
  /** Epoch ms at which the access token expires (from expires_in_ms), when the server said so. */
  readonly expiresAt?: number;
  /**
   * The refresh endpoint version this homeserver answered (auth-requests.ts, RefreshApi), so a
   * restart does not ask a server that only serves /v1/refresh at /v3 first again.
   */
  readonly refreshApi?: RefreshApi;
  /** Where the access token came from: a login/refresh of ours, or the config's access_token. */
  readonly source: 'login' | 'config';
  /**
   * A short hash of the configured access_token this session was started with, so that putting a
   * new token into the config takes effect at the next start.
   */
  readonly configTokenFingerprint?: string;
}

const FILE_VERSION = 1;
const SESSION_FILE_MODE = 0o600;

export function tokenFingerprint(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  return createHash('sha256').update(token).digest('hex').slice(0, 16);
}

export class SessionStore {
  constructor(readonly file: string) {}

  /** The stored session, or undefined if none; a corrupt file is reported through onCorrupt. */
  load(onCorrupt: (reason: string) => void): MatrixSession | undefined {
    let data: unknown;
    try {
      data = readJsonFile(this.file);
    } catch (error) {
      onCorrupt(errorMessage(error));
      return undefined;
    }
    if (data === undefined) return undefined;
    const session = parseSession(data);
    if (session === undefined) onCorrupt('unexpected content');
    return session;
  }

  save(session: MatrixSession): void {
    const record = {
      version: FILE_VERSION,
      homeserver: session.homeserver,
      user_id: session.userId,
      device_id: session.deviceId,
      access_token: session.accessToken,
      ...(session.refreshToken === undefined ? {} : { refresh_token: session.refreshToken }),
      ...(session.expiresAt === undefined ? {} : { expires_at: session.expiresAt }),
      ...(session.refreshApi === undefined ? {} : { refresh_api: session.refreshApi }),
      source: session.source,
      ...(session.configTokenFingerprint === undefined
        ? {}
        : { config_token_fingerprint: session.configTokenFingerprint }),
    };
    writeFileAtomic(this.file, `${JSON.stringify(record, null, 2)}\n`, { mode: SESSION_FILE_MODE });
  }
}

function parseSession(data: unknown): MatrixSession | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const r = data as Record<string, unknown>;
  const str = (key: string): string | undefined =>
    typeof r[key] === 'string' && r[key] !== '' ? r[key] : undefined;
  const homeserver = str('homeserver');
  const userId = str('user_id');
  const deviceId = str('device_id');
  const accessToken = str('access_token');
  if (
    r.version !== FILE_VERSION ||
    homeserver === undefined ||
    userId === undefined ||
    deviceId === undefined ||
    accessToken === undefined
  ) {
    return undefined;
  }
  const refreshToken = str('refresh_token');
  const fingerprint = str('config_token_fingerprint');
  return {
    homeserver,
    userId,
    deviceId,
    accessToken,
    ...(refreshToken === undefined ? {} : { refreshToken }),
    ...(typeof r.expires_at === 'number' ? { expiresAt: r.expires_at } : {}),
    ...(r.refresh_api === 'v1' || r.refresh_api === 'v3' ? { refreshApi: r.refresh_api } : {}),
    source: r.source === 'config' ? 'config' : 'login',
    ...(fingerprint === undefined ? {} : { configTokenFingerprint: fingerprint }),
  };
}
