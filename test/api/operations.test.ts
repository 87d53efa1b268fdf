import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Sink, type SinkRequest, startSink } from '../engine/harness.js';
import { call } from './dlq-harness.js';
import { event, post, startTestServer, type TestServer } from './harness.js';

const FILLERS = 1_200;
const AMOUNTS = [50, 150, 20, 250, 300];

function ruleManifest(name: string, spec: Record<string, unknown>): Record<string, unknown> {
  return { apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name }, spec };
}

/** Posts a backtest asking for the ndjson stream and returns the status, type and parsed lines. */
async function streamBacktest(url: string, query: string, manifest: unknown) {
  const res = await fetch(`${url}/v1/backtest?${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/x-ndjson' },
    body: JSON.stringify(manifest),
  });
  const text = await res.text();
  const type = res.headers.get('content-type') ?? '';
  const lines = type.includes('ndjson')
    ? text
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as Record<string, any>)
    : [];
  return {
    status: res.status,
    type,
    lines,
    body: type.includes('json') && lines.length === 0 ? JSON.parse(text) : undefined,
  };
}

describe('POST /v1/backtest', () => {
  let s: TestServer;
  let sink: Sink;
  const orderIds: string[] = [];
  const bigOrders = () =>
    ruleManifest('bt-big-orders', {
      match: { type: ['bt.order.created'], data: { amount: [{ numeric: ['>=', 100] }] } },
      targets: [
        {
          name: 'hook',
          action: 'http',
          with: { url: sink.url },
          input: { paths: { amount: '$.data.amount' }, template: '{"amount": <amount>}' },
        },
        { action: 'log' },
      ],
    });

  beforeAll(async () => {
    s = await startTestServer();
    sink = await startSink();
    const fillers = Array.from({ length: FILLERS }, () => event({ type: 'bt.filler', source: '/bt' }));
    expect((await post(s.url, fillers)).status).toBe(201);
    const orders = AMOUNTS.map((amount, i) =>
      event({ type: 'bt.order.created', source: '/shop', data: i === 1 ? { amount } : { amount, customer: `c${i}` } }),
    );
    orderIds.push(...orders.map((o) => o.id as string));
    expect((await post(s.url, orders)).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await sink?.close();
  });

  it('reports what the rule would have matched and done over the range, with samples', async () => {
    const before = Date.now();
    const res = await call(s.url, 'POST', '/v1/backtest?since=1h', bigOrders());
    const after = Date.now();
    expect(res.status).toBe(200);
    const report = res.body;
    expect(report).toMatchObject({ rule: 'bt-big-orders', scanned: FILLERS + AMOUNTS.length, matched: 3 });
    // since: an hour before the request; until: when the scan started (default: now).
    expect(Date.parse(report.since)).toBeGreaterThanOrEqual(before - 3_600_000);
    expect(Date.parse(report.until)).toBeGreaterThanOrEqual(Date.parse(report.since) + 3_600_000);
    expect(Date.parse(report.until)).toBeLessThanOrEqual(after);
    expect(report.elapsedMs).toEqual(expect.any(Number));
    expect(report.targets).toEqual([
      { target: 'hook', action: 'http', would: `POST ${sink.url}`, deliveries: 3, transformErrors: 0 },
      { target: 'log-1', action: 'log', would: 'log at info', deliveries: 3, transformErrors: 0 },
    ]);
    expect(report.samples.map((x: any) => x.id)).toEqual([orderIds[1], orderIds[3], orderIds[4]]);
    expect(report.samples.map((x: any) => x.payloads.hook)).toEqual([
      { amount: 150 },
      { amount: 250 },
      { amount: 300 },
    ]);
    const [first] = report.samples;
    expect(first).toMatchObject({ source: '/shop', type: 'bt.order.created', offset: expect.any(Number) });
    expect(first.payloads['log-1']).toMatchObject({ id: orderIds[1], data: { amount: 150 } });
    expect(Number.isNaN(Date.parse(first.appendedAt))).toBe(false);
  });

  it('describes only as many matches as samples asks for, and still counts them all', async () => {
    const res = await call(s.url, 'POST', '/v1/backtest?since=1h&samples=1', bigOrders());
    expect(res.body.matched).toBe(3);
    expect(res.body.samples.map((x: any) => x.id)).toEqual([orderIds[1]]);
    const none = await call(s.url, 'POST', '/v1/backtest?since=1h&samples=0', bigOrders());
    expect(none.body.samples).toEqual([]);
  });

  it('counts the matches whose input transform would fail, with the first error', async () => {
    const manifest = ruleManifest('bt-customers', {
      match: { type: ['bt.order.created'] },
      targets: [{ action: 'log', input: { paths: { who: '$.data.customer' }, template: 'customer <who>' } }],
    });
    const res = await call(s.url, 'POST', '/v1/backtest?since=1h', manifest);
    expect(res.body.matched).toBe(5);
    expect(res.body.targets).toEqual([
      expect.objectContaining({
        target: 'log-0',
        deliveries: 4,
        transformErrors: 1,
        firstTransformError: expect.stringContaining('who'),
      }),
    ]);
    const failed = res.body.samples.find((x: any) => x.id === orderIds[1]);
    expect(failed.payloads['log-0']).toEqual({ error: expect.stringContaining('who') });
  });

  it('scans only the range between since and until', async () => {
    const now = Date.now();
    const empty = await call(
      s.url,
      'POST',
      `/v1/backtest?since=${now - 7_200_000}&until=${now - 3_600_000}`,
      bigOrders(),
    );
    expect(empty.body).toMatchObject({ scanned: 0, matched: 0, samples: [] });
    expect(empty.body.since).toBe(new Date(now - 7_200_000).toISOString());
    expect(empty.body.until).toBe(new Date(now - 3_600_000).toISOString());
  });

  it('rejects an invalid manifest with 400 and a pointer for every problem, streaming or not', async () => {
    const bad = ruleManifest('bt-bad', {
      match: { type: ['x'], data: { amount: [{ numeric: ['>=', 'lots'] }] } },
      targets: [{ action: 'htp' }],
    });
    const plain = await call(s.url, 'POST', '/v1/backtest?since=1h', bad);
    expect(plain.status).toBe(400);
    expect(plain.body.error.code).toBe('E_INVALID');
    const pointers = plain.body.error.problems.map((p: any) => p.pointer);
    expect(pointers).toContain('/spec/targets/0/action');
    expect(pointers.some((p: string) => p.startsWith('/spec/match/data/amount/0/numeric'))).toBe(true);
    const streamed = await streamBacktest(s.url, 'since=1h', bad);
    expect(streamed.status).toBe(400);
    expect(streamed.body.error.problems).toEqual(plain.body.error.problems);
  });

  it('requires since, and until after since, naming the query parameter', async () => {
    const missing = await call(s.url, 'POST', '/v1/backtest', bigOrders());
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatchObject({
      code: 'E_INVALID',
      problems: [{ pointer: '?since', message: 'required' }],
    });
    expect(missing.body.error.message).toMatch(/since=24h/);
    const backwards = await call(s.url, 'POST', '/v1/backtest?since=1h&until=2h', bigOrders());
    expect(backwards.status).toBe(400);
    expect(backwards.body.error.problems[0].pointer).toBe('?until');
    const samples = await call(s.url, 'POST', '/v1/backtest?since=1h&samples=many', bigOrders());
    expect(samples.status).toBe(400);
    expect(samples.body.error.problems[0].pointer).toBe('?samples');
    const streamed = await streamBacktest(s.url, '', bigOrders());
    expect(streamed.status).toBe(400);
    expect(streamed.body.error.problems[0].pointer).toBe('?since');
  });

  it('streams progress lines over the whole range as ndjson, then the report', async () => {
    const { status, type, lines } = await streamBacktest(s.url, 'since=1h', bigOrders());
    expect(status).toBe(200);
    expect(type).toContain('application/x-ndjson');
    const total = FILLERS + AMOUNTS.length;
    const progress = lines.slice(0, -1).map((l) => l.progress);
    expect(progress).toEqual([
      { scanned: 1_000, total, matched: 0 },
      { scanned: total, total, matched: 3 },
    ]);
    const last = lines[lines.length - 1]!;
    expect(Object.keys(last)).toEqual(['report']);
    expect(last.report).toMatchObject({ rule: 'bt-big-orders', scanned: total, matched: 3 });
    expect(last.report.samples).toHaveLength(3);
  });

  it('executes nothing and stores nothing: the sink gets no request and the rule does not exist', async () => {
    const res = await call(s.url, 'POST', '/v1/backtest?since=1h', bigOrders());
    expect(res.body.matched).toBe(3);
    expect((await call(s.url, 'GET', '/v1/rules/bt-big-orders')).status).toBe(404);
    expect((await call(s.url, 'GET', `/v1/events/${orderIds[1]}/trace`)).status).toBe(404);
    // A real rule to the same sink, fed after the backtest: once its delivery has arrived, anything
    // the backtest had set off would have arrived as well.
    const control = ruleManifest('bt-control', {
      match: { type: ['bt.control'] },
      targets: [{ action: 'http', with: { url: sink.url } }],
    });
    expect((await call(s.url, 'PUT', '/v1/rules/bt-control', control)).status).toBe(201);
    const marker = event({ type: 'bt.control' });
    expect((await post(s.url, [marker])).status).toBe(201);
    await eventually(() => sink.requests.length > 0, 'the control delivery');
    expect(sink.requests.map((r) => r.eventId)).toEqual([marker.id]);
  });
});

describe('POST /v1/replay', () => {
  let s: TestServer;
  let sink: Sink;
  const byRule = (rule: string) => sink.requests.filter((r) => r.headers['homeostat-rule'] === rule);
  const replayed = (r: SinkRequest) => r.headers['homeostat-replayed'] === 'true';

  async function applyHttpRule(name: string, type: string): Promise<void> {
    const manifest = ruleManifest(name, {
      match: { type: [type] },
      targets: [{ name: 'hook', action: 'http', with: { url: sink.url } }],
    });
    expect((await call(s.url, 'PUT', `/v1/rules/${name}`, manifest)).status).toBe(201);
  }

  /** Publishes events of `type` and waits until `rules` each delivered all of them. */
  async function publishDelivered(type: string, count: number, rules: readonly string[]): Promise<string[]> {
    const events = Array.from({ length: count }, () => event({ type, source: '/replay' }));
    expect((await post(s.url, events)).status).toBe(201);
    for (const rule of rules) await eventually(() => byRule(rule).length === count, `${rule}: ${count} deliveries`);
    return events.map((e) => e.id as string);
  }

  beforeAll(async () => {
    s = await startTestServer();
    sink = await startSink();
  });
  afterAll(async () => {
    await s?.stop();
    await sink?.close();
  });

  it('re-delivers the range to the rule, marked Homeostat-Replayed, under new Idempotency-Keys', async () => {
    const since = Date.now();
    await applyHttpRule('rp-orders', 'rp.order');
    const ids = await publishDelivered('rp.order', 3, ['rp-orders']);
    const originals = byRule('rp-orders');
    expect(originals.some(replayed)).toBe(false);

    const res = await call(s.url, 'POST', `/v1/replay?since=${since}&rule=rp-orders`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ replayId: expect.any(String), matched: 3, submitted: 3 });
    expect(res.body.scanned).toBeGreaterThanOrEqual(3);
    await eventually(() => byRule('rp-orders').length === 6, 'three replayed deliveries');

    const again = byRule('rp-orders').slice(3);
    expect(again.every(replayed)).toBe(true);
    expect(again.map((r) => r.eventId).sort()).toEqual([...ids].sort());
    const keys = new Set(originals.map((r) => r.key));
    expect(new Set(again.map((r) => r.key)).size).toBe(3);
    expect(again.some((r) => keys.has(r.key))).toBe(false);

    const delivered = async () =>
      (await call(s.url, 'GET', `/v1/events/${ids[0]}/trace`)).body.entries.filter((e: any) => e.kind === 'delivered');
    await eventually(async () => (await delivered()).length === 2, 'the replayed delivery in the trace');
    expect((await delivered()).map((e: any) => e.detail?.replayed === true)).toEqual([false, true]);
  });

  it('gives every replay its own keys, so a second replay delivers again', async () => {
    const since = Date.now();
    await applyHttpRule('rp-twice', 'rp.twice');
    await publishDelivered('rp.twice', 1, ['rp-twice']);
    const first = await call(s.url, 'POST', `/v1/replay?since=${since}&rule=rp-twice`);
    const second = await call(s.url, 'POST', `/v1/replay?since=${since}&rule=rp-twice`);
    expect(first.body.replayId).not.toBe(second.body.replayId);
    await eventually(() => byRule('rp-twice').length === 3, 'two replayed deliveries');
    expect(new Set(byRule('rp-twice').map((r) => r.key)).size).toBe(3);
  });

  it('replays to the named rule only, leaving other rules that match the same events alone', async () => {
    const since = Date.now();
    await applyHttpRule('rp-chosen', 'rp.shipment');
    await applyHttpRule('rp-other', 'rp.shipment');
    await publishDelivered('rp.shipment', 2, ['rp-chosen', 'rp-other']);

    const res = await call(s.url, 'POST', `/v1/replay?since=${since}&rule=rp-chosen`);
    expect(res.body).toMatchObject({ matched: 2, submitted: 2 });
    await eventually(() => byRule('rp-chosen').filter(replayed).length === 2, 'replayed to rp-chosen');
    // Replay submits all its deliveries at once; once rp-chosen's have arrived, rp-other's would have too.
    const marker = await publishDelivered('rp.shipment', 1, []);
    await eventually(() => byRule('rp-other').length === 3, 'the marker delivery to rp-other');
    expect(byRule('rp-other').filter(replayed)).toEqual([]);
    expect(byRule('rp-other')[2]!.eventId).toBe(marker[0]);
  });

  it('without a rule, replays to every enabled rule and not to disabled ones', async () => {
    const since = Date.now();
    await applyHttpRule('rp-all-on', 'rp.all');
    await applyHttpRule('rp-all-off', 'rp.all');
    expect((await call(s.url, 'POST', '/v1/rules/rp-all-off/disable')).status).toBe(200);
    await publishDelivered('rp.all', 2, ['rp-all-on']);

    const res = await call(s.url, 'POST', `/v1/replay?since=${since}`);
    expect(res.body).toMatchObject({ matched: 2, submitted: 2 });
    await eventually(() => byRule('rp-all-on').filter(replayed).length === 2, 'replayed to rp-all-on');
    expect(byRule('rp-all-off')).toEqual([]);
  });

  it('answers 404 for an unknown rule and 400 without since', async () => {
    const unknown = await call(s.url, 'POST', '/v1/replay?since=1h&rule=no-such-rule');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ code: 'E_NOT_FOUND', message: expect.stringContaining('no-such-rule') });
    const missing = await call(s.url, 'POST', '/v1/replay?rule=rp-orders');
    expect(missing.status).toBe(400);
    expect(missing.body.error.problems).toEqual([{ pointer: '?since', message: 'required' }]);
  });
});
