/**
 * The JSON of GET /healthz (issue 2 §6) and everything the status page shows (issue 10 §2). One
 * document for machines and the page: the fields of issue 2 stay as they were, the rest are
 * additions. Nothing here is a secret or a message text: account ids, channel names, states,
 * reasons (adapters promise they hold no secret), counts and times.
 */
import type { AdapterDetails, AdapterStatus } from '../core/adapter.js';
import type { Direction } from '../core/gateway.js';

export interface AccountHealth {
  readonly account: string;
  readonly status: AdapterStatus;
  readonly queueDepth: number;
  readonly protocol?: string;
  readonly channels?: readonly string[];
  readonly details?: AdapterDetails;
}

export interface QueueHealth {
  readonly account: string;
  readonly channel: string;
  readonly depth: number;
  readonly delivered: number;
  readonly dropped: number;
  /** When the oldest waiting piece was accepted (ms since the epoch). */
  readonly oldestEnqueuedAt?: number | undefined;
}

export interface GatewayHealth {
  readonly name: string;
  readonly endpoints: readonly { account: string; channel: string; direction: Direction }[];
}

export interface TrafficHealth {
  readonly from: string;
  readonly to: string;
  readonly messages: number;
}

/** What the health server reads, at request time, from the running app. */
export interface HealthSource {
  accounts(): AccountHealth[];
  queues(): QueueHealth[];
  counters(): { received: number; relayed: number; echoes: number };
  gateways(): readonly GatewayHealth[];
  /** Messages relayed per direction over the last `trafficWindowMs`. */
  traffic(): readonly TrafficHealth[];
  readonly trafficWindowMs: number;
  /** Whether queued messages survive a restart: false while the store cannot write. */
  durable(): boolean;
}

export interface StatusMeta {
  readonly version: string;
  readonly startedAt: Date;
  readonly now: Date;
}

export interface AccountJson {
  state: AdapterStatus['state'];
  since: string;
  reason?: string;
  queue_depth: number;
  protocol?: string;
  channels?: string[];
  token_expires_at?: string;
  has_refresh_token?: boolean;
}

export interface StatusJson {
  status: 'ok' | 'degraded';
  accounts: Record<string, AccountJson>;
  version: string;
  started_at: string;
  uptime_seconds: number;
  generated_at: string;
  /** null: the app has not said whether its store survives a restart. */
  durable: boolean;
  gateways: { name: string; endpoints: { account: string; channel: string; direction: Direction }[] }[];
  queues: {
    account: string;
    channel: string;
    depth: number;
    oldest_enqueued_at: string | null;
    oldest_age_seconds: number | null;
    delivered: number;
    dropped: number;
  }[];
  traffic: { window_seconds: number; directions: { from: string; to: string; messages: number }[] };
}

const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

function accountJson(a: AccountHealth): AccountJson {
  const details = a.details ?? {};
  return {
    state: a.status.state,
    since: a.status.since.toISOString(),
    ...(a.status.reason === undefined ? {} : { reason: a.status.reason }),
    queue_depth: a.queueDepth,
    ...(a.protocol === undefined ? {} : { protocol: a.protocol }),
    ...(a.channels === undefined ? {} : { channels: [...a.channels] }),
    ...(details.tokenExpiresAt === undefined
      ? {}
      : { token_expires_at: details.tokenExpiresAt.toISOString() }),
    ...(details.hasRefreshToken === undefined ? {} : { has_refresh_token: details.hasRefreshToken }),
  };
}

/** Healthy (HTTP 200) when every account is connected (issue 2 §6). */
export function buildStatus(source: HealthSource, meta: StatusMeta): { healthy: boolean; body: StatusJson } {
  const accounts = source.accounts();
  const healthy = accounts.every((a) => a.status.state === 'connected');
  const now = meta.now.getTime();
  const body: StatusJson = {
    status: healthy ? 'ok' : 'degraded',
    accounts: Object.fromEntries(accounts.map((a) => [a.account, accountJson(a)])),
    version: meta.version,
    started_at: meta.startedAt.toISOString(),
    uptime_seconds: seconds(now - meta.startedAt.getTime()),
    generated_at: meta.now.toISOString(),
    durable: source.durable(),
    gateways: source.gateways().map((g) => ({
      name: g.name,
      endpoints: g.endpoints.map((e) => ({ account: e.account, channel: e.channel, direction: e.direction })),
    })),
    queues: source.queues().map((q) => ({
      account: q.account,
      channel: q.channel,
      depth: q.depth,
      oldest_enqueued_at:
        q.oldestEnqueuedAt === undefined ? null : new Date(q.oldestEnqueuedAt).toISOString(),
      oldest_age_seconds: q.oldestEnqueuedAt === undefined ? null : seconds(now - q.oldestEnqueuedAt),
      delivered: q.delivered,
      dropped: q.dropped,
    })),
    traffic: {
      window_seconds: seconds(source.trafficWindowMs),
      directions: source.traffic().map((t) => ({ from: t.from, to: t.to, messages: t.messages })),
    },
  };
  return { healthy, body };
}
