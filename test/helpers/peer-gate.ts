import net from 'node:net';

/**
 * open: forwards every connection to the target.
 * refuse: the peer is gone: open connections are cut, new ones are accepted and closed at once.
 * silent: the peer hangs: open connections stay open but nothing passes either way any more, and
 *   new connections are accepted and never answered (a dead link, a frozen server behind a proxy).
 */
export type PeerGateMode = 'open' | 'refuse' | 'silent';

export interface PeerGate {
  readonly port: number;
  readonly mode: PeerGateMode;
  /** Connections accepted so far, in every mode. */
  readonly accepted: number;
  /**
   * Connections over which the client sent at least one byte, in every mode: a client that
   * connects again (and so writes: a handshake, a request) counts; an HTTP pool's idle connect
   * that writes nothing (undici opens one for a request that was already aborted) does not.
   */
  readonly used: number;
  setMode(mode: PeerGateMode): void;
  close(): Promise<void>;
}

interface Link {
  readonly client: net.Socket;
  upstream?: net.Socket;
  used: boolean;
}

/**
 * A loopback TCP forwarder in front of a peer (like tcp-gate.ts), with a third mode: a peer that
 * accepts the connection and then never answers, which no emulator and no real server offers on
 * demand. Switching to `silent` freezes the links that are open; switching back to `open` cuts
 * them (a frozen link does not come back to life) and forwards new ones again.
 */
export async function startPeerGate(targetPort: number): Promise<PeerGate> {
  const links = new Set<Link>();
  let mode: PeerGateMode = 'open';
  let accepted = 0;
  let used = 0;
  const noteUse = (link: Link): void => {
    if (link.used) return;
    link.used = true;
    used += 1;
  };
  /** Reads what the client says and drops it: the peer takes bytes and never answers. */
  const swallow = (link: Link): void => {
    link.client.on('data', () => noteUse(link));
    link.client.resume();
  };

  const destroy = (link: Link): void => {
    link.client.destroy();
    link.upstream?.destroy();
    links.delete(link);
  };
  const freeze = (link: Link): void => {
    link.client.unpipe();
    link.upstream?.unpipe();
    link.upstream?.pause();
    swallow(link);
  };

  const server = net.createServer((client) => {
    accepted += 1;
    const link: Link = { client, used: false };
    links.add(link);
    client.once('data', () => noteUse(link)); // a listener of 'data' only, so the pipe below still controls the flow
    client.on('error', () => destroy(link)); // a reset from the client: the link is simply gone
    client.on('close', () => destroy(link));
    if (mode === 'refuse') {
      destroy(link);
      return;
    }
    if (mode === 'silent') {
      swallow(link);
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    link.upstream = upstream;
    upstream.on('error', () => destroy(link)); // the peer went away: so does the client's link
    upstream.on('close', () => destroy(link));
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;

  return {
    port,
    get mode() {
      return mode;
    },
    get accepted() {
      return accepted;
    },
    get used() {
      return used;
    },
    setMode(next) {
      const previous = mode;
      mode = next;
      if (next === 'refuse' || (next === 'open' && previous === 'silent')) {
        for (const link of [...links]) destroy(link);
      } else if (next === 'silent') {
        for (const link of links) freeze(link);
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const link of [...links]) destroy(link);
        server.close(() => resolve());
      }),
  };
}
