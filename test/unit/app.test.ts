import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { createApp, ensureDataDir, StartupError, type App } from '../../src/app.js';
import type { AccountConfig } from '../../src/config/schema.js';
import { parseConfig } from '../../src/config/load.js';
import { FakeAdapter } from '../helpers/fake-adapter.js';
import { waitFor } from '../helpers/wait-for.js';

const dirs: string[] = [];
const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.stop(1_000)));
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'relay-app-'));
  dirs.push(dir);
  return dir;
}

function config(dataDir: string, extra = '') {
  return parseConfig(
    `[general]
data_dir = "${dataDir}"
http_listen = "127.0.0.1:0"
${extra}
[irc.a]
server = "127.0.0.1:1"
nick = "a"
[irc.b]
server = "127.0.0.1:1"
nick = "b"
label = "B-net"
[irc.unused]
server = "127.0.0.1:1"
nick = "u"
[[gateway]]
name = "g"
  [[gateway.inout]]
  account = "irc.a"
  channel = "#x"
  [[gateway.inout]]
  account = "irc.b"
  channel = "#y"
`,
    { env: {} },
  );
}

function fakeFactory(made: Map<string, FakeAdapter>) {
  return (account: AccountConfig, deps: { channels: readonly string[] }) => {
    const adapter = new FakeAdapter(account.id, account.protocol, deps.channels);
    made.set(account.id, adapter);
    return Promise.resolve(adapter);
  };
}

describe('createApp', () => {
  it('wires adapters from the gateways, relays, and reports health', async () => {
    const dataDir = path.join(tempDir(), 'data');
    const made = new Map<string, FakeAdapter>();
    const app = createApp(config(dataDir), {
      logger: pino({ level: 'silent' }),
      createAdapter: fakeFactory(made),
    });
    apps.push(app);
    await app.start();
    expect(statSync(dataDir).mode & 0o777).toBe(0o700);
    expect([...made.keys()].sort()).toEqual(['irc.a', 'irc.b']); // irc.unused is in no gateway
    expect(made.get('irc.a')?.channels).toEqual(['#x']);

    made.get('irc.b')?.receive('#y', 'hi', 'bob');
    await waitFor(() => made.get('irc.a')?.sent.length === 1);
    expect(made.get('irc.a')?.sent[0]?.prefix).toBe('[irc] <bob> ');

    const port = app.healthPort();
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(ok.status).toBe(200);
    made.get('irc.a')?.disconnect('server went away');
    made.get('irc.b')?.receive('#y', 'while down');
    const degraded = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(degraded.status).toBe(503);
    const body = (await degraded.json()) as {
      status: string;
      accounts: Record<string, { state: string; since: string; reason?: string; queue_depth: number }>;
    };
    expect(body.status).toBe('degraded');
    expect(body.accounts['irc.a']).toMatchObject({
      state: 'disconnected',
      reason: 'server went away',
      queue_depth: 1,
    });
    expect(Number.isNaN(Date.parse(body.accounts['irc.a']?.since ?? ''))).toBe(false);

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(/relay_queue_depth\{account="irc.a",channel="#x"\} 1/);
    expect(metrics).toMatch(/relay_messages_delivered_total\{account="irc.a",channel="#x"\} 1/);
  });

  it('flushes queued messages on stop when the destination comes back before the deadline', async () => {
    const made = new Map<string, FakeAdapter>();
    const app = createApp(config(tempDir()), {
      logger: pino({ level: 'silent' }),
      createAdapter: fakeFactory(made),
    });
    await app.start();
    const a = made.get('irc.a');
    a?.disconnect();
    made.get('irc.b')?.receive('#y', 'last words');
    const stopping = app.stop(3_000);
    a?.connect();
    await stopping;
    expect(a?.sent.map((m) => m.text)).toEqual(['last words']);
    expect(a?.stopped).toBe(true);
    await app.stop(); // idempotent
  });

  it('rejects an unusable data dir with a clear error', () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    expect(() => ensureDataDir(file)).toThrow(StartupError);
    expect(() => ensureDataDir(path.join(file, 'sub'))).toThrow(/data dir .* is not usable/);
  });
});
