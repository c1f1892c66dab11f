import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { createAdapter as defaultCreateAdapter } from './adapters/registry.js';
import type { AdapterDeps } from './adapters/types.js';
import type { AccountConfig, RelayConfig } from './config/schema.js';
import type { ChatAdapter } from './core/adapter.js';
import { ECHO_TTL_MS, EchoGuard } from './core/echo-guard.js';
import { Router, type RouterAccount } from './core/router.js';
import { TRAFFIC_WINDOW_MS, TrafficCounter } from './core/traffic.js';
import { startHealthServer, type HealthServer } from './health/server.js';
import { RelayStore, StoreLockedError } from './store/index.js';

/** Shutdown must finish within this (issue 2 §1: "graceful shutdown within 10 s"). */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** Part of the deadline kept for adapters to say goodbye (QUIT, close frames) after flushing. */
const ADAPTER_STOP_SHARE_MS = 2_500;
const DAY_MS = 86_400_000;
/** The message map is pruned this often (and once at start). */
const PRUNE_INTERVAL_MS = 6 * 60 * 60_000;

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface AppDeps {
  readonly logger: Logger;
  /** Tests may swap the adapter factory for in-memory fakes of our interface. */
  readonly createAdapter?: (account: AccountConfig, deps: AdapterDeps) => Promise<ChatAdapter>;
}

export interface App {
  start(): Promise<void>;
  /** Idempotent. Stops intake, flushes queues, stops adapters; resolves within deadlineMs. */
  stop(deadlineMs?: number): Promise<void>;
  readonly router: Router | undefined;
  readonly store: RelayStore | undefined;
  readonly adapters: ReadonlyMap<string, ChatAdapter>;
  healthPort(): number | undefined;
}

/** Creates the data dir 0700 if missing and proves it writable (issue 2 §2). */
export function ensureDataDir(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    if (!statSync(dir).isDirectory()) throw new Error('not a directory');
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(
      `data dir ${dir} is not usable (${code}): make it a directory the relay can write to, or set general.data_dir`,
    );
  }
}

/** Wiring only (house style): builds adapters, router and health from a validated config. */
export function createApp(config: RelayConfig, deps: AppDeps): App {
  const log = deps.logger;
  const makeAdapter = deps.createAdapter ?? defaultCreateAdapter;
  const traffic = new TrafficCounter();
  const adapters = new Map<string, ChatAdapter>();
  let router: Router | undefined;
  let store: RelayStore | undefined;
  let health: HealthServer | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;

  const channelsOf = (accountId: string): string[] => {
    const channels = new Set<string>();
    for (const gateway of config.gateways)
      for (const e of gateway.endpoints) if (e.account === accountId) channels.add(e.channel);
    return [...channels];
  };

  return {
    get router() {
      return router;
    },
    get store() {
      return store;
    },
    adapters,
    healthPort: () => health?.port,

    async start() {
      ensureDataDir(config.general.data_dir);
      try {
        store = RelayStore.open({ dataDir: config.general.data_dir, logger: log });
      } catch (error) {
        if (error instanceof StoreLockedError) throw new StartupError(error.message, { cause: error });
        throw error;
      }
      const ledger = store;
      const echoGuard = new EchoGuard(ECHO_TTL_MS, Date.now, (text, expiresAt) =>
        ledger.addEcho(text, expiresAt),
      );
      echoGuard.restore(ledger.liveEchoes(Date.now()));
      const routerAccounts = new Map<string, RouterAccount>();
      for (const account of config.accounts.values()) {
        const channels = channelsOf(account.id);
        if (channels.length === 0) {
          log.warn({ account: account.id }, 'account is in no enabled gateway; not connecting it');
          continue;
        }
        const adapter = await makeAdapter(account, {
          logger: log.child({ component: account.protocol, account: account.id }),
          dataDir: config.general.data_dir,
          channels,
          cursors: {
            get: (key) => ledger.getCursor(account.id, key),
            set: (key, value) => ledger.setCursor(account.id, key, value),
          },
        });
        adapters.set(account.id, adapter);
        const settings = account.settings;
        routerAccounts.set(account.id, {
          adapter,
          label: settings.label ?? account.protocol,
          remoteNickFormat: settings.remote_nick_format ?? config.general.remote_nick_format,
          queueBounds: {
            maxMessages: settings.queue_max_messages ?? config.general.queue_max_messages,
            maxAgeMs: (settings.queue_max_age_seconds ?? config.general.queue_max_age_seconds) * 1000,
          },
        });
      }
      router = new Router({
        gateways: config.gateways,
        accounts: routerAccounts,
        echoGuard,
        store: ledger,
        logger: log,
        // Status page: messages relayed per direction, counted when the destination confirmed them.
        onDelivered: (piece, account) => traffic.record(piece.origin.account, account),
      });
      const activeRouter = router;
      activeRouter.restore();
      const prune = (): void => {
        const removed = ledger.pruneMessageMap(Date.now() - config.general.message_map_days * DAY_MS);
        if (removed > 0) log.debug({ removed }, 'pruned the message map');
      };
      prune();
      pruneTimer = setInterval(prune, PRUNE_INTERVAL_MS);
      pruneTimer.unref();
      if (config.general.http_listen !== undefined) {
        health = await startHealthServer(
          config.general.http_listen,
          {
            accounts: () =>
              [...adapters.values()].map((a) => ({
                account: a.account,
                status: a.status(),
                queueDepth: activeRouter.queueDepth(a.account),
                // Status page (issue 10 §2): what the account is and holds, never a secret.
                protocol: a.protocol,
                channels: a.channels,
                ...(a.details === undefined ? {} : { details: a.details() }),
              })),
            queues: () => activeRouter.queueStats(),
            counters: () => activeRouter.counters,
            durable: () => ledger.durable,
            gateways: () => config.gateways,
            traffic: () => traffic.lastHour(),
            trafficWindowMs: TRAFFIC_WINDOW_MS,
          },
          log,
        );
      }
      log.info({ accounts: [...adapters.keys()], gateways: config.gateways.map((g) => g.name) }, 'starting');
      // Adapters return without waiting for their networks: one that is down does not hold up the rest.
      await Promise.all([...adapters.values()].map((adapter) => adapter.start()));
    },

    stop(deadlineMs = SHUTDOWN_DEADLINE_MS) {
      stopping ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        router?.stopIntake();
        const flushed = (await router?.drain(deadline - ADAPTER_STOP_SHARE_MS)) ?? true;
        if (!flushed) log.warn('shutdown deadline reached before every queued message was delivered');
        router?.close();
        const remaining = Math.max(500, deadline - Date.now() - 250);
        await Promise.all(
          [...adapters.values()].map((adapter) =>
            adapter
              .stop(remaining)
              .catch((error: unknown) =>
                log.warn({ err: error, account: adapter.account }, 'adapter stop failed'),
              ),
          ),
        );
        await health?.close();
        clearInterval(pruneTimer);
        store?.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
