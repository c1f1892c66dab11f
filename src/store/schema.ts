import type { DatabaseSync } from 'node:sqlite';
import { transaction } from './sql.js';

/**
 * The schema, as an ordered list of migrations: migration i takes `PRAGMA user_version` from i to
 * i + 1. Never edit a migration that has shipped; append a new one.
 */
export const MIGRATIONS: readonly ((db: DatabaseSync) => void)[] = [
  (db) => {
    db.exec(`
      -- (a) outbox: every outbound piece until its destination confirmed it, in insertion order.
      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        message_id TEXT NOT NULL,
        account TEXT NOT NULL,
        channel TEXT NOT NULL,
        enqueued_at INTEGER NOT NULL,
        payload TEXT NOT NULL
      );
      -- (b) message map: the source of each relayed message, and each copy on a destination.
      CREATE TABLE messages (
        message_id TEXT PRIMARY KEY,
        account TEXT NOT NULL,
        channel TEXT NOT NULL,
        network_id TEXT,
        nick TEXT NOT NULL,
        text TEXT NOT NULL,
        created_at INTEGER NOT NULL
      );
      CREATE INDEX messages_by_network_id ON messages (account, network_id) WHERE network_id IS NOT NULL;
      CREATE INDEX messages_by_created_at ON messages (created_at);
      CREATE TABLE copies (
        account TEXT NOT NULL,
        network_id TEXT NOT NULL,
        message_id TEXT NOT NULL,
        channel TEXT NOT NULL,
        piece_index INTEGER NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (account, network_id)
      ) WITHOUT ROWID;
      CREATE INDEX copies_by_message ON copies (message_id);
      CREATE INDEX copies_by_created_at ON copies (created_at);
      -- (c) inbound cursors, one value per (account, key).
      CREATE TABLE cursors (
        account TEXT NOT NULL,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (account, key)
      ) WITHOUT ROWID;
      -- (d) echo memory that must survive a restart.
      CREATE TABLE echoes (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        expires_at INTEGER NOT NULL
      );
      CREATE INDEX echoes_by_expiry ON echoes (expires_at);
      -- (e) generated secrets, one per name.
      CREATE TABLE secrets (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) WITHOUT ROWID;
    `);
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the schema to SCHEMA_VERSION, one transaction per migration so a crash leaves a version
 * that matches the tables. Returns the version found, or throws when the file is newer than this
 * code (a downgrade would misread it).
 */
export function migrate(db: DatabaseSync): { from: number; to: number } {
  const from = userVersion(db);
  if (from > SCHEMA_VERSION) {
    throw new Error(
      `it has schema version ${from}, and this kosmi-relay knows only up to ${SCHEMA_VERSION} (it was written by a newer release)`,
    );
  }
  for (let version = from; version < SCHEMA_VERSION; version++) {
    const migration = MIGRATIONS[version];
    if (migration === undefined) break;
    transaction(
      db,
      () => {
        migration(db);
        // PRAGMA takes no bound parameters; `version` is our own integer.
        db.exec(`PRAGMA user_version = ${version + 1}`);
      },
      'BEGIN IMMEDIATE',
    );
  }
  return { from, to: SCHEMA_VERSION };
}

export function userVersion(db: DatabaseSync): number {
  const row = db.prepare('PRAGMA user_version').get();
  const value = row?.user_version;
  return typeof value === 'number' ? value : 0;
}
