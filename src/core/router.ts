import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ChatAdapter } from '../adapters/types.js';
import type { Gateway } from '../config/schema.js';
import type { EchoGuard } from './echo-guard.js';
import { renderNickFormat } from './format.js';
import type { ChatMessage, OutboundMessage, Protocol } from './message.js';
import { OutboundQueue, type QueueBounds } from './outbound-queue.js';
import type { TrafficCounter } from './traffic.js';

/** Per-account settings the router needs; it never sees a protocol's own config. */
export interface RouterAccount {
  readonly adapter: ChatAdapter;
  readonly label: string;
  readonly remoteNickFormat: string;
  readonly queueBounds: QueueBounds;
}

interface Route {
  readonly gateway: string;
  readonly account: string;
  readonly channel: string;
}

export interface RouterOptions {
  readonly gateways: readonly Gateway[];
  readonly accounts: ReadonlyMap<string, RouterAccount>;
  readonly echoGuard: EchoGuard;
  readonly logger: Logger;
  readonly now?: () => number;
  /** Counts relayed messages per direction for the status page. */
  readonly traffic?: TrafficCounter;
}

const key = (account: string, channel: string): string => `${account}\u0000${channel}`;

/**
 * Knows gateways, not protocols (house style). A message from an in/inout entry goes to every
 * out/inout entry of every gateway its source belongs to, never back to its source, each
 * destination once; per destination the order is kept by its OutboundQueue.
 */
export class Router {
  private readonly routes = new Map<string, Route[]>();
  /** Lower-cased source key -> configured key, for networks whose names fold case (IRC). */
  private readonly folded = new Map<string, string>();
  private readonly queues = new Map<string, OutboundQueue>();
  private intake = true;
  private readonly log: Logger;
  readonly counters = { received: 0, relayed: 0, echoes: 0, unrouted: 0 };

  constructor(private readonly options: RouterOptions) {
    this.log = options.logger.child({ component: 'router' });
    for (const gateway of options.gateways) {
      for (const source of gateway.endpoints) {
        if (source.direction === 'out') continue;
        const sourceKey = key(source.account, source.channel);
        const list = this.routes.get(sourceKey) ?? [];
        for (const destination of gateway.endpoints) {
          if (destination.direction === 'in') continue;
          if (destination.account === source.account && destination.channel === source.channel) continue;
          if (list.some((r) => r.account === destination.account && r.channel === destination.channel))
            continue;
          list.push({ gateway: gateway.name, account: destination.account, channel: destination.channel });
        }
        this.routes.set(sourceKey, list);
        this.folded.set(sourceKey.toLowerCase(), sourceKey);
      }
      for (const endpoint of gateway.endpoints) this.queueFor(endpoint.account, endpoint.channel);
    }
    for (const [, account] of options.accounts) {
      account.adapter.on('status', (status) => {
        if (status.state === 'connected') this.kickAccount(account.adapter.account);
      });
      account.adapter.on('message', (message) => this.handle(message));
    }
  }

  /** Routes one incoming message. */
  handle(message: ChatMessage): void {
    if (!this.intake) return;
    this.counters.received += 1;
    if (this.options.echoGuard.isEcho(message.text, message.rich?.body)) {
      this.counters.echoes += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'dropped echo of our own message');
      return;
    }
    const sourceKey = key(message.source.account, message.source.channel);
    const routes =
      this.routes.get(sourceKey) ?? this.routes.get(this.folded.get(sourceKey.toLowerCase()) ?? '');
    if (routes === undefined || routes.length === 0) {
      this.counters.unrouted += 1;
      this.log.debug({ id: message.id, account: message.source.account }, 'no gateway for this channel');
      return;
    }
    const source = this.options.accounts.get(message.source.account);
    const protocol = source?.adapter.protocol ?? (message.source.account.split('.')[0] as Protocol);
    for (const route of routes) {
      const destination = this.options.accounts.get(route.account);
      const queue = this.queues.get(key(route.account, route.channel));
      if (destination === undefined || queue === undefined) continue;
      const prefix = renderNickFormat(destination.remoteNickFormat, {
        nick: message.sender.nick,
        protocol,
        account: message.source.account,
        label: source?.label ?? protocol,
        gateway: route.gateway,
        channel: message.source.channel,
      });
      const outbound: OutboundMessage = {
        id: randomUUID(),
        kind: message.kind,
        text: message.text,
        ...(message.rich === undefined ? {} : { rich: message.rich }),
        ...(message.edited === true ? { edited: true } : {}),
        nick: message.sender.nick,
        prefix,
        origin: {
          account: message.source.account,
          channel: message.source.channel,
          protocol,
          gateway: route.gateway,
        },
        channel: route.channel,
        timestamp: message.timestamp,
      };
      this.counters.relayed += 1;
      this.options.traffic?.record(message.source.account, route.account);
      this.log.debug({ id: message.id, out: outbound.id, to: route.account }, 'relaying');
      queue.enqueue(outbound);
    }
  }

  /** Stops taking messages in (shutdown step one); queued messages still go out. */
  stopIntake(): void {
    this.intake = false;
  }

  /** Delivers what is queued until the deadline; true when everything went out. */
  async drain(deadline: number): Promise<boolean> {
    const results = await Promise.all([...this.queues.values()].map((queue) => queue.drain(deadline)));
    return results.every(Boolean);
  }

  close(): void {
    for (const queue of this.queues.values()) queue.close();
  }

  /** Queue depth per account (health endpoint). */
  queueDepth(account: string): number {
    let depth = 0;
    for (const [queueKey, queue] of this.queues)
      if (queueKey.startsWith(`${account}\u0000`)) depth += queue.depth;
    return depth;
  }

  queueStats(): {
    account: string;
    channel: string;
    depth: number;
    delivered: number;
    dropped: number;
    oldestEnqueuedAt: Date | undefined;
  }[] {
    return [...this.queues.entries()].map(([queueKey, queue]) => ({
      account: queueKey.split('\u0000')[0] ?? '',
      channel: queue.channel,
      ...queue.stats,
      depth: queue.depth,
      oldestEnqueuedAt: queue.oldestEnqueuedAt,
    }));
  }

  private queueFor(account: string, channel: string): void {
    const queueKey = key(account, channel);
    if (this.queues.has(queueKey)) return;
    const settings = this.options.accounts.get(account);
    if (settings === undefined) return;
    const log = this.log.child({ account });
    this.queues.set(
      queueKey,
      new OutboundQueue(settings.adapter, channel, settings.queueBounds, log, this.options.now),
    );
  }

  private kickAccount(account: string): void {
    for (const [queueKey, queue] of this.queues) if (queueKey.startsWith(`${account}\u0000`)) queue.kick();
  }
}
