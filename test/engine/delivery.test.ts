import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { eventually, type Sink, startEngine, startSink, type TestEngine } from './harness.js';

let sink: Sink;
let t: TestEngine;

beforeEach(async () => {
  sink = await startSink();
  t = await startEngine();
});

afterEach(async () => {
  await t.stop();
  await t.remove();
  await sink.close();
});

const httpRule = (name: string, target: Record<string, unknown> = {}, match: unknown = { type: ['test.event'] }) => ({
  metadata: { name },
  spec: { match, targets: [{ name: 'hook', action: 'http', with: { url: sink.url }, ...target }] },
});

describe('delivery', () => {
  it('delivers each matched event to an http target once, with an Idempotency-Key, and records the trace', async () => {
    t.apply(httpRule('r1'));
    await t.publish([{ id: 'a1' }, { id: 'a2', type: 'other.event' }, { id: 'a3' }]);
    await eventually(() => sink.requests.length >= 2, 'two deliveries');
    expect(sink.requests.map((r) => r.eventId).sort()).toEqual(['a1', 'a3']);
    expect(new Set(sink.requests.map((r) => r.key)).size).toBe(2);
    await eventually(async () => (await t.engine.admin.trace('a1')).some((e) => e.kind === 'delivered'), 'trace');
    const kinds = (await t.engine.admin.trace('a1')).map((e) => e.kind);
    expect(kinds).toEqual(['matched', 'attempt', 'delivered']);
  });

  it('retries a failing target with backoff until it succeeds', async () => {
    t.apply(httpRule('r2', { retry: { maxAttempts: 5, backoff: { initial: '5ms', max: '20ms' } } }));
    sink.respond = (req, res) => res.writeHead(req.attempt < 3 ? 503 : 200).end();
    await t.publish([{ id: 'b1' }]);
    await eventually(() => sink.requests.some((r) => r.attempt === 3), 'third attempt');
    await eventually(async () => (await t.engine.admin.trace('b1')).some((e) => e.kind === 'delivered'), 'delivered');
    const trace = await t.engine.admin.trace('b1');
    expect(trace.filter((e) => e.kind === 'retry-scheduled')).toHaveLength(2);
    expect(new Set(sink.requests.map((r) => r.key)).size).toBe(1);
  });

  it('dead-letters after maxAttempts with the last error, and a redrive delivers it', async () => {
    t.apply(httpRule('r3', { retry: { maxAttempts: 2, backoff: { initial: '1ms', max: '5ms' } } }));
    sink.respond = (_req, res) => res.writeHead(500).end('boom');
    await t.publish([{ id: 'c1' }]);
    await eventually(async () => (await t.engine.admin.countDead()) === 1, 'dead letter');
    const [letter] = await t.engine.admin.listDead({});
    expect(letter).toMatchObject({
      key: { id: 'c1', rule: 'r3', target: 'hook' },
      attempts: 2,
      reason: 'max-attempts',
    });
    expect(letter!.error.message).toMatch(/500/);
    expect(letter!.event.id).toBe('c1');
    sink.respond = (_req, res) => res.writeHead(200).end();
    const result = await t.engine.admin.redrive({ ids: [letter!.id] });
    expect(result).toMatchObject({ redriven: 1, alreadyDelivered: 0 });
    await eventually(
      async () => (await t.engine.admin.trace('c1')).some((e) => e.kind === 'delivered'),
      'redriven delivery',
    );
    expect(await t.engine.admin.countDead()).toBe(0);
  });

  it('does not retry a 4xx answer: dead-letters at once as not-retryable', async () => {
    t.apply(httpRule('r4'));
    sink.respond = (_req, res) => res.writeHead(400).end('bad');
    await t.publish([{ id: 'd1' }]);
    await eventually(async () => (await t.engine.admin.countDead()) === 1, 'dead letter');
    expect((await t.engine.admin.listDead({}))[0]!.reason).toBe('not-retryable');
    expect(sink.requests).toHaveLength(1);
  });

  it('dead-letters with a clear error when the input transform refers to a missing field', async () => {
    t.apply(httpRule('r5', { input: { paths: { host: '$.data.host' }, template: '{"h": <host>}' } }));
    await t.publish([{ id: 'e1', data: { other: 1 } }]);
    await eventually(async () => (await t.engine.admin.countDead()) === 1, 'dead letter');
    const [letter] = await t.engine.admin.listDead({});
    expect(letter!.reason).toBe('transform-failed');
    expect(letter!.error.message).toMatch(/data\.host/);
    expect(sink.requests).toHaveLength(0);
  });

  it('delivers per partition key in log order in ordered mode, even when some attempts fail', async () => {
    t.apply(
      httpRule('r6', {
        ordered: true,
        concurrency: 4,
        retry: { maxAttempts: 10, backoff: { initial: '1ms', max: '5ms' } },
      }),
    );
    // Every fourth event (over all three keys) fails its first two attempts. Failing by event, not
    // by a count of calls, keeps one key from always drawing the failing turn while the lanes run
    // in step (it would then be dead-lettered).
    const failing = (eventId: string) => Number(eventId.slice(1)) % 4 === 1;
    let calls = 0;
    sink.respond = (req, res) => {
      calls++;
      res.writeHead(failing(req.eventId) && req.attempt <= 2 ? 503 : 200).end();
    };
    const events: { id: string; partitionkey: string; data: { i: number } }[] = [];
    for (let i = 0; i < 30; i++) events.push({ id: `o${i}`, partitionkey: `k${i % 3}`, data: { i } });
    await t.publish(events);
    await eventually(
      () =>
        new Set(sink.requests.filter((r) => r.headers['homeostat-attempt']).map((r) => r.eventId)).size === 30 &&
        calls >= 30,
      'all delivered',
    );
    await eventually(
      async () =>
        (await Promise.all(events.map((e) => t.engine.admin.trace(e.id)))).every((tr) =>
          tr.some((x) => x.kind === 'delivered'),
        ),
      'all delivered in trace',
    );
    expect(calls).toBe(30 + 2 * events.filter((e) => failing(e.id)).length);
    for (const k of ['k0', 'k1', 'k2']) {
      const delivered: number[] = [];
      for (const r of sink.requests) {
        const body = r.body as { partitionkey: string; data: { i: number } };
        if (body.partitionkey !== k) continue;
        if (!delivered.includes(body.data.i)) delivered.push(body.data.i);
      }
      expect(delivered).toEqual([...delivered].sort((a, b) => a - b));
    }
  });

  it('pauses a failing target with the circuit breaker and loses nothing', async () => {
    t.apply(
      httpRule('r7', {
        circuitBreaker: { failures: 2, cooldown: '50ms' },
        retry: { maxAttempts: 50, backoff: { initial: '1ms', max: '10ms' } },
      }),
    );
    let healthy = false;
    sink.respond = (_req, res) => res.writeHead(healthy ? 200 : 503).end();
    await t.publish([{ id: 'f1' }, { id: 'f2' }, { id: 'f3' }]);
    await eventually(() => sink.requests.length >= 4, 'some failures');
    healthy = true;
    await eventually(async () => {
      const traces = await Promise.all(['f1', 'f2', 'f3'].map((id) => t.engine.admin.trace(id)));
      return traces.every((tr) => tr.some((e) => e.kind === 'delivered'));
    }, 'all delivered after the breaker closes');
    expect(await t.engine.admin.countDead()).toBe(0);
  });

  it('applies rule changes while running: a disabled or deleted rule stops matching', async () => {
    const spec = t.apply(httpRule('r8'));
    const routed = (n: number) => eventually(() => t.engine.router.stats.routed >= n, `${n} events routed`);
    await t.publish([{ id: 'g1' }]);
    await eventually(() => sink.requests.length === 1, 'first delivery');
    t.engine.setRule('r8', { ...spec, enabled: false });
    await t.publish([{ id: 'g2' }]);
    await routed(2);
    t.engine.setRule('r8', spec);
    await t.publish([{ id: 'g3' }]);
    await routed(3);
    t.engine.setRule('r8', undefined);
    await t.publish([{ id: 'g4' }]);
    await routed(4);
    t.apply(httpRule('marker', {}, { type: ['marker'] }));
    await t.publish([{ id: 'g5', type: 'marker' }]);
    await eventually(() => sink.requests.some((r) => r.eventId === 'g5'), 'marker delivered');
    expect(sink.requests.map((r) => r.eventId)).toEqual(['g1', 'g3', 'g5']);
  });
});

describe('router offset', () => {
  it('does not commit past an event while one of its deliveries has no durable outcome', async () => {
    let releaseSlow: () => void = () => undefined;
    sink.respond = (req, res) => {
      if (req.headers['homeostat-target'] === 'slow') releaseSlow = () => res.writeHead(200).end();
      else res.writeHead(req.attempt < 3 ? 503 : 200).end();
    };
    t.apply({
      metadata: { name: 'two' },
      spec: {
        match: { type: ['test.event'] },
        targets: [
          {
            name: 'flaky',
            action: 'http',
            with: { url: sink.url },
            retry: { backoff: { initial: '1ms', max: '2ms' } },
          },
          { name: 'slow', action: 'http', with: { url: sink.url }, timeout: '1m' },
        ],
      },
    });
    await t.publish([{ id: 'h1' }]);
    const [record] = await t.log.read({ limit: 1_000 }).then((rs) => rs.filter((r) => r.event.id === 'h1'));
    await eventually(
      async () => (await t.engine.admin.trace('h1')).some((e) => e.kind === 'delivered'),
      'flaky delivered',
    );
    // Several commit intervals pass while the slow delivery is still in flight.
    await new Promise((r) => setTimeout(r, 700));
    expect(await t.log.committedOffset('router')).toBeLessThanOrEqual(record!.offset);
    releaseSlow();
    await eventually(
      async () => ((await t.log.committedOffset('router')) ?? 0) > record!.offset,
      'offset committed past the event',
    );
  });
});

describe('limits and restarts', () => {
  it('spaces deliveries by the target rate limit', async () => {
    t.apply(httpRule('rl', { rateLimit: { perSecond: 20, burst: 1 } }));
    const arrivals: number[] = [];
    sink.respond = (_req, res) => {
      arrivals.push(performance.now());
      res.writeHead(200).end();
    };
    await t.publish(Array.from({ length: 8 }, (_, i) => ({ id: `rl${i}` })));
    await eventually(() => arrivals.length === 8, 'eight deliveries');
    // 1 token at once, then one per 50 ms: 7 refills take at least 350 ms (a lower bound only).
    expect(arrivals[7]! - arrivals[0]!).toBeGreaterThanOrEqual(330);
  });

  it('resumes a pending retry after a restart and does not deliver a delivered event again', async () => {
    t.apply(httpRule('rs', { retry: { maxAttempts: 5, backoff: { initial: '300ms', max: '300ms' } } }));
    await t.publish([{ id: 'ok1' }]);
    await eventually(() => sink.requests.length === 1, 'first delivered');
    sink.respond = (_req, res) => res.writeHead(503).end();
    await t.publish([{ id: 'retry1' }]);
    await eventually(
      async () => (await t.engine.admin.trace('retry1')).some((e) => e.kind === 'retry-scheduled'),
      'retry scheduled',
    );
    await t.stop();
    sink.respond = (_req, res) => res.writeHead(200).end();
    const before = sink.requests.length;
    t = await startEngine(t.dir, [
      httpRule('rs', { retry: { maxAttempts: 5, backoff: { initial: '300ms', max: '300ms' } } }),
    ]);
    await eventually(
      async () => (await t.engine.admin.trace('retry1')).some((e) => e.kind === 'delivered'),
      'retry delivered after restart',
    );
    const after = sink.requests.slice(before).map((r) => r.eventId);
    expect(after).toEqual(['retry1']);
    expect(new Set(sink.requests.filter((r) => r.eventId === 'ok1').map((r) => r.key)).size).toBe(1);
    expect(sink.requests.filter((r) => r.eventId === 'ok1')).toHaveLength(1);
  });
});

describe('chaining', () => {
  it('chains rules through the log: emit sets causationid and the trace links the emitted event', async () => {
    t.apply({
      metadata: { name: 'escalate' },
      spec: {
        match: { type: ['cpu.high'] },
        targets: [{ name: 'raise', action: 'emit', with: { type: 'incident.opened' } }],
      },
    });
    t.apply(httpRule('page', {}, { type: ['incident.opened'] }));
    await t.publish([{ id: 'cpu1', type: 'cpu.high', subject: 'web-1' }]);
    await eventually(() => sink.requests.length === 1, 'incident delivered');
    const incident = sink.requests[0]!.body as {
      type: string;
      causationid: string;
      correlationid: string;
      subject: string;
    };
    expect(incident).toMatchObject({
      type: 'incident.opened',
      causationid: 'cpu1',
      correlationid: 'cpu1',
      subject: 'web-1',
    });
    await eventually(
      async () => (await t.engine.admin.trace('cpu1')).some((e) => e.kind === 'emitted'),
      'emitted trace',
    );
    const emitted = (await t.engine.admin.trace('cpu1')).find((e) => e.kind === 'emitted')!;
    expect(emitted.detail).toMatchObject({ events: [{ id: sink.requests[0]!.eventId }] });
  });
});
