/**
 * The Resources page on a fleet of thousands of simulated instances, in Chromium: it renders one
 * server page of rows (not the fleet), pages forward and back, and its filters narrow the list.
 * Behaviour only: no timing thresholds.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Browser, chromiumAvailable, openBrowser, waitForText } from './browser.js';
import { type Fleet, startFleet } from './fleet.js';

const run = chromiumAvailable();
let fleet: Fleet;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  if (!run) return;
  fleet = await startFleet({ shop: 3_000, batch: 2_000 });
  browser = await openBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  if (!run) return;
  await browser?.close();
  await fleet?.server.stop();
});

const names = () =>
  page.getByTestId('resource-row').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-name')));
const range = async () => (await page.getByTestId('res-range').textContent()) ?? '';

describe.runIf(run)('the Resources page on a fleet of 5,000 instances', () => {
  it('renders one page of rows, pages forward and back, and filters', async () => {
    await page.goto(`${fleet.server.url}/ui/#/resources`);
    await page.getByTestId('page-resources').waitFor();
    await page.getByTestId('resource-row').first().waitFor();
    expect(await page.getByTestId('resource-row').count()).toBe(50);
    expect(await range()).toMatch(/^1–50 of 5,?00[0-9]$/);
    const first = await names();
    expect(first.slice(0, 2)).toEqual(['batch', 'shop']);
    await browser.screenshot('resources-fleet');

    await page.getByTestId('res-next').click();
    await waitForText(page, 'res-range', /^51–100 /);
    const second = await names();
    expect(second).toHaveLength(50);
    expect(second.some((n) => first.includes(n))).toBe(false);

    await page.getByTestId('res-prev').click();
    await waitForText(page, 'res-range', /^1–50 /);
    expect(await names()).toEqual(first);

    await page.getByTestId('res-kind').selectOption('Instance');
    await page.getByTestId('res-group').fill('batch');
    await page.getByTestId('res-group').press('Enter');
    await waitForText(page, 'res-range', / of 2,?000$/);
    const batch = await names();
    expect(batch).toHaveLength(50);
    expect(batch.every((n) => n?.startsWith('batch-'))).toBe(true);

    await page.getByTestId('res-q').fill('batch-1999');
    await page.getByTestId('res-q').press('Enter');
    await waitForText(page, 'res-range', / of 1$/);
    expect(await names()).toEqual(['batch-1999']);
    await browser.screenshot('resources-fleet-filtered');
    expect(browser.pageErrors).toEqual([]);
  }, 60_000);
});
