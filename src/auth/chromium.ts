/**
 * How the browser login starts Debian's Chromium (issue 3 §3): headless, with the flags that keep
 * it from talking to anything but the page (no background networking, component updates, sync,
 * first-run or QUIC) and --no-sandbox only where the sandbox cannot work (running as root).
 */
export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumPath(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.CHROMIUM_PATH?.trim();
  return fromEnv === undefined || fromEnv === '' ? DEFAULT_CHROMIUM_PATH : fromEnv;
}

export function chromiumArgs(isRoot: boolean = process.getuid?.() === 0): string[] {
  return [
    ...(isRoot ? ['--no-sandbox'] : []),
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
