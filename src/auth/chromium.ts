/**
 * How the browser login starts Chromium (issue 3 §3): headless, with the flags that keep it from
 * talking to anything but the page (no background networking, component updates, sync, first-run
 * or QUIC).
 *
 * The sandbox: browser-login.ts launches with Playwright's `chromiumSandbox: false` (also its
 * default), so Playwright passes --no-sandbox, for root and every other user alike. Chromium's
 * sandbox needs user namespaces, which Docker's default seccomp profile denies to the container's
 * non-root user; the boundary is the relay's own user (uid 1000 in the image) and the browser only
 * ever opens the configured Kosmi web_url.
 */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumPath(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.CHROMIUM_PATH?.trim();
  return fromEnv === undefined || fromEnv === '' ? DEFAULT_CHROMIUM_PATH : fromEnv;
}

export function chromiumArgs(): string[] {
  return [
    '--disable-gpu',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--no-first-run',
    '--disable-quic',
    // Docker gives /dev/shm 64 MB; Chromium then crashes on large pages.
    '--disable-dev-shm-usage',
  ];
}
