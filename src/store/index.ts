export { RelayStore, DEFAULT_RETRY_INTERVAL_MS } from './relay-store.js';
export { StoreLockedError, StoreOpenError } from './errors.js';
export { SCHEMA_VERSION } from './schema.js';
export {
  TEXT_KEPT_CHARS,
  type CopyRecord,
  type EchoRecord,
  type MappedMessage,
  type MessageCopy,
  type MessageRecord,
  type PieceRecord,
  type StoreOptions,
  type StoredPiece,
} from './types.js';
