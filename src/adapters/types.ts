import type { Logger } from 'pino';

/** What app.ts hands every adapter factory. The contract itself lives in core/adapter.ts. */
export interface AdapterDeps {
  readonly logger: Logger;
  readonly dataDir: string;
  /** Channels to join, from the gateways that name this account. */
  readonly channels: readonly string[];
}
