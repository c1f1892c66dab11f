/**
 * The adapter contract against the Kosmi emulator (docs/kosmi-protocol.md). The peer side is the
 * emulator's room; the adapter's WebSocket runs through a PeerGate, so the peer can be taken away
 * (connections cut, new ones closed at once) or silenced (accepted, never answered). The login
 * (api_url, HTTP) goes to the emulator directly: a cached token is all a reconnect needs.
 */
import { rmSync } from 'node:fs';
import { createKosmiAdapter } from '../../src/adapters/kosmi/index.js';
import { startKosmiEmulator } from '../helpers/kosmi-emulator/index.js';
import { kosmiSettings, tempDataDir } from '../helpers/kosmi-setup.js';
import { memoryCursors, memoryMessages } from '../helpers/memory-cursors.js';
import { memoryLogger } from '../helpers/memory-logger.js';
import { startPeerGate } from '../helpers/peer-gate.js';
import { uniqueName } from '../helpers/ports.js';
import { waitFor } from '../helpers/wait-for.js';
import { describeAdapterContract } from './adapter-contract.js';
import type { ContractHarness, HarnessOptions } from './harness.js';

async function kosmiHarness(options: HarnessOptions = {}): Promise<ContractHarness> {
  const room = `@${uniqueName('room')}`;
  const emulator = await startKosmiEmulator({ rooms: [room] });
  const gate = await startPeerGate(Number(new URL(emulator.url).port));
  const dataDir = tempDataDir();
  const settings = kosmiSettings(emulator, { ws_url: `ws://127.0.0.1:${gate.port}/gql-ws` });
  const adapter = createKosmiAdapter('kosmi.contract', settings, {
    logger: memoryLogger().logger,
    dataDir,
    channels: [room],
    cursors: memoryCursors(),
    messages: memoryMessages(),
  });
  const statuses: ContractHarness['statuses'] = [];
  adapter.on('status', (status) => statuses.push(status));
  if (options.silentFromStart === true) gate.setMode('silent');
  let closed = false;

  return {
    adapter,
    channel: room,
    statuses,
    ready: () =>
      waitFor(() => adapter.status().state === 'connected' && emulator.listeners(room).length > 0, {
        what: 'connected and subscribed',
      }).then(() => undefined),
    // Nobody else posts in the room: every message in it came from the relay.
    arrived: () => emulator.messages(room).map((m) => ({ text: m.body, networkId: m.id })),
    connectionsUsed: () => gate.used,
    takePeerAway: () => {
      gate.setMode('refuse');
      return Promise.resolve();
    },
    silencePeer: () => gate.setMode('silent'),
    bringPeerBack: () => {
      gate.setMode('open');
      return Promise.resolve();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await adapter.stop(2_000);
      await gate.close();
      await emulator.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

describeAdapterContract('kosmi (emulator)', {
  make: kosmiHarness,
  // sendMessage answers { ok } only (kosmi-protocol.md §4.6): the id is read from the message's
  // own newMessage echo (src/adapters/kosmi/sent-echoes.ts).
  networkId: { kind: 'peer-id' },
});
