import { randomBytes } from 'node:crypto';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { MatrixFixture } from '../helpers/matrix-homeserver/fixture.js';

/** Issue 8 §3: the Matrix adapter as the media proxy's MediaSource (authenticated media, v1.11). */
describe('Matrix media downloads', () => {
  let fx: MatrixFixture;
  afterEach(async () => fx.close());

  async function bytesOf(body: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  const idOf = (mxc: string): string => mxc.slice(`mxc://${fx.hs.serverName}/`.length);
  const pathsLike = (pattern: RegExp): { path: string; status: number }[] =>
    fx.hs.requests.filter((r) => pattern.test(r.path));

  it('downloads through the authenticated v1 endpoint with the token, also what the frozen v3 endpoint no longer serves', async () => {
    fx = await MatrixFixture.create();
    fx.hs.frozenUnauthenticatedMedia();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const mxc = fx.hs.uploadMedia(png, 'image/png', 'cat.png');
    const download = await relay.adapter.download(fx.hs.serverName, idOf(mxc), AbortSignal.timeout(10_000));
    expect(download?.contentType).toBe('image/png');
    expect(download?.contentLength).toBe(8);
    expect(await bytesOf(download?.body as Readable)).toEqual(png);
    expect(pathsLike(/\/media\//).map((r) => [r.path, r.status])).toEqual([
      [`/_matrix/client/v1/media/download/${fx.hs.serverName}/${idOf(mxc)}`, 200],
    ]);

    // A rejected token is renewed and the download repeated, as for any other request.
    fx.hs.invalidateTokens(fx.relayUserId, { softLogout: true });
    const again = await relay.adapter.download(fx.hs.serverName, idOf(mxc), AbortSignal.timeout(10_000));
    expect(await bytesOf(again?.body as Readable)).toEqual(png);
    expect(pathsLike(/\/v1\/media\//).map((r) => r.status)).toEqual([200, 401, 200]);
  });

  it('a server without v1 media: falls back to /_matrix/media/v3 once and remembers it', async () => {
    fx = await MatrixFixture.create();
    fx.hs.noV1Media();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const first = fx.hs.uploadMedia(Buffer.from('first'), 'text/plain');
    const second = fx.hs.uploadMedia(Buffer.from('second'), 'text/plain');
    const one = await relay.adapter.download(fx.hs.serverName, idOf(first), AbortSignal.timeout(10_000));
    expect(await bytesOf(one?.body as Readable)).toEqual(Buffer.from('first'));
    const two = await relay.adapter.download(fx.hs.serverName, idOf(second), AbortSignal.timeout(10_000));
    expect(await bytesOf(two?.body as Readable)).toEqual(Buffer.from('second'));
    expect(pathsLike(/\/media\//).map((r) => [r.path.replace(/\/[^/]+$/, ''), r.status])).toEqual([
      [`/_matrix/client/v1/media/download/${fx.hs.serverName}`, 404],
      [`/_matrix/media/v3/download/${fx.hs.serverName}`, 200],
      [`/_matrix/media/v3/download/${fx.hs.serverName}`, 200],
    ]);
    expect(
      fx.logged('the homeserver has no authenticated media (v1.11): downloading from /_matrix/media/v3'),
    ).toHaveLength(1);
  });

  it('an unknown file is undefined (404 M_NOT_FOUND), on v1 and on the v3 fallback', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    expect(
      await relay.adapter.download(fx.hs.serverName, 'NoSuchMedia', AbortSignal.timeout(10_000)),
    ).toBeUndefined();
    fx.hs.noV1Media();
    const other = await fx.started(fx.adapter(fx.settings(), { account: 'matrix.old' }));
    expect(
      await other.adapter.download(fx.hs.serverName, 'NoSuchMedia', AbortSignal.timeout(10_000)),
    ).toBeUndefined();
  });

  it('streams: a 6 MB file starts arriving before the server has sent all of it, and arrives byte for byte', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const content = randomBytes(6 * 1024 * 1024);
    const mxc = fx.hs.uploadMedia(content, 'video/mp4', 'film.mp4');
    const hold = fx.hs.mediaStore.hold(idOf(mxc));
    const download = await relay.adapter.download(fx.hs.serverName, idOf(mxc), AbortSignal.timeout(20_000));
    expect(download?.contentLength).toBe(content.byteLength);
    const chunks: Buffer[] = [];
    let released = false;
    for await (const chunk of download?.body as Readable) {
      chunks.push(chunk as Buffer);
      // The server holds the second half until now: what came so far was streamed, not buffered.
      if (!released) {
        expect(Buffer.concat(chunks).byteLength).toBeLessThanOrEqual(content.byteLength / 2);
        released = true;
        hold.release();
      }
    }
    expect(released).toBe(true);
    expect(Buffer.concat(chunks).equals(content)).toBe(true);
  });

  it('aborting the signal ends a download half-way and destroys its body', async () => {
    fx = await MatrixFixture.create();
    const relay = await fx.started(fx.adapter(fx.settings()));
    const mxc = fx.hs.uploadMedia(randomBytes(1024 * 1024), 'application/octet-stream');
    const hold = fx.hs.mediaStore.hold(idOf(mxc));
    const abort = new AbortController();
    const download = await relay.adapter.download(fx.hs.serverName, idOf(mxc), abort.signal);
    const body = download?.body as Readable;
    const ended = new Promise<string>((resolve) => {
      body.once('error', () => resolve('error'));
      body.once('end', () => resolve('end'));
    });
    body.resume();
    abort.abort();
    expect(await ended).toBe('error');
    expect(body.destroyed).toBe(true);
    hold.release();
  });
});
