/**
 * The adapter contract against the Matrix homeserver emulator (Client-Server API). The peer side is
 * the room's timeline; the peer goes away as behind a reverse proxy whose homeserver died (open
 * connections cut, every client request answered 502), and the adapter reaches the homeserver
 * through a PeerGate so the peer can also be silenced (accepted, never answered).
 */
import { MatrixFixture } from '../helpers/matrix-homeserver/fixture.js';
import { startPeerGate } from '../helpers/peer-gate.js';
import { waitFor } from '../helpers/wait-for.js';
import { describeAdapterContract } from './adapter-contract.js';
import type { ContractHarness, HarnessOptions } from './harness.js';

async function matrixHarness(options: HarnessOptions = {}): Promise<ContractHarness> {
  const fx = await MatrixFixture.create();
  const gate = await startPeerGate(Number(new URL(fx.hs.url).port));
  const relay = fx.adapter(fx.settings({ homeserver: `http://127.0.0.1:${gate.port}` }), {
    account: 'matrix.contract',
  });
  if (options.silentFromStart === true) gate.setMode('silent');
  let closed = false;

  return {
    adapter: relay.adapter,
    channel: fx.alias,
    statuses: relay.statuses,
    ready: () =>
      waitFor(
        () => relay.adapter.status().state === 'connected' && fx.hs.isJoined(fx.relayUserId, fx.alias),
        { what: 'connected and joined' },
      ).then(() => undefined),
    arrived: () =>
      fx.hs.events(fx.alias, { sender: fx.relayUserId, type: 'm.room.message' }).map((event) => ({
        text: String((event.content as { body?: unknown }).body),
        networkId: String(event.event_id),
      })),
    connectionsUsed: () => gate.used,
    takePeerAway: () => {
      fx.hs.failWith(502);
      return Promise.resolve();
    },
    silencePeer: () => gate.setMode('silent'),
    bringPeerBack: () => {
      fx.hs.clearFaults();
      gate.setMode('open');
      return Promise.resolve();
    },
    close: async () => {
      if (closed) return;
      closed = true;
      await fx.close();
      await gate.close();
    },
  };
}

describeAdapterContract('matrix (homeserver emulator)', {
  make: matrixHarness,
  networkId: { kind: 'peer-id' },
});
