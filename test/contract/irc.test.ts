/**
 * The adapter contract against a real ngircd (Debian package). The peer side is a human IRC client
 * in the channel; the peer goes away by SIGKILL (a crash: no ERROR, no QUIT) and comes back on the
 * same port, and goes silent by SIGSTOP (the kernel still accepts connections, nothing answers).
 * The adapter connects through an always-open PeerGate that only counts its connections.
 */
import { connectIrcClient, type TestIrcClient } from '../helpers/irc-client.js';
import { makeIrcAdapter } from '../helpers/irc-adapter.js';
import { startNgircd } from '../helpers/ngircd.js';
import { startPeerGate } from '../helpers/peer-gate.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { describeAdapterContract } from './adapter-contract.js';
import type { ContractHarness, HarnessOptions } from './harness.js';

/** True when `line` shows `nick` in `channel`: its JOIN, or a NAMES reply (RFC 2812 §5.1, 353) listing it. */
function showsInChannel(line: string, nick: string, channel: string): boolean {
  const lower = line.toLowerCase();
  if (lower.startsWith(`:${nick.toLowerCase()}!`) && / join :?#/i.test(line))
    return lower.includes(channel.toLowerCase());
  const names = / 353 \S+ [=*@] (\S+) :(.*)$/.exec(line);
  return (
    names?.[1]?.toLowerCase() === channel.toLowerCase() &&
    (names[2] ?? '').split(' ').some((name) => name.replace(/^[@%+~&]+/, '') === nick)
  );
}

async function ircHarness(options: HarnessOptions = {}): Promise<ContractHarness> {
  const server = await startNgircd();
  const channel = `#${uniqueName('ct')}`;
  const nick = uniqueName('relay');
  const humans: TestIrcClient[] = [];
  const human = async (): Promise<TestIrcClient> => {
    const client = await connectIrcClient({
      port: server.port,
      nick: uniqueName('alice'),
      channels: [channel],
    });
    humans.push(client);
    return client;
  };
  let current: TestIrcClient;
  try {
    current = await human();
  } catch (error) {
    await server.stop(); // no harness to close yet: stop the server here
    throw error;
  }
  // The adapter reaches ngircd through an open PeerGate, only to count its connections.
  const gate = await startPeerGate(server.port);
  // flood_rate 0: no flood control, so the suite measures the contract, not the throttle.
  const h = makeIrcAdapter(
    { server: `127.0.0.1:${gate.port}`, nick, flood_rate: 0 },
    [channel],
    'irc.contract',
  );
  const statuses: ContractHarness['statuses'] = [];
  h.adapter.on('status', (status) => statuses.push(status));
  let frozen = false;
  let closed = false;
  const silence = (): void => {
    server.freeze();
    frozen = true;
  };
  if (options.silentFromStart === true) silence();

  return {
    adapter: h.adapter,
    channel,
    statuses,
    ready: async () => {
      await h.waitForState('connected');
      const client = current;
      await waitFor(() => client.lines.some((line) => showsInChannel(line, nick, channel)), {
        what: `${nick} in ${channel}`,
      });
    },
    arrived: () =>
      humans.flatMap((client) =>
        client.messages
          .filter((m) => m.nick === nick && m.target.toLowerCase() === channel.toLowerCase())
          .map((m) => ({ text: m.text })),
      ),
    connectionsUsed: () => gate.used,
    takePeerAway: async () => {
      await server.kill();
      await current.waitForClose();
    },
    silencePeer: silence,
    bringPeerBack: async () => {
      if (frozen) {
        server.thaw();
        frozen = false;
        return;
      }
      await server.start();
      current = await human();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      server.thaw();
      await h.adapter.stop(2_000);
      for (const client of humans) await client.quit();
      await gate.close();
      await server.stop();
    },
  };
}

describeAdapterContract('irc (ngircd)', {
  make: ircHarness,
  // ngircd has no IRCv3 message-tags, so no msgid (https://ircv3.net/specs/extensions/message-ids).
  networkId: { kind: 'none', why: 'ngircd assigns no msgid' },
});
