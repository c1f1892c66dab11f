/**
 * The content repository (spec §"Content repository"): uploads, and downloads both through the
 * authenticated endpoint of Matrix v1.11 (MSC3916, `GET /_matrix/client/v1/media/download/...`,
 * access token required) and the old unauthenticated `/_matrix/media/v3/download/...`.
 *
 * Server kinds for tests: `frozen` is matrix.org since September 2024 (the v3 endpoint answers
 * 404 M_NOT_FOUND for files uploaded after the freeze); `noV1` is a server from before v1.11 (the
 * v1 paths are unknown: 404 M_UNRECOGNIZED, spec §"Unsupported endpoints"). A held file sends
 * its first half and waits for the test to release the rest, so a test can see a download stream.
 */
import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { authenticate } from './routes-auth.js';
import { errors, RawAnswer, type Request, type Routes } from './http.js';
import type { HomeserverState } from './state.js';

export interface StoredMedia {
  readonly mediaId: string;
  readonly content: Buffer;
  readonly contentType: string;
  readonly fileName: string | undefined;
  /** Uploaded while the unauthenticated endpoint was frozen: not served there. */
  readonly afterFreeze: boolean;
}

export class MediaStore {
  readonly files = new Map<string, StoredMedia>();
  /** The unauthenticated v3 download serves only files from before the freeze. */
  frozen = false;
  /** The server predates v1.11: no authenticated media endpoints. */
  noV1 = false;
  private readonly held = new Map<string, Promise<void>>();

  constructor(private readonly serverName: string) {}

  /** Stores a file and returns its mxc URI. */
  add(content: Buffer, contentType: string, fileName?: string): string {
    const mediaId = randomBytes(12).toString('base64url');
    this.files.set(mediaId, { mediaId, content, contentType, fileName, afterFreeze: this.frozen });
    return `mxc://${this.serverName}/${mediaId}`;
  }

  /** Downloads of this file send its first half, then wait until `release` is called. */
  hold(mediaId: string): { release: () => void } {
    let release = (): void => undefined;
    this.held.set(mediaId, new Promise<void>((resolve) => (release = resolve)));
    return { release: () => release() };
  }

  answer(server: string, mediaId: string, unauthenticated: boolean): RawAnswer {
    const file = server === this.serverName ? this.files.get(mediaId) : undefined;
    if (file === undefined || (unauthenticated && file.afterFreeze)) throw errors.notFound('Not found');
    const held = this.held.get(mediaId);
    return new RawAnswer(async (response: ServerResponse) => {
      response.writeHead(200, {
        'content-type': file.contentType,
        'content-length': file.content.byteLength,
        // Spec v1.11: downloads are served as attachments with a restrictive CSP.
        'content-disposition': `attachment${file.fileName === undefined ? '' : `; filename="${encodeURIComponent(file.fileName)}"`}`,
        'content-security-policy':
          "sandbox; default-src 'none'; script-src 'none'; plugin-types application/pdf; style-src 'unsafe-inline'; object-src 'self';",
      });
      if (held === undefined) {
        response.end(file.content);
        return;
      }
      const half = Math.floor(file.content.byteLength / 2);
      response.write(file.content.subarray(0, half));
      await held;
      response.end(file.content.subarray(half));
    });
  }
}

export function addMediaRoutes(routes: Routes, state: HomeserverState, media: MediaStore): void {
  routes.add('POST', '/_matrix/media/v3/upload', (request: Request) => {
    authenticate(state, request);
    const type = request.headers['content-type'] ?? 'application/octet-stream';
    const fileName = request.query.get('filename') ?? undefined;
    return { content_uri: media.add(request.raw, type, fileName) };
  });

  const v1 = (request: Request): RawAnswer => {
    if (media.noV1) throw errors.unrecognized(404);
    authenticate(state, request);
    const [server = '', mediaId = ''] = request.params;
    return media.answer(server, mediaId, false);
  };
  routes.add('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}', v1);
  routes.add('GET', '/_matrix/client/v1/media/download/{serverName}/{mediaId}/{fileName}', v1);

  const v3 = (request: Request): RawAnswer => {
    const [server = '', mediaId = ''] = request.params;
    return media.answer(server, mediaId, true);
  };
  routes.add('GET', '/_matrix/media/v3/download/{serverName}/{mediaId}', v3);
  routes.add('GET', '/_matrix/media/v3/download/{serverName}/{mediaId}/{fileName}', v3);
}
