/**
 * The server's logs: structured JSON lines (one object a line) with the ids that tie a line to the
 * causal record, or human-readable lines with `pretty`. Real `homeostat up` processes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { callApi, until } from '../infra/helpers.js';
import { removeDir, requireBuild, type RunningServer, startServer, tempDir } from './helpers.js';

let dir: string | undefined;
let server: (RunningServer & { stderr: () => string }) | undefined;

afterEach(async () => {
  await server?.stop();
  await removeDir(dir);
  server = undefined;
});

describe('server logs', () => {
  it('writes JSON lines; an automated action is logged with its event, causation and correlation ids', async () => {
    requireBuild();
    dir = await tempDir('logging');
    server = await startServer(dir, [], { HOMEOSTAT_LOG_LEVEL: 'info', HOMEOSTAT_LOG_FORMAT: 'json' });
    const rule = {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'scale-missing' },
      spec: { match: { type: ['test.scale'] }, targets: [{ action: 'scale', with: { to: 3 } }] },
    };
    expect((await callApi(server.url, 'PUT', '/v1/rules/scale-missing', rule)).status).toBe(201);
    const trigger = {
      specversion: '1.0',
      id: 'trigger-1',
      source: '/tests',
      type: 'test.scale',
      subject: 'instancegroup/nowhere',
    };
    expect((await callApi(server.url, 'POST', '/v1/events', trigger)).status).toBe(201);
    const lines = await until(async () => {
      const parsed = server!
        .stderr()
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      return parsed.some((l) => l.policy === 'Rule/scale-missing') && parsed;
    }, 'the action in the log');
    const ready = lines.find((l) => l.msg === 'homeostat ready');
    expect(ready).toMatchObject({ level: 30, service: 'homeostat' });
    const action = lines.find((l) => l.policy === 'Rule/scale-missing')!;
    // Failed: there is no such group. Warn level, with the ids to follow it up.
    expect(action).toMatchObject({
      level: 40,
      causationId: 'trigger-1',
      // The chain shares its root's correlation id: the trigger had none, so it is the trigger's id.
      correlationId: 'trigger-1',
      action: 'scale',
      outcome: 'failed',
    });
    expect(action.eventId).toBe(action.actionId);
    expect(String(action.msg)).toContain('Rule/scale-missing scale instancegroup/nowhere');
  });

  it('writes human-readable lines with the pretty format', async () => {
    requireBuild();
    dir = await tempDir('logging-pretty');
    server = await startServer(dir, [], { HOMEOSTAT_LOG_LEVEL: 'info', HOMEOSTAT_LOG_FORMAT: 'pretty' });
    const text = await until(async () => server!.stderr().includes('homeostat ready') && server!.stderr(), 'ready');
    const line = text.split('\n').find((l) => l.includes('homeostat ready'))!;
    expect(line).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: homeostat ready/);
    expect(() => JSON.parse(line)).toThrow();
  });
});
