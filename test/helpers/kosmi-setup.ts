import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kosmiAccountSchema, type KosmiAccountConfig } from '../../src/config/kosmi.js';
import type { KosmiEmulator } from './kosmi-emulator/index.js';

/** Settings for an account pointed at an emulator; `extra` as it would be written in relay.toml. */
export function kosmiSettings(
  emulator: KosmiEmulator,
  extra: Record<string, unknown> = {},
): KosmiAccountConfig {
  return kosmiAccountSchema.parse({
    web_url: emulator.webUrl,
    api_url: emulator.apiUrl,
    ws_url: emulator.wsUrl,
    send_rate_per_second: 1000,
    send_burst: 1000,
    login_timeout_seconds: 30,
    ...extra,
  });
}

export function tempDataDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'kosmi-relay-test-'));
}
