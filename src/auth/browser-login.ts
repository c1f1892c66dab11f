import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Browser, BrowserServer, Page } from 'playwright-core';
import type { KosmiLoginSelectors } from '../config/kosmi.js';
import { scrubSecrets } from '../log/logger.js';
import { chromiumArgs, chromiumPath } from './chromium.js';
import { LoginFailedError, TransientLoginError } from './errors.js';
import { decodeJwt } from './jwt.js';
import { errorMessage } from '../core/errors.js';

export interface BrowserLoginOptions {
  readonly webUrl: string;
  readonly email: string;
  readonly password: string;
  readonly timeoutMs: number;
  readonly selectors: KosmiLoginSelectors;
  readonly userAgent: string;
  /** Where a failed login leaves its screenshot and page HTML. */
  readonly dataDir: string;
  /** Names the failure files: kosmi-login-failure-<account>.png/.html */
  readonly account: string;
  readonly logger: Logger;
  readonly signal?: AbortSignal;
  readonly env?: Record<string, string | undefined>;
  /** Called with Chromium's process id as soon as it runs (the tests check it is gone afterwards). */
  readonly onBrowserPid?: (pid: number) => void;
}

const LAUNCH_TIMEOUT_MS = 30_000;
const CLOSE_TIMEOUT_MS = 5_000;
const POLL_MS = 200;
/** An error text that stays this long after submitting, with no new token, ends the login early. */
const ERROR_SETTLE_MS = 1_500;

/**
 * Email/password login by browser automation, the only known path (docs/kosmi-protocol.md §6.2, §7):
 * open web_url, click "Login", then "Login with Email", fill in the form, submit, and wait until
 * localStorage `token` holds a JWT whose `sub` differs from the anonymous token the page held
 * before. playwright-core is imported here, lazily, so a relay that never logs in by browser never
 * loads it. Chromium is always closed before this returns.
 */
export async function browserLogin(options: BrowserLoginOptions): Promise<string> {
  const log = options.logger;
  const executablePath = chromiumPath(options.env);
  try {
    await fs.access(executablePath, fsConstants.X_OK);
  } catch {
    throw new LoginFailedError(
      `Chromium not found at ${executablePath}: install Debian's chromium package or set CHROMIUM_PATH`,
    );
  }
  let playwright: typeof import('playwright-core');
  try {
    playwright = await import('playwright-core');
  } catch (error) {
    throw new LoginFailedError('playwright-core is not installed (npm ci installs it)', { cause: error });
  }
  const deadline = Date.now() + options.timeoutMs;
  // A function, not a property read: TypeScript would narrow `aborted` to false after this check.
  const aborted = (): boolean => options.signal?.aborted === true;
  if (aborted()) throw new LoginFailedError('browser login aborted');
  let server: BrowserServer;
  try {
    server = await playwright.chromium.launchServer({
      executablePath,
      headless: true,
      // No Chromium sandbox, for every user: it needs user namespaces, which Docker's default
      // seccomp profile denies. This is Playwright's default too (it then adds --no-sandbox).
      chromiumSandbox: false,
      args: chromiumArgs(),
      timeout: LAUNCH_TIMEOUT_MS,
      handleSIGINT: false,
      handleSIGTERM: false,
      handleSIGHUP: false,
    });
  } catch (error) {
    throw new LoginFailedError(`cannot start Chromium at ${executablePath}: ${firstLine(error)}`, {
      cause: error,
    });
  }
  const pid = server.process().pid;
  if (pid !== undefined) options.onBrowserPid?.(pid);
  log.debug({ pid }, 'chromium started');
  // Shutdown (SIGTERM, docker stop) during a login: Playwright's calls take no signal, so a page
  // that never answers would hold page.goto, and the adapter's stop, until the login timeout; the
  // relay then used up its whole shutdown deadline. Killing Chromium ends every pending call now.
  const abortLogin = (): void => {
    log.debug({ pid }, 'browser login aborted; killing chromium');
    server.kill().catch((error: unknown) => log.warn({ err: firstLine(error) }, 'could not kill chromium'));
  };
  if (aborted()) abortLogin();
  else options.signal?.addEventListener('abort', abortLogin, { once: true });
  let browser: Browser | undefined;
  let page: Page | undefined;
  try {
    browser = await playwright.chromium.connect(server.wsEndpoint(), { timeout: LAUNCH_TIMEOUT_MS });
    const context = await browser.newContext({ userAgent: options.userAgent });
    page = await context.newPage();
    const token = await runLoginFlow(page, options, deadline);
    log.debug('browser login: user token found in localStorage');
    return token;
  } catch (error) {
    if (aborted()) throw new LoginFailedError('browser login aborted', { cause: error });
    const classified = classify(error, options);
    if (page !== undefined) await saveFailure(page, options, log);
    throw classified;
  } finally {
    options.signal?.removeEventListener('abort', abortLogin);
    await closeBrowser(browser, server, log);
  }
}

async function runLoginFlow(page: Page, options: BrowserLoginOptions, deadline: number): Promise<string> {
  const remaining = (): number => Math.max(1, deadline - Date.now());
  const { selectors } = options;
  const checkAbort = (): void => {
    if (options.signal?.aborted === true) throw new LoginFailedError('browser login aborted');
  };
  await step('open the web app', () =>
    page.goto(options.webUrl, { waitUntil: 'domcontentloaded', timeout: remaining() }),
  );
  // A fresh page already holds an anonymous token (§6.1, §7): never take that one. Its sub is the
  // baseline; without one, a token that appears later could be the page's own anonymous login
  // finishing late, so the login waits for it (bounded by the login timeout) and fails without it.
  const baseline = new Set<string>();
  const remember = (token: string | undefined): void => {
    const sub = token === undefined ? undefined : decodeJwt(token)?.sub;
    if (sub !== undefined) baseline.add(sub);
  };
  remember(await waitForToken(page, remaining(), options.signal));
  checkAbort();
  if (baseline.size === 0) {
    throw new LoginFailedError(
      `Kosmi login: the page put no anonymous token in localStorage within the ${Math.round(options.timeoutMs / 1000)}s login timeout, so the user's token could not be told apart from it (docs/kosmi-protocol.md §7)`,
    );
  }
  await step('click "Login" (login_selectors.login_button)', () =>
    page.locator(selectors.login_button).filter({ visible: true }).first().click({ timeout: remaining() }),
  );
  checkAbort();
  await step('click "Login with Email" (login_selectors.email_option)', () =>
    page.locator(selectors.email_option).filter({ visible: true }).last().click({ timeout: remaining() }),
  );
  checkAbort();
  await step('fill in the email (login_selectors.email_input)', () =>
    page
      .locator(selectors.email_input)
      .filter({ visible: true })
      .first()
      .fill(options.email, { timeout: remaining() }),
  );
  const passwordInput = page.locator(selectors.password_input).filter({ visible: true }).first();
  await step('fill in the password (login_selectors.password_input)', () =>
    passwordInput.fill(options.password, { timeout: remaining() }),
  );
  const errorsBefore = await visibleTexts(page, selectors.error_text);
  // The page may have replaced its anonymous token meanwhile: the one there now is a baseline too.
  remember(await readToken(page));
  const submit = page.locator(selectors.submit_button).filter({ visible: true }).first();
  if ((await submit.count()) > 0)
    await step('submit the form (login_selectors.submit_button)', () =>
      submit.click({ timeout: remaining() }),
    );
  else await step('submit the form (Enter)', () => passwordInput.press('Enter', { timeout: remaining() }));

  let pageError: string | undefined;
  let errorSince: number | undefined;
  while (Date.now() < deadline) {
    checkAbort();
    const token = await readToken(page);
    const sub = token === undefined ? undefined : decodeJwt(token)?.sub;
    if (token !== undefined && sub !== undefined && !baseline.has(sub)) return token;
    const errors = (await visibleTexts(page, selectors.error_text)).filter(
      (text) => !errorsBefore.includes(text),
    );
    if (errors.length > 0) {
      pageError = errors.join(' / ');
      errorSince ??= Date.now();
      if (Date.now() - errorSince >= ERROR_SETTLE_MS) break;
    } else {
      errorSince = undefined;
    }
    await page.waitForTimeout(POLL_MS);
  }
  const seconds = Math.round(options.timeoutMs / 1000);
  if (pageError !== undefined)
    throw new LoginFailedError(`Kosmi login failed: the page says "${pageError}" (check email and password)`);
  throw new LoginFailedError(
    `Kosmi login timed out after ${seconds}s: no user token appeared in localStorage after submitting the form`,
  );
}

async function step(what: string, action: () => Promise<unknown>): Promise<void> {
  try {
    await action();
  } catch (error) {
    if (error instanceof LoginFailedError) throw error;
    throw new StepError(what, error);
  }
}

class StepError extends Error {
  constructor(
    readonly what: string,
    cause: unknown,
  ) {
    super(`${what}: ${firstLine(cause)}`, { cause });
  }
}

async function readToken(page: Page): Promise<string | undefined> {
  try {
    const value = await page.evaluate(() => window.localStorage.getItem('token'));
    return typeof value === 'string' && value !== '' ? value : undefined;
  } catch {
    return undefined; // the page is navigating; the next poll reads again
  }
}

async function waitForToken(
  page: Page,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<string | undefined> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const token = await readToken(page);
    if (token !== undefined || Date.now() >= until || signal?.aborted === true) return token;
    await page.waitForTimeout(POLL_MS);
  }
}

async function visibleTexts(page: Page, selector: string): Promise<string[]> {
  try {
    const texts = await page.locator(selector).filter({ visible: true }).allInnerTexts();
    return texts
      .map((text) => text.trim().replace(/\s+/g, ' '))
      .filter((text) => text !== '' && text.length < 500);
  } catch {
    return []; // a bad selector or a navigating page: no error text to quote
  }
}

function classify(error: unknown, options: BrowserLoginOptions): Error {
  const secrets = [options.password, options.email];
  if (error instanceof LoginFailedError) return new LoginFailedError(scrubSecrets(error.message, secrets));
  if (error instanceof StepError) {
    const timedOut = /timeout|exceeded/i.test(error.message);
    const seconds = Math.round(options.timeoutMs / 1000);
    const why = timedOut
      ? `not found within the ${seconds}s login timeout`
      : scrubSecrets(firstLine(error.cause), secrets);
    // A page that cannot be loaded at all is a network problem, not a page that changed.
    if (error.what.startsWith('open') && /net::|ECONNREFUSED|ENOTFOUND/i.test(error.message)) {
      return new TransientLoginError(`browser login: cannot open ${options.webUrl}: ${why}`);
    }
    return new LoginFailedError(`browser login: could not ${error.what}: ${why}`);
  }
  return new LoginFailedError(`browser login failed: ${scrubSecrets(firstLine(error), secrets)}`);
}

async function saveFailure(page: Page, options: BrowserLoginOptions, log: Logger): Promise<void> {
  const base = path.join(
    options.dataDir,
    `kosmi-login-failure-${options.account.replace(/[^A-Za-z0-9_.-]/g, '_')}`,
  );
  try {
    await fs.mkdir(options.dataDir, { recursive: true });
    await page.screenshot({ path: `${base}.png`, fullPage: true, timeout: CLOSE_TIMEOUT_MS });
    await fs.writeFile(`${base}.html`, await page.content(), { mode: 0o600 });
    log.warn(
      { screenshot: `${base}.png`, html: `${base}.html` },
      'browser login failed; saved a screenshot and the page HTML',
    );
  } catch (error) {
    log.warn({ err: firstLine(error) }, 'browser login failed; could not save the screenshot or page HTML');
  }
}

/** Closes Chromium; kills its process group if it does not exit in time. */
async function closeBrowser(browser: Browser | undefined, server: BrowserServer, log: Logger): Promise<void> {
  const child = server.process();
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  try {
    await withTimeout(browser?.close() ?? Promise.resolve(), CLOSE_TIMEOUT_MS);
    await withTimeout(server.close(), CLOSE_TIMEOUT_MS);
  } catch (error) {
    log.warn({ err: firstLine(error) }, 'chromium did not close in time; killing it');
  }
  if (
    !(await withTimeout(exited, CLOSE_TIMEOUT_MS).then(
      () => true,
      () => false,
    ))
  ) {
    await server.kill();
    await withTimeout(exited, CLOSE_TIMEOUT_MS).catch(() =>
      log.error({ pid: child.pid }, 'chromium process did not exit'),
    );
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

function firstLine(error: unknown): string {
  const text = errorMessage(error);
  // Playwright colours its messages with ANSI escapes.
  return (text.split('\n')[0] ?? text).replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
}
