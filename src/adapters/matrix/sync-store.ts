/**
 * The sync state of one account (the /sync next_batch token, the filter id, the SDK's key-value
 * store), persisted in the data dir so a restart resumes where the last run stopped and can relay
 * what arrived meanwhile (issue 4 §3). It is also the matrix-bot-sdk storage provider of the
 * account's client. Not a secret; written atomically after each processed sync batch.
 */
import type { IFilterInfo, IStorageProvider } from 'matrix-bot-sdk';
import { writeFileAtomic } from '../../core/atomic-file.js';
import { readJsonFile } from './files.js';
import { errorMessage } from '../../core/errors.js';

interface State {
  syncToken: string | null;
  filter: { id: string; json: string } | null;
  values: Record<string, string>;
}

const FILE_VERSION = 1;

export class SyncStore implements IStorageProvider {
  private state: State = { syncToken: null, filter: null, values: {} };

  constructor(
    private readonly file: string,
    onCorrupt: (reason: string) => void,
  ) {
    try {
      const data = readJsonFile(file);
      const parsed = data === undefined ? undefined : parseState(data);
      if (parsed !== undefined) this.state = parsed;
      else if (data !== undefined) onCorrupt('unexpected content');
    } catch (error) {
      onCorrupt(errorMessage(error));
    }
  }

  /** True when an earlier run stored a sync token: this start is a resume, not the first start. */
  get resuming(): boolean {
    return this.state.syncToken !== null;
  }

  setSyncToken(token: string | null): void {
    if (this.state.syncToken === token) return;
    this.state.syncToken = token;
    this.persist();
  }

  getSyncToken(): string | null {
    return this.state.syncToken;
  }

  setFilter(filter: IFilterInfo): void {
    this.state.filter = { id: String(filter.id), json: JSON.stringify(filter.filter) };
    this.persist();
  }

  /** Remembers the server's filter id (a string in the spec) for this filter definition. */
  rememberFilter(id: string, definition: unknown): void {
    this.state.filter = { id, json: JSON.stringify(definition) };
    this.persist();
  }

  getFilter(): IFilterInfo {
    // The SDK's interface types this as always present; it checks for a falsy value.
    const filter = this.state.filter;
    return (
      filter === null
        ? null
        : { id: filter.id as unknown as number, filter: JSON.parse(filter.json) as unknown }
    ) as IFilterInfo;
  }

  /** The stored filter id when it was created for exactly this filter definition. */
  filterIdFor(definition: unknown): string | undefined {
    const filter = this.state.filter;
    return filter !== null && filter.json === JSON.stringify(definition) ? filter.id : undefined;
  }

  storeValue(key: string, value: string): void {
    this.state.values[key] = value;
    this.persist();
  }

  readValue(key: string): string | undefined {
    return this.state.values[key];
  }

  private persist(): void {
    const record = {
      version: FILE_VERSION,
      sync_token: this.state.syncToken,
      filter: this.state.filter,
      values: this.state.values,
    };
    // Written after every sync batch: atomic, but not fsynced (a power loss replays a batch at worst).
    writeFileAtomic(this.file, `${JSON.stringify(record)}\n`, { mode: 0o600, durable: false });
  }
}

function parseState(data: unknown): State | undefined {
  if (typeof data !== 'object' || data === null) return undefined;
  const r = data as Record<string, unknown>;
  if (r.version !== FILE_VERSION) return undefined;
  const filter = r.filter as { id?: unknown; json?: unknown } | null | undefined;
  const values: Record<string, string> = {};
  if (typeof r.values === 'object' && r.values !== null) {
    for (const [key, value] of Object.entries(r.values)) if (typeof value === 'string') values[key] = value;
  }
  return {
    syncToken: typeof r.sync_token === 'string' ? r.sync_token : null,
    filter:
      filter !== null && typeof filter?.id === 'string' && typeof filter.json === 'string'
        ? { id: filter.id, json: filter.json }
        : null,
    values,
  };
}
