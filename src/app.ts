import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { createAdapter as defaultCreateAdapter } from './adapters/registry.js';
import type { AdapterDeps, ChatAdapter } from './adapters/types.js';
import type { AccountConfig, RelayConfig } from './config/schema.js';
import { EchoGuard } from './core/echo-guard.js';
import { Router, type RouterAccount } from './core/router.js';
import { TRAFFIC_WINDOW_MS, TrafficCounter } from './core/traffic.js';
import { startHealthServer, type HealthServer } from './health/server.js';

/** Shutdown must finish within this (issue 2 §1: "graceful shutdown within 10 s"). */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** Part of the deadline kept for adapters to say goodbye (QUIT, close frames) after flushing. */
const ADAPTER_STOP_SHARE_MS = 2_500;

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
  const echoGuard = new EchoGuard();
  const traffic = new TrafficCounter();
  const adapters = new Map<string, ChatAdapter>();
  let router: Router | undefined;
  let health: HealthServer | undefined;
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
    adapters,
    healthPort: () => health?.port,

    async start() {
      ensureDataDir(config.general.data_dir);
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
          rememberSent: (text) => echoGuard.remember(text),
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
        logger: log,
        traffic,
      });
      const activeRouter = router;
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
            gateways: () => config.gateways,
            traffic: () => traffic.lastHour(),
            trafficWindowMs: TRAFFIC_WINDOW_MS,
            // durable: not wired yet: the page shows "unknown" until the app says whether its store is.
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
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
