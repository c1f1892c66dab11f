/**
 * The relay's media links (issue 8 §4): a file posted on Matrix opens in a browser for people
 * without a Matrix account, served by the relay itself from its HTTP listener under /media/.
 */
import type { Readable } from 'node:stream';

/** Makes links; the key behind them never leaves the store. */
export interface MediaLinks {
  /**
   * `{public_url}/media/{server}/{media id}/{mac}/{file name}` for an mxc URI, or undefined when
   * the URI is not a valid mxc URI.
   */
  link(mxcUri: string, fileName: string): string | undefined;
}

/** One file as the network answers it, streamed (never buffered whole). */
export interface MediaDownload {
  /** Content-Type as the homeserver sent it. */
  readonly contentType?: string;
  /** Content-Length when the homeserver sent one; the proxy ignores one that is not a byte count. */
  readonly contentLength?: number;
  readonly body: Readable;
}

/** A network account that can fetch a file for the relay (the Matrix adapter, with its token). */
export interface MediaSource {
  /**
   * The file `mxc://{server}/{mediaId}`, or undefined when the homeserver does not have it (404).
   * Throws on other failures. Aborting `signal` ends the download and destroys `body`.
   */
  download(server: string, mediaId: string, signal: AbortSignal): Promise<MediaDownload | undefined>;
}
