/**
 * Files from Matrix for the relay's media proxy (issue 8 §3, docs/matrix.md "Files from Matrix").
 *
 * Since Matrix v1.11 (MSC3916) media is downloaded with the account's access token from
 * `GET /_matrix/client/v1/media/download/{serverName}/{mediaId}`; the old unauthenticated
 * `/_matrix/media/v3/download/...` is frozen on matrix.org and most servers since 2024 (files
 * uploaded after the freeze answer 404 M_NOT_FOUND there). A server that predates v1.11 does not
 * have the v1 endpoint: it answers 404 M_UNRECOGNIZED (spec §"Unsupported endpoints") or, behind
 * a proxy, a bare 404 / 405; then the v3 endpoint is used, without the token, and the choice is
 * remembered for the account's lifetime.
 *
 * The body is streamed, never buffered: the proxy pipes it to the browser.
 */
import type { Logger } from 'pino';
import type { MediaDownload } from '../../media/types.js';
import type { MatrixApi } from './client.js';
import { isUnrecognizedEndpoint, MatrixApiError } from './errors.js';
import { matrixStream, type StreamedResponse } from './http.js';

export class MatrixMedia {
  /** Which download endpoint this homeserver serves; undefined until the first download. */
  private endpoint: 'v1' | 'v3' | undefined;

  constructor(
    private readonly api: MatrixApi,
    private readonly log: Logger,
  ) {}

  async download(server: string, mediaId: string, signal: AbortSignal): Promise<MediaDownload | undefined> {
    const tail = `${encodeURIComponent(server)}/${encodeURIComponent(mediaId)}`;
    let answer: StreamedResponse;
    try {
      if (this.endpoint !== 'v3') {
        try {
          answer = await this.api.stream({ path: `/_matrix/client/v1/media/download/${tail}`, signal });
          this.endpoint = 'v1';
          return downloadOf(answer);
        } catch (error) {
          if (
            !(error instanceof MatrixApiError) ||
            this.endpoint === 'v1' ||
            !isUnrecognizedEndpoint(error.errcode)
          )
            throw error;
          this.endpoint = 'v3';
          this.log.info(
            { errcode: error.errcode },
            'the homeserver has no authenticated media (v1.11): downloading from /_matrix/media/v3',
          );
        }
      }
      answer = await matrixStream(this.api.homeserver, {
        path: `/_matrix/media/v3/download/${tail}`,
        signal,
      });
      return downloadOf(answer);
    } catch (error) {
      // The file does not exist (or not for unauthenticated downloads any more). Other failures
      // go to the caller, the media proxy, which logs them.
      if (error instanceof MatrixApiError && error.status === 404 && error.errcode === 'M_NOT_FOUND')
        return undefined;
      throw error;
    }
  }
}

/** The answer as the media proxy takes it; the proxy judges whether the length is a byte count. */
function downloadOf(answer: StreamedResponse): MediaDownload {
  const type = answer.headers['content-type'];
  const length = answer.headers['content-length'];
  return {
    ...(type === undefined ? {} : { contentType: type }),
    ...(length === undefined ? {} : { contentLength: Number(length) }),
    body: answer.body,
  };
}
