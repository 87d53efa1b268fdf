import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock } from '../../src/core/clock.js';
import type { DeliveryKey } from '../../src/ports/delivery-store.js';
import { dead, delivered, eventFor, key, trace } from '../conformance/delivery-store.js';
import { call, type DlqServer, startDlqServer } from './dlq-harness.js';

const T0 = Date.UTC(2026, 10, 24, 10);
const HOUR = 3_600_000;
let run = 0;

/** Keys unique to each test, so tests share one server without seeing each other's entries. */
function k(n: number, overrides: Partial<DeliveryKey> = {}): DeliveryKey {
  return key(n, { source: `/dlq-test-${run}`, ...overrides });
}

describe('dead-letter queue over HTTP', () => {
  const clock = createManualClock(T0);
  let s: DlqServer;
  let rule: string;
  const ids = async (query: string) =>
    (await call(s.url, 'GET', `/v1/dlq?rule=${rule}${query}`)).body.entries.map((e: any) => e.key.id);

  beforeAll(async () => {
    s = await startDlqServer({ clock });
  });
  afterAll(async () => s.stop());
  beforeEach(async () => {
    run += 1;
    rule = `rule-${run}`;
    await s.store.apply([
      dead(k(1, { rule, target: 'hook' }), { deadAt: T0 - 3 * HOUR }),
      dead(k(2, { rule, target: 'page' }), { deadAt: T0 - 2 * HOUR }),
      dead(k(3, { rule, target: 'hook' }), { deadAt: T0 - 30 * 60_000, reason: 'not-retryable' }),
    ]);
  });
  const firstId = async () => (await call(s.url, 'GET', `/v1/dlq?rule=${rule}&limit=1`)).body.entries[0].id as number;

  it('lists dead letters oldest first with their key, error and reason, but not the event', async () => {
    const res = await call(s.url, 'GET', `/v1/dlq?rule=${rule}`);
    expect(res.status).toBe(200);
    expect(res.body.next).toBeNull();
    expect(res.body.entries).toHaveLength(3);
    expect(res.body.entries[0]).toEqual({
      id: expect.any(Number),
      key: k(1, { rule, target: 'hook' }),
      offset: 10,
      attempts: 8,
      reason: 'max-attempts',
      error: { code: 'E_HTTP_STATUS', message: 'the target answered 503', details: { status: 503 } },
      deadAt: new Date(T0 - 3 * HOUR).toISOString(),
      eventType: 'order.created',
    });
  });

  it('pages with limit and the next cursor', async () => {
    const first = await call(s.url, 'GET', `/v1/dlq?rule=${rule}&limit=2`);
    expect(first.body.entries.map((e: any) => e.key.id)).toEqual(['ev-1', 'ev-2']);
    expect(first.body.next).toBe(first.body.entries[1].id);
    const second = await call(s.url, 'GET', `/v1/dlq?rule=${rule}&limit=2&after=${first.body.next}`);
    expect(second.body).toEqual({
      entries: [expect.objectContaining({ key: expect.objectContaining({ id: 'ev-3' }) })],
      next: null,
    });
  });

  it('filters by target and by time, as a duration ago or RFC 3339', async () => {
    expect(await ids('&target=hook')).toEqual(['ev-1', 'ev-3']);
    expect(await ids('&since=1h')).toEqual(['ev-3']);
    expect(await ids(`&until=${new Date(T0 - 2 * HOUR).toISOString()}`)).toEqual(['ev-1']);
    expect(await ids(`&since=150m&until=${T0 - HOUR}`)).toEqual(['ev-2']);
  });

  it('counts dead letters with the same filters', async () => {
    expect((await call(s.url, 'GET', `/v1/dlq/count?rule=${rule}`)).body).toEqual({ count: 3 });
    expect((await call(s.url, 'GET', `/v1/dlq/count?rule=${rule}&target=hook&since=2h`)).body).toEqual({ count: 1 });
  });

  it('rejects bad paging and time parameters naming the parameter', async () => {
    const limit = await call(s.url, 'GET', '/v1/dlq?limit=0');
    expect(limit.status).toBe(400);
    expect(limit.body.error).toMatchObject({ code: 'E_INVALID', problems: [{ pointer: '?limit' }] });
    const since = await call(s.url, 'GET', '/v1/dlq/count?since=yesterday');
    expect(since.status).toBe(400);
    expect(since.body.error.problems[0].pointer).toBe('?since');
    expect(since.body.error.message).toMatch(/RFC 3339/);
  });

  it('shows one dead letter with its event copy and error', async () => {
    const id = await firstId();
    const res = await call(s.url, 'GET', `/v1/dlq/${id}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, key: k(1, { rule, target: 'hook' }), reason: 'max-attempts' });
    expect(res.body.event).toEqual(eventFor(k(1, { rule, target: 'hook' })));
    expect(res.body.error.code).toBe('E_HTTP_STATUS');
  });

  it('answers 404 for an unknown id and 400 for an id that is not a number', async () => {
    const missing = await call(s.url, 'GET', '/v1/dlq/999999');
    expect(missing.status).toBe(404);
    expect(missing.body.error).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringContaining('999999') });
    const bad = await call(s.url, 'GET', '/v1/dlq/abc');
    expect(bad.status).toBe(400);
    expect(bad.body.error.problems).toEqual([{ pointer: ':id', message: expect.stringMatching(/positive integer/) }]);
  });

  it('redrives listed ids: the keys become pending, the entries leave the queue, unknown ids are reported', async () => {
    const [a, b] = (await call(s.url, 'GET', `/v1/dlq?rule=${rule}`)).body.entries.map((e: any) => e.id);
    const res = await call(s.url, 'POST', '/v1/dlq/redrive', { ids: [a, b, 999999] });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ redriven: 2, alreadyDelivered: 0, missing: [999999] });
    expect(await ids('')).toEqual(['ev-3']);
    expect(await s.store.statusOf([k(1, { rule, target: 'hook' }), k(3, { rule, target: 'hook' })])).toEqual([
      'pending',
      'dead',
    ]);
  });

  it('redrives by filter and counts keys delivered in the meantime apart', async () => {
    await s.store.apply([delivered(k(1, { rule, target: 'hook' }))]);
    const res = await call(s.url, 'POST', '/v1/dlq/redrive', { filter: { rule, target: 'hook' } });
    expect(res.body).toEqual({ redriven: 1, alreadyDelivered: 1, missing: [] });
    expect(await ids('')).toEqual(['ev-2']);
    expect(await s.store.statusOf([k(1, { rule, target: 'hook' }), k(3, { rule, target: 'hook' })])).toEqual([
      'delivered',
      'pending',
    ]);
  });

  it('redrives everything only when asked with all: true', async () => {
    const res = await call(s.url, 'POST', '/v1/dlq/redrive', { all: true });
    expect(res.status).toBe(200);
    expect(res.body.redriven).toBeGreaterThanOrEqual(3);
    expect((await call(s.url, 'GET', '/v1/dlq/count')).body.count).toBe(0);
  });

  it('redrives one entry by path and answers 404 once it is gone', async () => {
    const id = await firstId();
    expect((await call(s.url, 'POST', `/v1/dlq/${id}/redrive`)).body).toEqual({
      redriven: 1,
      alreadyDelivered: 0,
      missing: [],
    });
    const again = await call(s.url, 'POST', `/v1/dlq/${id}/redrive`);
    expect(again.status).toBe(404);
    expect(again.body.error.code).toBe('E_NOT_FOUND');
  });

  it('purges one entry with DELETE and keeps its key dead', async () => {
    const id = await firstId();
    const res = await call(s.url, 'DELETE', `/v1/dlq/${id}`);
    expect(res.status).toBe(204);
    expect(await ids('')).toEqual(['ev-2', 'ev-3']);
    expect(await s.store.statusOf([k(1, { rule, target: 'hook' })])).toEqual(['dead']);
    expect((await call(s.url, 'DELETE', `/v1/dlq/${id}`)).status).toBe(404);
  });

  it('purges by filter', async () => {
    const res = await call(s.url, 'POST', '/v1/dlq/purge', { filter: { rule, since: '1h' } });
    expect(res.body).toEqual({ purged: 1, missing: [] });
    expect(await ids('')).toEqual(['ev-1', 'ev-2']);
  });
});

describe('redrive and purge selectors', () => {
  let s: DlqServer;
  beforeAll(async () => {
    s = await startDlqServer();
    await s.store.apply([dead(key(1, { source: '/selectors' }))]);
  });
  afterAll(async () => s.stop());

  const cases: [string, unknown, string, RegExp][] = [
    ['an empty object', {}, '', /exactly one of/],
    ['two selectors at once', { ids: [1], all: true }, '', /not ids and all/],
    ['all: false', { all: false }, '/all', /must be true/],
    ['an empty filter', { filter: {} }, '/filter', /send \{ "all": true \}/],
    ['an unknown filter field', { filter: { rule: 'r', status: 'dead' } }, '/filter/status', /unknown field/],
    ['a bad filter time', { filter: { since: 'soon' } }, '/filter/since', /duration ago/],
    ['a filter rule that is not a string', { filter: { rule: 7 } }, '/filter/rule', /non-empty string/],
    ['an empty id list', { ids: [] }, '/ids', /1 to 1000/],
    ['an id that is not a positive integer', { ids: [1, 'two'] }, '/ids/1', /positive integer/],
    ['an unknown field', { all: true, force: true }, '/force', /unknown field/],
  ];

  for (const [what, body, pointer, message] of cases) {
    it(`rejects ${what} with 400 and a pointer to ${pointer || 'the body'}`, async () => {
      for (const path of ['/v1/dlq/redrive', '/v1/dlq/purge']) {
        const res = await call(s.url, 'POST', path, body);
        expect(res.status).toBe(400);
        expect(res.body.error.code).toBe('E_INVALID');
        expect(res.body.error.problems).toContainEqual({ pointer, message: expect.stringMatching(message) });
      }
      expect((await call(s.url, 'GET', '/v1/dlq/count')).body.count).toBe(1);
    });
  }

  it('rejects a request with no body: redriving or purging everything must be explicit', async () => {
    for (const path of ['/v1/dlq/redrive', '/v1/dlq/purge']) {
      const res = await call(s.url, 'POST', path);
      expect(res.status).toBe(400);
      expect(res.body.error.message).toMatch(/"all": true/);
    }
    expect((await call(s.url, 'GET', '/v1/dlq/count')).body.count).toBe(1);
  });
});

describe('GET /v1/events/:id/trace', () => {
  let s: DlqServer;
  beforeAll(async () => {
    s = await startDlqServer();
    const a = key(1, { source: '/shop', id: 'order/7' });
    const b = key(1, { source: '/billing', id: 'order/7' });
    await s.store.apply([
      trace(a, 'matched', { target: undefined, at: T0 }),
      trace(a, 'attempt', { attempt: 1, at: T0 + 5 }),
      trace(b, 'matched', { at: T0 + 6 }),
      trace(a, 'delivered', { attempt: 1, at: T0 + 9, detail: { outcome: { status: 200 } } }),
    ]);
  });
  afterAll(async () => s.stop());

  it('returns the trace of every event with that id, in the order written, times as RFC 3339', async () => {
    const res = await call(s.url, 'GET', `/v1/events/${encodeURIComponent('order/7')}/trace`);
    expect(res.status).toBe(200);
    expect(res.body.id).toBe('order/7');
    expect(res.body.entries.map((e: any) => [e.source, e.kind])).toEqual([
      ['/shop', 'matched'],
      ['/shop', 'attempt'],
      ['/billing', 'matched'],
      ['/shop', 'delivered'],
    ]);
    expect(res.body.entries[3]).toEqual({
      source: '/shop',
      id: 'order/7',
      offset: 10,
      at: new Date(T0 + 9).toISOString(),
      kind: 'delivered',
      rule: 'notify',
      target: 'http-0',
      attempt: 1,
      detail: { outcome: { status: 200 } },
    });
  });

  it('narrows the trace to one source', async () => {
    const res = await call(s.url, 'GET', `/v1/events/order%2F7/trace?source=${encodeURIComponent('/billing')}`);
    expect(res.body).toMatchObject({ id: 'order/7', source: '/billing' });
    expect(res.body.entries).toHaveLength(1);
  });

  it('answers 404 naming the possible reasons when there is no trace', async () => {
    const res = await call(s.url, 'GET', '/v1/events/nope/trace?source=/shop');
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('E_NOT_FOUND');
    expect(res.body.error.message).toMatch(/'nope' from source '\/shop'.*no such event.*matched no rule/);
  });

  it('still serves the event stream route beside the trace route', async () => {
    const res = await fetch(`${s.url}/v1/events/stream/trace`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as any).error.message).toMatch(/no trace for event 'stream'/);
  });
});

describe('scopes on dead letters and trace', () => {
  let s: DlqServer;
  let read: string;
  let admin: string;
  beforeAll(async () => {
    s = await startDlqServer({ authRequired: true });
    read = await s.token(['read']);
    admin = await s.token(['admin']);
    await s.store.apply([dead(key(1, { source: '/scopes' })), trace(key(1, { source: '/scopes' }), 'matched')]);
  });
  afterAll(async () => s.stop());
  const auth = (token: string) => ({ authorization: `Bearer ${token}` });

  it('lets a read token list, show, count and trace, but not redrive or purge', async () => {
    const list = await call(s.url, 'GET', '/v1/dlq', undefined, auth(read));
    expect(list.status).toBe(200);
    const id = list.body.entries[0].id;
    expect((await call(s.url, 'GET', `/v1/dlq/${id}`, undefined, auth(read))).status).toBe(200);
    expect((await call(s.url, 'GET', '/v1/dlq/count', undefined, auth(read))).status).toBe(200);
    expect((await call(s.url, 'GET', '/v1/events/ev-1/trace', undefined, auth(read))).status).toBe(200);
    for (const [method, path, body] of [
      ['POST', '/v1/dlq/redrive', { all: true }],
      ['POST', `/v1/dlq/${id}/redrive`, undefined],
      ['POST', '/v1/dlq/purge', { all: true }],
      ['DELETE', `/v1/dlq/${id}`, undefined],
    ] as const) {
      const res = await call(s.url, method, path, body, auth(read));
      expect(res.status).toBe(403);
      expect(res.body.error.message).toMatch(/'admin' scope/);
    }
    expect((await call(s.url, 'GET', '/v1/dlq/count', undefined, auth(read))).body.count).toBe(1);
  });

  it('asks for a token without one, and lets an admin token redrive', async () => {
    expect((await call(s.url, 'GET', '/v1/dlq')).status).toBe(401);
    const res = await call(s.url, 'POST', '/v1/dlq/redrive', { all: true }, auth(admin));
    expect(res.body).toEqual({ redriven: 1, alreadyDelivered: 0, missing: [] });
  });
});
