import net from 'node:net';

export interface TcpGate {
  readonly port: number;
  /** While closed, new connections are accepted and dropped at once (a server that is not up yet). */
  open: boolean;
  close(): Promise<void>;
}

/**
 * A loopback TCP forwarder with a switch, so a test decides when the relay may reach a server
 * again (instead of racing the relay's reconnect delay). When either side closes, so does the other.
 */
export async function startTcpGate(targetPort: number): Promise<TcpGate> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    if (!gate.open) {
      client.destroy();
      return;
    }
    const upstream = net.connect(targetPort, '127.0.0.1');
    sockets.add(upstream);
    upstream.on('close', () => {
      sockets.delete(upstream);
      client.destroy();
    });
    upstream.on('error', () => upstream.destroy());
    client.on('close', () => upstream.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const gate: TcpGate = {
    port: typeof address === 'object' && address !== null ? address.port : 0,
    open: true,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return gate;
}
