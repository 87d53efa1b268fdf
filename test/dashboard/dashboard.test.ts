/**
 * The dashboard in Debian's Chromium against a running engine: the example web stack
 * (examples/stacks/web.yaml, its balancer moved to a free port) with the demo's ScalingPolicy, a
 * load spike from the load generator (the capacity plot shows more instances and the scaling
 * decision appears), a dead letter redriven from the page, a workflow approval step approved from
 * the page (the run completes), and the why view opened by clicking an event. Every page is
 * screenshotted into test-artifacts/dashboard/. Behaviour only, no timing thresholds.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { type Load, startLoad } from '../../src/loadgen/load.js';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';
import { type Browser, chromiumAvailable, numberIn, openBrowser, waitFor, waitForMarkers } from './browser.js';

const run = chromiumAvailable();
const ROOT = resolve('.');
const INITIAL = 3;

let server: TestServer;
let browser: Browser;
let page: Page;
let sink: Server;
let sinkUrl: string;
const sinkState = { ok: false, received: [] as number[] };

const api = async <T = any>(method: string, path: string, body?: unknown): Promise<T> => {
  const r = await callApi<T>(server.url, method, path, body);
  if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
};

function manifests(file: string): Record<string, any>[] {
  return parseAllDocuments(readFileSync(join(ROOT, file), 'utf8')).map((d) => d.toJS() as Record<string, any>);
}

/** examples/stacks/web.yaml with the balancer on a free port and the service by absolute path. */
function webStack(): Record<string, any> {
  const stack = manifests('examples/stacks/web.yaml')[0]!;
  for (const r of stack.spec.resources) {
    if (r.kind === 'LoadBalancer') r.spec.listen = '127.0.0.1:0';
    if (r.kind === 'InstanceGroup') {
      r.spec.template.command = process.execPath;
      r.spec.template.args = [join(ROOT, 'examples/services/web.mjs')];
      r.spec.template.env = { WORK_MS: '1' };
    }
  }
  return stack;
}

async function open(route: string): Promise<void> {
  await page.goto(`${server.url}/ui/#/${route}`);
  await page.getByTestId(`page-${route.split('/')[0]}`).waitFor();
}

beforeAll(async () => {
  if (!run) return;
  server = await startTestServer({ providers: { local: { metricsInterval: '250ms' } } }, undefined, {
    stopInfraOnClose: true,
  });
  sink = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const status = sinkState.ok ? 200 : 503;
      sinkState.received.push(status);
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook`;
  browser = await openBrowser();
  page = browser.page;
}, 60_000);

afterAll(async () => {
  if (!run) return;
  await browser?.close();
  await new Promise((r) => sink?.close(r));
  await api('DELETE', '/v1/policies/ScalingPolicy/web').catch(() => undefined);
  await api('DELETE', '/v1/stacks/web?prune=true').catch(() => undefined);
  await server?.stop();
}, 60_000);

describe.runIf(run)('the dashboard in Chromium', () => {
  it('shows the load spike on the capacity plot with the scaling decision marked', async () => {
    await api('PUT', '/v1/stacks/web', webStack());
    await until(
      async () => {
        const { resources } = await api<{ resources: { status?: { healthy?: boolean } }[] }>(
          'GET',
          '/v1/resources?kind=Instance&group=web&state=healthy',
        );
        return resources.length === INITIAL;
      },
      `${INITIAL} healthy web instances`,
      30_000,
    );
    const policy = manifests('examples/demo/policies.yaml').find((m) => m.kind === 'ScalingPolicy')!;
    await api('PUT', '/v1/policies/ScalingPolicy/web', policy);
    const { resources } = await api<{ resources: { status?: { address?: string } }[] }>(
      'GET',
      '/v1/resources?kind=LoadBalancer',
    );
    const address = resources[0]!.status!.address!;

    await open('overview');
    await page.getByTestId('group-web').waitFor();
    await page.getByTestId('plot-capacity-web').locator('canvas').first().waitFor();
    await browser.screenshot('overview-before-spike');

    // 300 requests per second against a target of 40 per instance: the policy must scale out.
    const load: Load = startLoad({ address, rate: 300, timeoutMs: 10_000 });
    try {
      await page.waitForSelector('[data-testid="decision-row"][data-action="scale"][data-outcome="executed"]', {
        timeout: 60_000,
      });
      await waitFor(
        () => numberIn(page, 'capacity-max-web'),
        (n) => n > INITIAL,
        'more instances on the capacity plot',
        60_000,
      );
      await waitForMarkers(page, 'plot-capacity-web');
    } finally {
      await load.stop();
    }
    expect(await numberIn(page, 'capacity-max-web')).toBeGreaterThan(INITIAL);
    const row = page.locator('[data-testid="decision-row"][data-action="scale"]').first();
    expect(await row.textContent()).toMatch(/ScalingPolicy\/web/);
    // A shorter range, as a person would pick it to look at the spike.
    const shorter = page.waitForResponse((r) => r.url().includes('/v1/series?since=1m'));
    await page.getByTestId('range').selectOption('1m');
    await shorter;
    await waitForMarkers(page, 'plot-capacity-web');
    await browser.screenshot('overview-after-spike');
  }, 150_000);

  it('redrives a dead letter from the DLQ page', async () => {
    await api('PUT', '/v1/rules/dash-hook', {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'dash-hook' },
      spec: {
        match: { source: ['/dashboard-test'], type: ['dashboard.order'] },
        targets: [{ name: 'hook', action: 'http', with: { url: sinkUrl }, retry: { maxAttempts: 1 } }],
      },
    });
    await api('POST', '/v1/events', {
      specversion: '1.0',
      id: 'dash-order-1',
      source: '/dashboard-test',
      type: 'dashboard.order',
      data: { order: 1 },
    });
    const dead = await until(async () => {
      const { entries } = await api<{ entries: { id: number }[] }>('GET', '/v1/dlq?rule=dash-hook');
      return entries[0];
    }, 'a dead letter');
    sinkState.ok = true;

    await open('dlq');
    await page.locator(`[data-testid="dlq-row"][data-id="${dead.id}"]`).click();
    await page.getByTestId('dlq-event').waitFor();
    expect(await page.getByTestId('dlq-event').textContent()).toContain('dash-order-1');
    expect(await page.getByTestId('dlq-error').textContent()).toContain('503');
    await browser.screenshot('dlq-inspect');
    await page.getByTestId('dlq-redrive-one').click();
    await page.getByTestId('dlq-result').waitFor();

    expect((await callApi(server.url, 'GET', `/v1/dlq/${dead.id}`)).status).toBe(404);
    await until(async () => sinkState.received.includes(200), 'the redriven delivery to arrive');
    const { count } = await api<{ count: number }>('GET', '/v1/dlq/count?rule=dash-hook');
    expect(count).toBe(0);
    await page.waitForSelector(`[data-testid="dlq-row"][data-id="${dead.id}"]`, { state: 'detached' });
    await browser.screenshot('dlq-after-redrive');
  }, 60_000);

  it('approves a pending workflow step, and the run completes with its step timeline', async () => {
    await api('PUT', '/v1/workflows/dash-release', {
      apiVersion: 'homeostat/v1',
      kind: 'Workflow',
      metadata: { name: 'dash-release' },
      spec: {
        steps: [
          { name: 'ask', approval: { summary: 'Release the dashboard test build?', timeout: '10m' } },
          { name: 'settle', wait: '50ms' },
          { name: 'note', action: 'log', with: { message: 'released' } },
        ],
      },
    });
    const started = await api<{ id: string }>('POST', '/v1/workflows/dash-release/runs', { input: { build: 7 } });

    await open('approvals');
    const card = page.locator(`[data-testid="approval-pending"][data-ref^="${started.id}/"]`);
    await card.waitFor();
    await card.getByTestId('approval-comment').fill('looks good');
    await browser.screenshot('approvals-pending');
    await card.getByTestId('approve').click();
    await card.waitFor({ state: 'detached' });

    const done = await until(async () => {
      const r = await api<{ status: string }>('GET', `/v1/runs/${started.id}`);
      return r.status === 'succeeded' ? r : undefined;
    }, 'the run to succeed');
    expect(done.status).toBe('succeeded');
    const approvals = await api<{ approvals: { ref: string; status: string; comment?: string }[] }>(
      'GET',
      '/v1/approvals?status=approved',
    );
    expect(approvals.approvals.find((a) => a.ref.startsWith(started.id))?.comment).toBe('looks good');
    await browser.screenshot('approvals-decided');

    await open('executions');
    await page.locator(`[data-testid="run-row"][data-run="${started.id}"]`).click();
    await page.getByTestId('run-timeline').waitFor();
    await page.waitForSelector('[data-testid="run-status"]:text("succeeded")');
    const steps = await page
      .getByTestId('step-row')
      .evaluateAll((rows) => rows.map((r) => r.getAttribute('data-step')));
    expect(steps).toEqual(['ask', 'settle', 'note']);
    await browser.screenshot('executions');
  }, 60_000);

  it('opens the why view of an event by clicking it in the live events list', async () => {
    await open('events');
    await page.getByTestId('filter-type').fill('dashboard.order');
    await page.getByTestId('filter-apply').click();
    const eventLink = page.locator(
      '[data-testid="event-row"][data-type="dashboard.order"] [data-testid="event-why-link"]',
    );
    await eventLink.first().waitFor();
    await browser.screenshot('events');
    await eventLink.first().click();
    await page.getByTestId('page-why').waitFor();
    expect(await page.getByTestId('why-id').textContent()).toContain('dash-order-1');
    expect(new URL(page.url()).hash).toBe('#/why/dash-order-1');
    await page.getByTestId('why-tree').waitFor();
    expect(await page.getByTestId('why-tree').textContent()).toContain('dash-order-1');
    await browser.screenshot('why-event');

    // The scaling decision's why: its tree is clickable, each event or action id opens its own why.
    await open('overview');
    const decision = page.locator('[data-testid="decision-row"][data-action="scale"] [data-testid="why-link"]').first();
    const actionId = (await decision.getAttribute('href'))!.replace('#/why/', '');
    await decision.click();
    await page.getByTestId('why-tree').waitFor();
    expect(new URL(page.url()).hash).toBe(`#/why/${actionId}`);
    await browser.screenshot('why-action');
    const link = page.getByTestId('why-node-link').first();
    const other = decodeURIComponent((await link.getAttribute('href'))!.replace('#/why/', ''));
    expect(other).not.toBe(decodeURIComponent(actionId));
    await link.click();
    await waitFor(
      async () => (await page.getByTestId('why-id').textContent()) ?? '',
      (t) => t.includes(other),
      'the why view of the clicked node',
    );
    await page.getByTestId('why-tree').waitFor();
    expect(await page.getByTestId('why-tree').textContent()).toContain(decodeURIComponent(actionId));
  }, 60_000);

  it('renders the other pages with live data', async () => {
    await open('rules');
    await page.locator('[data-testid="rule-row"][data-rule="dash-hook"]').waitFor();
    expect(await page.locator('[data-testid="rule-row"]').count()).toBeGreaterThan(1);
    // The policy's rule matches every metrics event: its rate appears after two scrapes of /metrics.
    const rate = page.locator(
      '[data-testid="rule-row"][data-rule="scalingpolicy.web.metrics"] [data-testid="rule-rate"]',
    );
    await waitFor(
      async () => Number(await rate.textContent()),
      (n) => n > 0,
      'a match rate',
      20_000,
    );
    await browser.screenshot('rules');

    await open('resources');
    await page.locator('[data-testid="resource-row"][data-kind="InstanceGroup"][data-name="web"]').waitFor();
    await browser.screenshot('resources');

    for (const name of ['incidents', 'compliance', 'cost']) {
      await open(name);
      await page.waitForTimeout(500);
      await browser.screenshot(name);
    }
    await page.getByTestId('cost-rate').waitFor();
    await open('overview');
    await page.getByTestId('plot-cost').waitFor();
    await browser.screenshot('overview');
    expect(browser.pageErrors).toEqual([]);
  }, 60_000);
});
