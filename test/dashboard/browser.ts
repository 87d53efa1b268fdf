/**
 * @module Debian's Chromium driven by playwright-core for the dashboard tests: never a downloaded
 * browser; headless, a fresh profile per run, a 1366×768 laptop viewport. Without /usr/bin/chromium
 * the tests skip loudly, except in CI (CI=true), where they fail: `.ci/run` installs it.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';

export const CHROMIUM = process.env.HOMEOSTAT_CHROMIUM ?? '/usr/bin/chromium';
export const SCREENSHOTS = resolve('test-artifacts', 'dashboard');

/** Whether the browser tests can run here; in CI a missing Chromium is an error, not a skip. */
export function chromiumAvailable(): boolean {
  if (existsSync(CHROMIUM)) return true;
  if (process.env.CI === 'true') {
    throw new Error(`${CHROMIUM} is missing: the dashboard tests need Debian's chromium (apt-get install -y chromium)`);
  }
  process.stderr.write(`\n[dashboard tests] SKIPPED: ${CHROMIUM} not found (apt-get install -y chromium)\n`);
  return false;
}

export interface Browser {
  readonly context: BrowserContext;
  readonly page: Page;
  /** Uncaught errors in the page, in order. */
  readonly pageErrors: readonly string[];
  /** Saves a full-page screenshot under test-artifacts/dashboard/ and prints its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(): Promise<Browser> {
  const profile = mkdtempSync(join(tmpdir(), 'homeostat-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1366, height: 768 },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  const pageErrors: string[] = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    context,
    page,
    pageErrors,
    async screenshot(name) {
      const path = join(SCREENSHOTS, `${name}.png`);
      await page.screenshot({ path, fullPage: true });
      process.stdout.write(`[dashboard] screenshot ${path}\n`);
      return path;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** The number in an element's text, e.g. 5 from "5". */
export async function numberIn(page: Page, testid: string): Promise<number> {
  const text = await page.getByTestId(testid).first().textContent();
  return Number((text ?? '').replace(/[^\d.-]/g, ''));
}

/** Polls `read` until `ok` accepts what it returns (the page keeps re-rendering as data arrives). */
export async function waitFor<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < end) {
    last = await read();
    if (ok(last)) return last;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what} (last seen: ${JSON.stringify(last)})`);
}

/** Waits until the text of the element with `testid` matches `pattern`. */
export function waitForText(page: Page, testid: string, pattern: RegExp, timeoutMs?: number): Promise<string> {
  return waitFor(
    async () => (await page.getByTestId(testid).first().textContent()) ?? '',
    (t) => pattern.test(t),
    `${testid} to match ${pattern}`,
    timeoutMs,
  );
}

/** Waits until the element's `data-markers` count is above zero (a decision drawn on the plot). */
export function waitForMarkers(page: Page, testid: string, timeoutMs?: number): Promise<number> {
  return waitFor(
    async () => Number(await page.getByTestId(testid).getAttribute('data-markers')),
    (n) => n > 0,
    `a marker on ${testid}`,
    timeoutMs,
  );
}
