import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ANON_LOGIN_DOCUMENT, anonLogin } from '../../src/auth/anon-login.js';
import { LoginFailedError, TransientLoginError } from '../../src/auth/errors.js';

interface Seen {
  method: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

/** A loopback server whose handler answers each request; `seen` records what arrived. */
async function serve(
  handler: (req: http.IncomingMessage, res: http.ServerResponse) => void,
): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, seen };
}

const json = (status: number, body: unknown) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

const login = (apiUrl: string, signal?: AbortSignal) =>
  anonLogin({
    apiUrl,
    webUrl: 'https://app.kosmi.io/room/@x',
    userAgent: 'test-agent/1.0',
    ...(signal === undefined ? {} : { signal }),
  });

describe('anonLogin (docs/kosmi-protocol.md §4.1)', () => {
  it('POSTs the AnonLogin document with the browser headers and returns the token', async () => {
    const { url, seen } = await serve(json(200, { data: { anonLogin: { token: 'jwt-abc' } } }));
    await expect(login(url)).resolves.toBe('jwt-abc');
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.method).toBe('POST');
    expect(request?.headers).toMatchObject({
      'content-type': 'application/json',
      origin: 'https://app.kosmi.io',
      referer: 'https://app.kosmi.io/',
      'user-agent': 'test-agent/1.0',
    });
    expect(JSON.parse(request?.body ?? '')).toEqual({
      query: ANON_LOGIN_DOCUMENT,
      operationName: 'AnonLogin',
      variables: {},
    });
  });

  it('treats HTTP 5xx and 429 as transient', async () => {
    for (const status of [500, 503, 429]) {
      const { url } = await serve(json(status, { errors: [{ message: 'busy' }] }));
      await expect(login(url)).rejects.toThrow(TransientLoginError);
    }
  });

  it('treats an answer without JSON as transient', async () => {
    const { url } = await serve((_req, res) => res.end('<html>proxy error</html>'));
    await expect(login(url)).rejects.toThrow(/without JSON/);
  });

  it('treats GraphQL errors without a token as a failed login, with their messages', async () => {
    const { url } = await serve(json(200, { errors: [{ message: 'anonymous logins disabled' }] }));
    const error = await login(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LoginFailedError);
    expect((error as Error).message).toMatch(/HTTP 200\): anonymous logins disabled/);
  });

  it('treats an unreachable server as transient', async () => {
    const { url } = await serve(json(200, {}));
    await new Promise<void>((resolve) => servers.pop()?.close(() => resolve()));
    const error = await login(url).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientLoginError);
    expect((error as Error).message).toMatch(/cannot reach .*ECONNREFUSED/);
  });

  it('ends a login that hangs when the caller aborts, as transient', async () => {
    const { url } = await serve(() => undefined); // never answers
    const controller = new AbortController();
    const pending = login(url, controller.signal).catch((e: unknown) => e);
    setTimeout(() => controller.abort(new Error('stopping')), 50);
    const error = await pending;
    expect(error).toBeInstanceOf(TransientLoginError);
    expect((error as Error).message).toMatch(/cannot reach .*stopping/);
  });

  it('treats an answer cut off mid-body as transient', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '1000' });
      res.write('{"data":');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await expect(login(url)).rejects.toThrow(TransientLoginError);
  });
});
