import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { connectIrcClient } from '../helpers/irc-client.js';
import { makeIrcAdapter, type AdapterHarness } from '../helpers/irc-adapter.js';
import { sendText } from '../helpers/pieces.js';
import { startNgircd, type NgircdServer } from '../helpers/ngircd.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

describe('IRC adapter: TLS and server password (ngircd)', () => {
  let server: NgircdServer;
  const cleanups: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    server = await startNgircd({ tls: true });
  });
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await server.stop();
  });

  function adapter(settings: Record<string, unknown>, channel: string): AdapterHarness {
    const h = makeIrcAdapter({ nick: uniqueName('relay'), ...settings }, [channel]);
    cleanups.push(() => h.adapter.stop(2_000));
    return h;
  }

  it('connects over TLS to a self-signed server with tls_verify = false', async () => {
    const channel = `#${uniqueName('tls')}`;
    const alice = await connectIrcClient({
      port: server.port,
      nick: uniqueName('alice'),
      channels: [channel],
    });
    cleanups.push(() => alice.quit());
    const h = adapter({ server: `127.0.0.1:${server.tlsPort}`, tls: true, tls_verify: false }, channel);
    await h.adapter.start();
    await h.waitForState('connected');
    await sendText(h.adapter, channel, 'over tls', {}, h.onWire);
    await alice.waitForMessage((m) => m.text.endsWith('over tls'));
  });

  it('refuses a certificate that does not verify when tls_verify = true, and says why', async () => {
    const h = adapter({ server: `127.0.0.1:${server.tlsPort}`, tls: true }, `#${uniqueName('tls')}`);
    await h.adapter.start();
    await waitFor(() => h.states.includes('disconnected'), { what: 'a failed attempt' });
    expect(h.adapter.status().reason).toMatch(/certificate/i);
    expect(h.states).not.toContain('connected');
  });
});

describe('IRC adapter: server password (ngircd)', () => {
  let server: NgircdServer;
  beforeAll(async () => {
    server = await startNgircd({ password: 'letmein-4711' });
  });
  afterAll(async () => {
    await server.stop();
  });

  it('sends the server password, and a wrong one is a failed account without the secret in the log', async () => {
    const channel = `#${uniqueName('pw')}`;
    const good = makeIrcAdapter(
      { server: `127.0.0.1:${server.port}`, nick: uniqueName('relay'), password: 'letmein-4711' },
      [channel],
    );
    await good.adapter.start();
    await good.waitForState('connected');
    await good.adapter.stop(2_000);
    expect(good.logText()).not.toContain('letmein-4711');

    const bad = makeIrcAdapter(
      { server: `127.0.0.1:${server.port}`, nick: uniqueName('relay'), password: 'wrong-pass-0815' },
      [channel],
    );
    await bad.adapter.start();
    await bad.waitForState('failed');
    expect(bad.adapter.status().reason).toMatch(/password/i);
    await bad.adapter.stop(2_000);
    expect(bad.logText()).not.toContain('wrong-pass-0815');
  });
});
