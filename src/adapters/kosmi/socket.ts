import WebSocket from 'ws';

export interface KosmiSocketOptions {
  /** §2: the working client sends the app's Origin; a bare upgrade got HTTP 403 [R]. */
  readonly origin: string;
  readonly userAgent: string;
  readonly pingIntervalMs: number;
  /** Nothing read (message, ping or pong) for this long means the socket is dead (§2). */
  readonly readTimeoutMs: number;
  /** ws `maxPayload`: a bigger frame is refused (close 1009) before it is buffered whole. */
  readonly maxPayloadBytes: number;
  /** Called when a frame was bigger than maxPayloadBytes. */
  readonly onOversized: () => void;
  /** Called when the watchdog kills a silent socket. */
  readonly onDead: (silentMs: number) => void;
}

const HANDSHAKE_TIMEOUT_MS = 15_000;

/**
 * The WebSocket class handed to graphql-ws as `webSocketImpl`: ws with the browser's Origin and
 * User-Agent on the upgrade, WebSocket ping frames every pingIntervalMs, and a read watchdog that
 * terminates the socket when nothing arrived for readTimeoutMs (docs/kosmi-protocol.md §2: the old
 * relay's connection "would silently die after hours/days"). terminate() sends no close frame, so
 * graphql-ws sees 1006 and the adapter's reconnect loop takes over.
 */
export type KosmiSocketClass = new (address: string | URL, protocols?: string | string[]) => WebSocket;

export function kosmiSocketClass(options: KosmiSocketOptions): KosmiSocketClass {
  return class KosmiSocket extends WebSocket {
    constructor(address: string | URL, protocols?: string | string[]) {
      super(address, protocols, {
        headers: { Origin: options.origin, 'User-Agent': options.userAgent },
        handshakeTimeout: HANDSHAKE_TIMEOUT_MS,
        maxPayload: options.maxPayloadBytes,
      });
      this.on('error', (error: Error & { code?: string }) => {
        if (error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') options.onOversized();
      });
      watch(this, options);
    }
  };
}

function watch(socket: WebSocket, options: KosmiSocketOptions): void {
  let lastRead = Date.now();
  const touch = (): void => {
    lastRead = Date.now();
  };
  let pingTimer: NodeJS.Timeout | undefined;
  let watchdog: NodeJS.Timeout | undefined;
  const stop = (): void => {
    clearInterval(pingTimer);
    clearInterval(watchdog);
  };
  socket.on('open', () => {
    touch();
    pingTimer = setInterval(() => {
      if (socket.readyState === WebSocket.OPEN) socket.ping();
    }, options.pingIntervalMs);
    watchdog = setInterval(
      () => {
        const silentMs = Date.now() - lastRead;
        if (silentMs < options.readTimeoutMs) return;
        stop();
        options.onDead(silentMs);
        socket.terminate();
      },
      Math.max(50, Math.min(5_000, options.readTimeoutMs / 4)),
    );
  });
  socket.on('message', touch);
  socket.on('pong', touch);
  socket.on('ping', touch);
  socket.on('close', stop);
}
