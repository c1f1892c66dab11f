import type { Logger } from 'pino';

/** Small per-account values the store keeps across restarts (inbound positions, first start). */
export interface AccountCursors {
  get(key: string): string | undefined;
  set(key: string, value: string): void;
}

/** What app.ts hands every adapter factory. The contract itself lives in core/adapter.ts. */
export interface AdapterDeps {
  readonly logger: Logger;
  readonly dataDir: string;
  /** Channels to join, from the gateways that name this account. */
  readonly channels: readonly string[];
  readonly cursors: AccountCursors;
}
