import { Writable } from 'node:stream';
import { type Logger, pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { resolveExecConfig } from '../../src/actions/exec/config.js';
import { createLogTarget } from '../../src/actions/log/target.js';
import { createTargetRegistry, validateAction } from '../../src/actions/registry.js';
import { systemClock } from '../../src/core/clock.js';
import { deliveryRequest, targetSpec } from './helpers.js';

function capture(): { logger: Logger; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk.toString());
      done();
    },
  });
  const logger = pino({ level: 'info' }, stream);
  return {
    logger,
    lines: () =>
      chunks
        .join('')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l)),
  };
}

describe('log action', () => {
  it('writes one line with the rule, target, event and payload, and succeeds', async () => {
    const { logger, lines } = capture();
    const target = createLogTarget({ logger });
    const outcome = await target.deliver(
      deliveryRequest(targetSpec('log', { level: 'warn', message: 'web is failing' }), { payload: { n: 1 } }),
    );
    expect(outcome).toEqual({ ok: true, detail: { level: 'warn' } });
    expect(lines()).toEqual([
      expect.objectContaining({
        level: 40,
        msg: 'web is failing',
        rule: 'page-on-5xx',
        target: 'log-0',
        event: { id: 'evt-1', type: 'http.response', source: 'app/web', subject: 'web-1', offset: 42 },
        payload: { n: 1 },
      }),
    ]);
  });

  it('logs at info with a default message', async () => {
    const { logger, lines } = capture();
    await createLogTarget({ logger }).deliver(deliveryRequest(targetSpec('log', {})));
    expect(lines()[0]).toMatchObject({ level: 30, msg: 'rule page-on-5xx matched http.response' });
  });

  it('validates level and message', () => {
    const target = createLogTarget({ logger: pino({ level: 'silent' }) });
    expect(target.validate({ level: 'error', message: 'x' })).toEqual([]);
    expect(target.validate({ level: 'debug', message: 3, extra: 1 }).map((p) => p.pointer)).toEqual([
      '/extra',
      '/level',
      '/message',
    ]);
  });
});

describe('target registry', () => {
  const registry = createTargetRegistry({
    logger: pino({ level: 'silent' }),
    publish: () => Promise.resolve([]),
    exec: resolveExecConfig({ allow: { echo: { command: '/bin/echo' } } }),
    clock: systemClock,
  });

  it('offers the built-in actions by name', () => {
    expect([...registry.keys()].sort()).toEqual(['emit', 'exec', 'http', 'log']);
    for (const [name, target] of registry) expect(target.action).toBe(name);
  });

  it('validates options through the action, and returns undefined for an unknown action', () => {
    const validate = validateAction(registry);
    expect(validate('http', { url: 'https://x.example' })).toEqual([]);
    expect(validate('http', {})).toEqual([{ pointer: '/url', message: expect.stringContaining('is required') }]);
    expect(validate('exec', { command: 'echo' })).toEqual([]);
    expect(validate('log', undefined)).toEqual([]);
    expect(validate('log', 'loud')).toEqual([{ pointer: '', message: 'must be an object of log options' }]);
    expect(validate('teleport', {})).toBeUndefined();
  });

  it('closes the http connection pool; later http deliveries fail as retryable', async () => {
    await registry.close();
    const outcome = await registry
      .get('http')!
      .deliver(deliveryRequest(targetSpec('http', { url: 'http://127.0.0.1:9/x' })));
    expect(outcome).toMatchObject({ ok: false, retry: 'yes', error: { code: 'E_HTTP_NETWORK' } });
  });
});
