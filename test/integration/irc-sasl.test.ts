import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSaslNetwork, type SaslNetwork } from '../helpers/inspircd.js';
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { makeIrcAdapter, type AdapterHarness } from '../helpers/irc-adapter.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';

/**
 * SASL PLAIN and NickServ IDENTIFY against a real network (InspIRCd + Atheme): logged in before
 * joining; a wrong password leaves the account `failed` with a clear reason and no secret logged.
 */
describe('IRC adapter: SASL PLAIN and NickServ (InspIRCd + Atheme)', () => {
  let net: SaslNetwork;
  let observer: TestIrcClient;
  const channel = `#${uniqueName('sasl')}`;
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    net = await startSaslNetwork();
    observer = await connectIrcClient({ port: net.port, nick: uniqueName('obs') });
    // extended-join puts the account name into every JOIN line (IRCv3 extended-join).
    await observer.raw('CAP REQ :extended-join');
    await observer.waitForLine((l) => / CAP \S+ ACK /.test(l));
    await observer.join(channel);
  }, 60_000);
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  afterAll(async () => {
    await observer?.quit();
    await net?.stop();
  });

  function adapter(settings: Record<string, unknown>): AdapterHarness {
    const h = makeIrcAdapter({ server: `127.0.0.1:${net.port}`, ...settings }, [channel]);
    cleanups.push(() => h.adapter.stop(2_000));
    return h;
  }
  /** The account field of the nick's JOIN line ("*" when not logged in). */
  async function joinAccount(nick: string): Promise<string> {
    const line = await observer.waitForLine((l) => l.startsWith(`:${nick}!`) && l.includes(' JOIN '), 15_000);
    return line.split(' ')[3] ?? '';
  }
  function expectNoSecret(h: AdapterHarness, secret: string): void {
    expect(h.logText()).not.toContain(secret);
    expect(h.logText()).not.toContain(Buffer.from(secret).toString('base64').slice(0, 12));
  }

  it('logs in with SASL PLAIN before joining', async () => {
    const account = uniqueName('sa');
    const password = `pw-${uniqueName('s')}`;
    await net.registerAccount(account, password);
    const h = adapter({ nick: account, sasl_account: account, sasl_password: password });
    await h.adapter.start();
    await h.waitForState('connected', 20_000);
    expect(await joinAccount(account)).toBe(account);
    await observer.raw(`WHOIS ${account}`);
    const whois = await observer.waitForLine((l) => new RegExp(` 330 \\S+ ${account} ${account} `).test(l));
    expect(whois).toMatch(/logged in as/);
    expectNoSecret(h, password);
  });

  it('identifies with NickServ before joining', async () => {
    const account = uniqueName('ns');
    const password = `pw-${uniqueName('n')}`;
    await net.registerAccount(account, password);
    const h = adapter({ nick: account, nickserv_password: password });
    await h.adapter.start();
    await h.waitForState('connected', 20_000);
    expect(await joinAccount(account)).toBe(account);
    expectNoSecret(h, password);
  });

  it('a wrong SASL password leaves the account failed, with a clear reason and no secret in the log', async () => {
    const account = uniqueName('sw');
    await net.registerAccount(account, 'the-right-password');
    const wrong = `wrong-${uniqueName('x')}`;
    const h = adapter({ nick: account, sasl_account: account, sasl_password: wrong });
    await h.adapter.start();
    await h.waitForState('failed', 20_000);
    expect(h.adapter.status().reason).toMatch(new RegExp(`SASL PLAIN login as "${account}" rejected \\(904`));
    expect(h.states).not.toContain('connected');
    expect(observer.lines.some((l) => l.startsWith(`:${account}!`) && l.includes(' JOIN '))).toBe(false);
    expect(h.logText()).toMatch(/"level":50.*account failed/);
    expectNoSecret(h, wrong);
    // Retried slowly (retry_failed_seconds, default 300), not hammered.
    expect(h.logText()).toMatch(/"level":50[^\n]*"delayMs":300000,[^\n]*"msg":"account failed"/);
  });

  it('a wrong NickServ password leaves the account failed, with a clear reason and no secret in the log', async () => {
    const account = uniqueName('nw');
    await net.registerAccount(account, 'the-right-password');
    const wrong = `wrong-${uniqueName('y')}`;
    const h = adapter({ nick: account, nickserv_password: wrong });
    await h.adapter.start();
    await h.waitForState('failed', 20_000);
    expect(h.adapter.status().reason).toMatch(new RegExp(`NickServ rejected IDENTIFY for "${account}"`));
    await waitFor(() => h.states.includes('failed'));
    expect(h.states).not.toContain('connected');
    expectNoSecret(h, wrong);
  });
});
