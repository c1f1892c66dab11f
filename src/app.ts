import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import type { Logger } from 'pino';
import { createAdapter as defaultCreateAdapter } from './adapters/registry.js';
import type { AdapterDeps } from './adapters/types.js';
import { channelsOf, diffConfig } from './config/diff.js';
import type { AccountConfig, GeneralConfig, RelayConfig } from './config/schema.js';
import type { ChatAdapter } from './core/adapter.js';
import { ECHO_TTL_MS, EchoGuard } from './core/echo-guard.js';
import { Router, type RouterAccount } from './core/router.js';
import { TRAFFIC_WINDOW_MS, TrafficCounter } from './core/traffic.js';
import { startHealthServer, type HealthServer } from './health/server.js';
import { BYTES_PER_MB, createMedia, type Media, type MediaSource, type SecretStore } from './media/index.js';
import { RelayStore, StoreLockedError } from './store/index.js';
import { DAY_MS } from './core/time.js';

/** From SIGTERM to exit within 10 s (issue 2 §1); main.ts sets its force-exit timer from it too. */
export const SHUTDOWN_DEADLINE_MS = 10_000;
/** Part of the deadline kept for adapters to say goodbye (QUIT, close frames) after flushing. */
const ADAPTER_STOP_SHARE_MS = 2_500;
/** The message map is pruned this often (and once at start). */
const PRUNE_INTERVAL_MS = 6 * 60 * 60_000;
/** A reload gives an account it stops (removed, or reconnecting) this long for its goodbye (QUIT). */
const RELOAD_STOP_MS = 3_000;

export class StartupError extends Error {
  override readonly name = 'StartupError';
}

export interface AppDeps {
  readonly logger: Logger;
  /** Tests may swap the adapter factory for in-memory fakes of our interface. */
  readonly createAdapter?: (account: AccountConfig, deps: AdapterDeps) => Promise<ChatAdapter>;
}

/** What one reload did (the fields of its info line). */
export interface ReloadSummary {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly reconnected: readonly string[];
  /** Enabled gateways after the reload. */
  readonly gateways: readonly string[];
}

export interface App {
  start(): Promise<void>;
  /**
   * SIGHUP (issue 10 §4): applies a validated config to the running relay. Reloads run one at a
   * time; one asked for during shutdown is ignored (undefined).
   */
  reload(next: RelayConfig): Promise<ReloadSummary | undefined>;
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

function routerAccount(account: AccountConfig, adapter: ChatAdapter, general: GeneralConfig): RouterAccount {
  const settings = account.settings;
  return {
    adapter,
    label: settings.label ?? account.protocol,
    remoteNickFormat: settings.remote_nick_format ?? general.remote_nick_format,
    queueBounds: {
      maxMessages: settings.queue_max_messages ?? general.queue_max_messages,
      maxAgeMs: (settings.queue_max_age_seconds ?? general.queue_max_age_seconds) * 1000,
    },
    replyStyle: settings.reply_style,
    editMarker: account.protocol === 'matrix' ? account.settings.edit_marker : '',
    editWindowMs: account.protocol === 'matrix' ? account.settings.edit_window_minutes * 60_000 : 0,
  };
}

const isMediaSource = (adapter: ChatAdapter): adapter is ChatAdapter & MediaSource =>
  typeof (adapter as Partial<MediaSource>).download === 'function';

/**
 * Media links (issue 8 §4, docs/media.md) when general.public_url is set; without it, one warning
 * if a Matrix account could post files.
 */
function startMedia(
  config: RelayConfig,
  secrets: SecretStore,
  sources: () => readonly MediaSource[],
  log: Logger,
): Media | undefined {
  const { public_url: publicUrl, media_max_mb: maxMb } = config.general;
  if (publicUrl !== undefined)
    return createMedia({ publicUrl, maxBytes: maxMb * BYTES_PER_MB, secrets, sources, logger: log });
  if ([...config.accounts.values()].some((account) => account.protocol === 'matrix')) {
    log.warn(
      { setting: 'general.public_url' },
      'files posted on Matrix reach the other networks as their name only: set general.public_url (with general.http_listen) for links that open without a Matrix account (docs/media.md)',
    );
  }
  return undefined;
}

/** Wiring only (house style): builds adapters, router and health from a validated config. */
export function createApp(initial: RelayConfig, deps: AppDeps): App {
  let config = initial;
  const log = deps.logger;
  const makeAdapter = deps.createAdapter ?? defaultCreateAdapter;
  const traffic = new TrafficCounter();
  const adapters = new Map<string, ChatAdapter>();
  let router: Router | undefined;
  let store: RelayStore | undefined;
  let health: HealthServer | undefined;
  let media: Media | undefined;
  let pruneTimer: NodeJS.Timeout | undefined;
  let stopping: Promise<void> | undefined;
  let reloading: Promise<unknown> = Promise.resolve();

  const newAdapter = (account: AccountConfig, channels: readonly string[]): Promise<ChatAdapter> => {
    const ledger = store;
    if (ledger === undefined) throw new Error('the store is not open');
    return makeAdapter(account, {
      logger: log.child({ component: account.protocol, account: account.id }),
      dataDir: config.general.data_dir,
      channels,
      cursors: {
        get: (key) => ledger.getCursor(account.id, key),
        set: (key, value) => ledger.setCursor(account.id, key, value),
      },
      messages: { knows: (networkId) => ledger.findByNetworkId(account.id, networkId) !== undefined },
      ...(media === undefined ? {} : { media: media.links }),
    });
  };

  const stopAdapter = (adapter: ChatAdapter, deadlineMs: number): Promise<void> =>
    adapter
      .stop(deadlineMs)
      .catch((error: unknown) => log.warn({ err: error, account: adapter.account }, 'adapter stop failed'));

  /** The reload itself; reload() runs one at a time. */
  const applyReload = async (next: RelayConfig): Promise<ReloadSummary | undefined> => {
    const activeRouter = router;
    if (activeRouter === undefined || stopping !== undefined) return undefined;
    const diff = diffConfig(config, next);
    const accountOf = (id: string): AccountConfig => {
      const account = next.accounts.get(id);
      if (account === undefined) throw new Error(`no account ${id} in the new config`);
      return account;
    };
    // Adapters that cannot take the change on their running connection get a new one.
    const replace = new Set([
      ...diff.reconnect.map((r) => r.account),
      ...diff.live.filter((id) => adapters.get(id)?.reconfigure === undefined),
    ]);
    // Every new adapter is made before anything changes: one that cannot be made refuses the reload.
    const created = new Map<string, ChatAdapter>();
    try {
      for (const id of [...diff.added, ...replace])
        created.set(id, await newAdapter(accountOf(id), channelsOf(next.gateways, id)));
    } catch (error) {
      throw new Error('cannot create an adapter for the new config', { cause: error });
    }
    for (const id of diff.live) {
      if (replace.has(id)) continue;
      const account = accountOf(id);
      if (adapters.get(id)?.reconfigure?.(account.settings, channelsOf(next.gateways, id)) !== true) {
        replace.add(id);
        created.set(id, await newAdapter(account, channelsOf(next.gateways, id)));
      }
    }
    for (const r of diff.reconnect)
      log.info({ account: r.account, keys: r.keys }, 'connection settings changed: reconnecting');
    // Stopped before the router lets go of their queues, so nothing of theirs is still in flight.
    const leaving = [...diff.removed, ...replace].flatMap((id) => adapters.get(id) ?? []);
    await Promise.all(leaving.map((adapter) => stopAdapter(adapter, RELOAD_STOP_MS)));
    for (const id of diff.removed) adapters.delete(id);
    for (const [id, adapter] of created) adapters.set(id, adapter);
    const routerAccounts = new Map<string, RouterAccount>();
    for (const [id, adapter] of adapters)
      routerAccounts.set(id, routerAccount(accountOf(id), adapter, next.general));
    const result = activeRouter.reconfigure(next.gateways, routerAccounts);
    for (const id of diff.removed) {
      const kept = result.closed.filter((q) => q.account === id).reduce((n, q) => n + q.waiting, 0);
      if (kept > 0)
        log.warn({ account: id, kept }, 'account removed: its waiting messages stay in the store');
    }
    for (const q of result.closed) {
      if (q.waiting > 0 && adapters.has(q.account) && !replace.has(q.account))
        log.warn(
          { account: q.account, channel: q.channel, kept: q.waiting },
          'channel left the gateways: its waiting messages stay in the store',
        );
    }
    config = next;
    for (const key of diff.restartOnly)
      log.warn({ key: `general.${key}` }, 'this change applies at the next start');
    // Adapters return without waiting for their networks (as at start).
    await Promise.all(
      [...created.values()].map((adapter) =>
        adapter
          .start()
          .catch((error: unknown) =>
            log.error({ err: error, account: adapter.account }, 'adapter start failed'),
          ),
      ),
    );
    return {
      added: diff.added,
      removed: diff.removed,
      reconnected: [...replace],
      gateways: next.gateways.map((g) => g.name),
    };
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

    reload(next) {
      const run = reloading.then(() => applyReload(next));
      reloading = run.catch(() => undefined); // the caller logs the failure; the next reload still runs
      return run;
    },

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
      media = startMedia(config, ledger, () => [...adapters.values()].filter(isMediaSource), log);
      const routerAccounts = new Map<string, RouterAccount>();
      for (const account of config.accounts.values()) {
        const channels = channelsOf(config.gateways, account.id);
        if (channels.length === 0) {
          log.warn({ account: account.id }, 'account is in no enabled gateway; not connecting it');
          continue;
        }
        const adapter = await newAdapter(account, channels);
        adapters.set(account.id, adapter);
        routerAccounts.set(account.id, routerAccount(account, adapter, config.general));
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
          media === undefined ? {} : { media: media.handler },
        );
      }
      log.info({ accounts: [...adapters.keys()], gateways: config.gateways.map((g) => g.name) }, 'starting');
      // Adapters return without waiting for their networks: one that is down does not hold up the rest.
      await Promise.all([...adapters.values()].map((adapter) => adapter.start()));
    },

    stop(deadlineMs = SHUTDOWN_DEADLINE_MS) {
      stopping ??= (async () => {
        const deadline = Date.now() + deadlineMs;
        await reloading; // a reload half done would start adapters after this stopped them
        router?.stopIntake();
        const flushed = (await router?.drain(deadline - ADAPTER_STOP_SHARE_MS)) ?? true;
        if (!flushed) log.warn('shutdown deadline reached before every queued message was delivered');
        router?.close();
        const remaining = Math.max(500, deadline - Date.now() - 250);
        await Promise.all([...adapters.values()].map((adapter) => stopAdapter(adapter, remaining)));
        await health?.close();
        clearInterval(pruneTimer);
        store?.close();
        log.info('stopped');
      })();
      return stopping;
    },
  };
}
