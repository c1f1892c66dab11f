/**
 * The relay's side of media (docs/media.md): links for adapters, and the handler that serves them
 * on the HTTP listener. Both exist only when general.public_url is set.
 */
import type { Logger } from 'pino';
import { createMediaHandler, type MediaHandler } from './handler.js';
import { createMediaLinks, generateMediaKey, MEDIA_KEY_SECRET, MediaSigner } from './links.js';
import type { MediaLinks, MediaSource } from './types.js';

export type { MediaHandler } from './handler.js';
export type { MediaDownload, MediaLinks, MediaSource } from './types.js';

/** Where the key lives: RelayStore.secret (generated and stored on first use). */
export interface SecretStore {
  secret(name: string, generate: () => string): string;
}

export interface MediaOptions {
  /** general.public_url (normalized by the config schema: no trailing slash). */
  readonly publicUrl: string;
  /** general.media_max_mb in bytes. */
  readonly maxBytes: number;
  readonly secrets: SecretStore;
  /** The accounts that can fetch a file (Matrix), asked in order; read on every request. */
  readonly sources: () => readonly MediaSource[];
  readonly logger: Logger;
}

export interface Media {
  readonly links: MediaLinks;
  /** For startHealthServer's `media` option. */
  readonly handler: MediaHandler;
}

/** 1 MB of general.media_max_mb. */
export const BYTES_PER_MB = 1024 * 1024;

export function createMedia(options: MediaOptions): Media {
  const signer = new MediaSigner(options.secrets.secret(MEDIA_KEY_SECRET, generateMediaKey));
  return {
    links: createMediaLinks({ publicUrl: options.publicUrl, signer }),
    handler: createMediaHandler({
      signer,
      sources: options.sources,
      maxBytes: options.maxBytes,
      logger: options.logger,
    }),
  };
}
