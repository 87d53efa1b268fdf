import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryKey } from '../../src/ports/delivery-store.js';
import { type DlqServer, startDlqServer } from '../api/dlq-harness.js';
import { dead, key, trace } from '../conformance/delivery-store.js';
import { requireBuild, runCli } from './helpers.js';

const HOUR = 3_600_000;
let run = 0;

describe('homeostat dlq', () => {
  let s: DlqServer;
  let rule: string;
  const cli = (...args: string[]) => runCli([...args, '--url', s.url]);
  const k = (n: number, overrides: Partial<DeliveryKey> = {}) =>
    key(n, { source: '/cli-dlq', rule, target: 'hook', ...overrides });
  const listIds = async (...args: string[]) =>
    JSON.parse((await cli('dlq', 'list', '--rule', rule, '--json', ...args)).stdout).entries.map((e: any) => e.id);

  beforeAll(async () => {
    requireBuild();
    s = await startDlqServer();
  });
  afterAll(async () => s?.stop());
  beforeEach(async () => {
    run += 1;
    rule = `cli-rule-${run}`;
    const now = Date.now();
    await s.store.apply([
      dead(k(1), { deadAt: now - 3 * HOUR }),
      dead(k(2, { target: 'page' }), { deadAt: now - 2 * HOUR, reason: 'not-retryable' }),
      dead(k(3), { deadAt: now - 60_000 }),
    ]);
  });

  it('lists dead letters as a table with the rule, target, event, reason and error', async () => {
    const res = await cli('dlq', 'list', '--rule', rule);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^ID\s+DEAD AT\s+RULE\s+TARGET\s+EVENT\s+ATTEMPTS\s+REASON\s+ERROR$/);
    expect(lines).toHaveLength(4);
    expect(lines[2]).toMatch(
      new RegExp(`^\\d+\\s+\\S+Z\\s+${rule}\\s+page\\s+/cli-dlq ev-2\\s+8\\s+not-retryable\\s+`),
    );
    expect(lines[2]).toContain('E_HTTP_STATUS: the target answered 503');
  });

  it('filters the list by target and by --since as a duration', async () => {
    const all = await listIds();
    expect(all).toHaveLength(3);
    expect(await listIds('--target', 'hook')).toEqual([all[0], all[2]]);
    expect(await listIds('--since', '1h')).toEqual([all[2]]);
  });

  it('says so on stderr when nothing matches, and exits 0', async () => {
    const res = await cli('dlq', 'list', '--rule', 'no-such-rule');
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toMatch(/no matching entries/);
  });

  it('shows one dead letter with its error and the event as JSON', async () => {
    const [id] = await listIds();
    const res = await cli('dlq', 'show', String(id));
    expect(res.code).toBe(0);
    expect(res.stdout).toContain(`dead letter ${id}`);
    expect(res.stdout).toMatch(/reason\s+max-attempts/);
    expect(res.stdout).toMatch(/error\s+E_HTTP_STATUS: the target answered 503/);
    const json = res.stdout.slice(res.stdout.indexOf('event:\n') + 'event:\n'.length);
    expect(JSON.parse(json)).toMatchObject({ id: 'ev-1', source: '/cli-dlq', type: 'order.created' });
  });

  it('exits 1 for an unknown id and 2 for an id that is not a number', async () => {
    const missing = await cli('dlq', 'show', '99999999');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^homeostat: no dead letter with id 99999999/);
    const bad = await cli('dlq', 'show', 'abc');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^homeostat: dead-letter id: 'abc'/);
  });

  it('counts dead letters with filters', async () => {
    const res = await cli('dlq', 'count', '--rule', rule, '--target', 'hook');
    expect(res.stdout.trim()).toBe('2');
    expect(JSON.parse((await cli('dlq', 'count', '--rule', rule, '--json')).stdout)).toEqual({ count: 3 });
  });

  it('redrives dead letters by id, making their deliveries pending again', async () => {
    const [a, b, c] = await listIds();
    const res = await cli('dlq', 'redrive', String(a), String(b));
    expect(res.code).toBe(0);
    expect(res.stdout.trim()).toBe('redriven 2 dead letter(s)');
    expect(await listIds()).toEqual([c]);
    expect(await s.store.statusOf([k(1), k(2, { target: 'page' }), k(3)])).toEqual(['pending', 'pending', 'dead']);
  });

  it('redrives the ids it finds and exits 1 naming those that are not in the queue', async () => {
    const [a] = await listIds();
    const res = await cli('dlq', 'redrive', String(a), '99999998');
    expect(res.code).toBe(1);
    expect(res.stdout.trim()).toBe('redriven 1 dead letter(s)');
    expect(res.stderr).toMatch(/^homeostat: not in the dead-letter queue: 99999998/);
  });

  it('redrives by rule and target', async () => {
    const res = await cli('dlq', 'redrive', '--rule', rule, '--target', 'page');
    expect(res.stdout.trim()).toBe('redriven 1 dead letter(s)');
    expect(await s.store.statusOf([k(1), k(2, { target: 'page' })])).toEqual(['dead', 'pending']);
  });

  it('refuses redrive and purge without a selector, or with two, as usage errors', async () => {
    for (const verb of ['redrive', 'purge']) {
      const none = await cli('dlq', verb);
      expect(none.code).toBe(2);
      expect(none.stderr).toMatch(new RegExp(`^homeostat: dlq ${verb}: say which dead letters: .*--all`));
      const two = await cli('dlq', verb, '7', '--all');
      expect(two.code).toBe(2);
      expect(two.stderr).toMatch(/not ids and --all/);
      const badId = await cli('dlq', verb, 'x1');
      expect(badId.code).toBe(2);
    }
    expect(await listIds()).toHaveLength(3);
  });

  it('purges every dead letter with --all and keeps their keys dead', async () => {
    const res = await cli('dlq', 'purge', '--all', '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout).purged).toBeGreaterThanOrEqual(3);
    expect((await cli('dlq', 'count')).stdout.trim()).toBe('0');
    expect(await s.store.statusOf([k(1), k(3)])).toEqual(['dead', 'dead']);
  });
});

describe('homeostat dlq with auth', () => {
  let s: DlqServer;
  beforeAll(async () => {
    requireBuild();
    s = await startDlqServer({ authRequired: true });
    await s.store.apply([dead(key(1, { source: '/cli-auth' }))]);
  });
  afterAll(async () => s?.stop());

  it('lists with a read token and refuses to redrive with it, naming the scope', async () => {
    const token = await s.token(['read']);
    const list = await runCli(['dlq', 'count', '--url', s.url, '--token', token]);
    expect(list.stdout.trim()).toBe('1');
    const redrive = await runCli(['dlq', 'redrive', '--all', '--url', s.url], { env: { HOMEOSTAT_TOKEN: token } });
    expect(redrive.code).toBe(1);
    expect(redrive.stderr).toMatch(/^homeostat: .*lacks the 'admin' scope/);
  });
});

describe('homeostat trace', () => {
  let s: DlqServer;
  const cli = (...args: string[]) => runCli([...args, '--url', s.url]);
  const T = Date.UTC(2026, 10, 24, 10);
  const at = (ms: number) => new Date(T + ms).toISOString();

  beforeAll(async () => {
    requireBuild();
    s = await startDlqServer();
    const hook = key(1, { source: '/shop', id: 'order-7', rule: 'on-order', target: 'hook' });
    const chain = key(1, { source: '/shop', id: 'order-7', rule: 'on-order', target: 'chain' });
    const error = { code: 'E_HTTP_STATUS', message: 'the target answered 503' };
    await s.store.apply([
      trace(hook, 'matched', { target: undefined, at: T }),
      trace(hook, 'attempt', { attempt: 1, at: T + 1 }),
      trace(hook, 'retry-scheduled', { attempt: 1, at: T + 2, detail: { delayMs: 200, error } }),
      trace(chain, 'attempt', { attempt: 1, at: T + 3 }),
      trace(chain, 'delivered', { attempt: 1, at: T + 4, detail: { outcome: { status: 200 } } }),
      trace(chain, 'emitted', { at: T + 4, detail: { events: [{ source: '/homeostat/on-order', id: 'e-9' }] } }),
      trace(hook, 'attempt', { attempt: 2, at: T + 205 }),
      trace(hook, 'dead-lettered', {
        attempt: 2,
        at: T + 206,
        detail: { reason: 'max-attempts', deadLetter: 4, error },
      }),
      trace(key(2, { source: '/other', id: 'order-7', rule: 'audit', target: 'log' }), 'skipped', {
        at: T + 7,
        detail: { reason: 'disabled' },
      }),
    ]);
  });
  afterAll(async () => s?.stop());

  it('prints the causal chain: event, rule, targets with attempts and outcomes, emitted events', async () => {
    const res = await cli('trace', 'order-7', '--source', '/shop');
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')).toEqual([
      'event order-7 from /shop (offset 10)',
      '  rule on-order',
      `    ${at(0)}  matched`,
      '    -> target hook',
      `       ${at(1)}  attempt 1`,
      `       ${at(2)}  retry scheduled in 200 ms  error E_HTTP_STATUS: the target answered 503`,
      `       ${at(205)}  attempt 2`,
      `       ${at(206)}  dead-lettered (homeostat dlq show 4)  reason max-attempts  error E_HTTP_STATUS: the target answered 503`,
      '       outcome: dead-lettered',
      '    -> target chain',
      `       ${at(3)}  attempt 1`,
      `       ${at(4)}  delivered on attempt 1  {"outcome":{"status":200}}`,
      `       ${at(4)}  emitted  e-9 from /homeostat/on-order`,
      '       outcome: delivered; follow with: homeostat trace e-9',
      '',
    ]);
  });

  it('shows one block per source when several sources used the id', async () => {
    const res = await cli('trace', 'order-7');
    expect(res.stdout).toContain('event order-7 from /shop');
    expect(res.stdout).toMatch(
      /event order-7 from \/other \(offset 10\)\n {2}rule audit\n {4}-> target log\n.*skipped {2}reason disabled\n {7}outcome: skipped/,
    );
  });

  it('prints the API answer with --json', async () => {
    const res = await cli('trace', 'order-7', '--source', '/other', '--json');
    expect(JSON.parse(res.stdout)).toEqual({
      id: 'order-7',
      source: '/other',
      entries: [expect.objectContaining({ kind: 'skipped', rule: 'audit', at: at(7) })],
    });
  });

  it('exits 1 when the event has no trace', async () => {
    const res = await cli('trace', 'nothing-here');
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^homeostat: no trace for event 'nothing-here'/);
  });
});
