import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../../src/auth/tokens.js';
import { openTestTokenStore, startTestServer, type TestServer } from './harness.js';

interface Reply {
  status: number;
  body: any;
}

let s: TestServer;

beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.stop();
});

async function call(
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
  headers: Record<string, string> = {},
  url = s.url,
): Promise<Reply> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': contentType, ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

let n = 0;
function uniqueName(prefix: string): string {
  n += 1;
  return `${prefix}-${process.pid}-${n}`;
}

function rule(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name },
    spec: { match: { type: ['host.cpu.high'] }, targets: [{ action: 'log' }], ...spec },
  };
}

describe('rules API: writes', () => {
  it('creates with PUT (201), answers an identical PUT as unchanged and a new one as configured (200)', async () => {
    const name = uniqueName('put');
    const created = await call('PUT', `/v1/rules/${name}`, rule(name));
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ result: 'created', name, enabled: true, targets: 1, generation: 1 });
    const same = await call('PUT', `/v1/rules/${name}`, rule(name));
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ result: 'unchanged', generation: 1 });
    const changed = await call('PUT', `/v1/rules/${name}`, rule(name, { description: 'now with words' }));
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ result: 'configured', generation: 2, description: 'now with words' });
  });

  it('creates with POST (201) and refuses a second POST of the same name with 409 E_CONFLICT', async () => {
    const name = uniqueName('post');
    expect((await call('POST', '/v1/rules', rule(name))).status).toBe(201);
    const again = await call('POST', '/v1/rules', rule(name));
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('E_CONFLICT');
    expect(again.body.error.message).toContain(`PUT /v1/rules/${name}`);
  });

  it('accepts YAML bodies under each YAML media type', async () => {
    for (const type of ['application/yaml', 'application/x-yaml', 'text/yaml; charset=utf-8']) {
      const name = uniqueName('yaml');
      const yaml = `apiVersion: homeostat/v1\nkind: Rule\nmetadata:\n  name: ${name}\nspec:\n  match:\n    type: [deploy.done]\n  targets:\n    - action: log\n      retry: { maxAttempts: 2 }\n`;
      const res = await call('PUT', `/v1/rules/${name}`, yaml, type);
      expect(res.status).toBe(201);
      expect(res.body.spec.targets[0].retry.maxAttempts).toBe(2);
    }
  });

  it('rejects malformed YAML and a YAML body holding two documents with 400', async () => {
    const bad = await call('PUT', '/v1/rules/x', 'spec: [unclosed', 'application/yaml');
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toMatch(/not valid YAML/);
    const two = await call('PUT', '/v1/rules/x', 'a: 1\n---\nb: 2\n', 'application/yaml');
    expect(two.status).toBe(400);
    expect(two.body.error.message).toMatch(/exactly one YAML document/);
  });

  it('treats an empty JSON or YAML body as no body', async () => {
    const name = uniqueName('empty');
    await call('PUT', `/v1/rules/${name}`, rule(name));
    expect((await call('POST', `/v1/rules/${name}/disable`, '')).status).toBe(200);
    const put = await call('PUT', `/v1/rules/${name}`, '', 'application/yaml');
    expect(put.status).toBe(400);
    expect(put.body.error.problems).toEqual([
      { pointer: '', message: expect.stringMatching(/^required: a manifest object/) },
    ]);
  });

  it('takes the name from the URL when the manifest has none', async () => {
    const name = uniqueName('url');
    const { metadata: _drop, ...doc } = rule('ignored');
    const res = await call('PUT', `/v1/rules/${name}`, doc);
    expect(res.status).toBe(201);
    expect(res.body.manifest.metadata).toEqual({ name });
  });

  it('rejects a metadata.name that differs from the URL with 400 naming both', async () => {
    const res = await call('PUT', '/v1/rules/in-url', rule('in-body'));
    expect(res.status).toBe(400);
    expect(res.body.error.problems).toEqual([
      { pointer: '/metadata/name', message: expect.stringMatching(/"in-body" differs from 'in-url'/) },
    ]);
  });

  it('rejects an invalid manifest with 400 E_INVALID listing every problem with its pointer', async () => {
    const name = uniqueName('bad');
    const doc = rule(name, {
      match: { data: { status: [{ numeric: ['>=', 'x'] }] } },
      targets: [{ action: 'http', with: {}, retry: { maxAtempts: 3 } }, { action: 'pager' }],
    });
    const res = await call('PUT', `/v1/rules/${name}`, doc);
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_INVALID');
    const pointers = res.body.error.problems.map((p: { pointer: string }) => p.pointer);
    expect(pointers).toEqual(
      expect.arrayContaining([
        '/spec/targets/0/with/url',
        '/spec/targets/0/retry/maxAtempts',
        '/spec/targets/1/action',
      ]),
    );
    expect(pointers.some((p: string) => p.startsWith('/spec/match/data/status/0'))).toBe(true);
    const action = res.body.error.problems.find((p: any) => p.pointer === '/spec/targets/1/action');
    expect(action.message).toMatch(
      /known actions: emit, exec, hold, http, log, patch, policy, release, replace, restart, revert, scale, stop, workflow/,
    );
    expect((await call('GET', `/v1/rules/${name}`)).status).toBe(404);
  });

  it('rejects a body nested deeper than the limit', async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 100; i++) deep = { a: deep };
    const res = await call('PUT', '/v1/rules/deep', rule('deep', { match: deep }));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_TOO_DEEP');
  });

  it('deletes a rule (204), then answers 404 naming how to list rules', async () => {
    const name = uniqueName('del');
    await call('PUT', `/v1/rules/${name}`, rule(name));
    expect((await call('DELETE', `/v1/rules/${name}`)).status).toBe(204);
    const again = await call('DELETE', `/v1/rules/${name}`);
    expect(again.status).toBe(404);
    expect(again.body.error.message).toMatch(/GET \/v1\/rules/);
  });

  it('disables and enables a rule', async () => {
    const name = uniqueName('toggle');
    await call('PUT', `/v1/rules/${name}`, rule(name));
    const off = await call('POST', `/v1/rules/${name}/disable`);
    expect(off.status).toBe(200);
    expect(off.body).toMatchObject({ enabled: false, generation: 2 });
    expect(off.body.manifest.spec.enabled).toBe(false);
    const on = await call('POST', `/v1/rules/${name}/enable`);
    expect(on.body).toMatchObject({ enabled: true, generation: 3 });
    expect((await call('POST', '/v1/rules/no-such-rule/enable')).status).toBe(404);
  });
});

describe('rules API: reads', () => {
  it('lists summaries ordered by name', async () => {
    const b = uniqueName('list-b');
    const a = uniqueName('list-a');
    await call('PUT', `/v1/rules/${b}`, rule(b, { description: 'second', enabled: false }));
    await call('PUT', `/v1/rules/${a}`, rule(a, { targets: [] }));
    const res = await call('GET', '/v1/rules');
    expect(res.status).toBe(200);
    const names = res.body.rules.map((r: { name: string }) => r.name);
    expect(names).toEqual([...names].sort());
    expect(res.body.rules.find((r: any) => r.name === b)).toEqual({
      name: b,
      enabled: false,
      description: 'second',
      targets: 1,
      generation: 1,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(res.body.rules.find((r: any) => r.name === a)).toMatchObject({ targets: 0, enabled: true });
  });

  it('gets one rule with its manifest as applied and the spec with defaults filled in', async () => {
    const name = uniqueName('get');
    const doc = rule(name, {
      targets: [{ action: 'http', with: { url: 'http://127.0.0.1:9/hook' }, ordered: true, timeout: '2s' }],
    });
    await call('PUT', `/v1/rules/${name}`, doc);
    const res = await call('GET', `/v1/rules/${name}`);
    expect(res.status).toBe(200);
    expect(res.body.manifest).toEqual(doc);
    expect(res.body.spec).toEqual({
      name,
      enabled: true,
      match: { type: ['host.cpu.high'] },
      targets: [
        {
          id: 'http-0',
          action: 'http',
          with: { url: 'http://127.0.0.1:9/hook' },
          retry: { maxAttempts: 8, maxAgeMs: 86_400_000, initialDelayMs: 100, maxDelayMs: 60_000 },
          concurrency: 1,
          ordered: true,
          circuitBreaker: { failureThreshold: 10, cooldownMs: 30_000 },
          timeoutMs: 2000,
        },
      ],
    });
    const missing = await call('GET', '/v1/rules/never-made');
    expect(missing.status).toBe(404);
    expect(missing.body.error.message).toMatch(/no rule named 'never-made'.*homeostat get rules/);
  });
});

describe('rules API: test', () => {
  const event = { specversion: '1.0', id: '1', source: '/lb', type: 'http.response', data: { status: 503 } };

  it('answers 200 with matched true, or false with the failing part of the pattern', async () => {
    const hit = await call('POST', '/v1/rules/test', {
      pattern: { data: { status: [{ numeric: ['>=', 500] }] } },
      event,
    });
    expect(hit).toEqual({ status: 200, body: { matched: true, failures: [] } });
    const miss = await call('POST', '/v1/rules/test', { pattern: { type: ['http.request'] }, event });
    expect(miss.status).toBe(200);
    expect(miss.body.matched).toBe(false);
    expect(miss.body.failures).toEqual([
      { pointer: '/pattern/type', path: 'type', reason: expect.stringContaining('http.response') },
    ]);
  });

  it('accepts a YAML body', async () => {
    const yaml = 'pattern:\n  source: [{ prefix: /l }]\nevent:\n  source: /lb\n  type: t\n';
    expect((await call('POST', '/v1/rules/test', yaml, 'application/yaml')).body.matched).toBe(true);
  });

  it('answers 400 for an invalid pattern and a non-object event, with pointers', async () => {
    const res = await call('POST', '/v1/rules/test', { pattern: { type: 'x' }, event: 'nope' });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('E_INVALID');
    expect(res.body.error.problems.map((p: any) => p.pointer)).toEqual(['/pattern/type', '/event']);
  });
});

describe('rules API: persistence and scopes', () => {
  it('keeps rules across a restart', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-rules-api-'));
    try {
      const first = await startTestServer({}, dir);
      await call('PUT', '/v1/rules/kept', rule('kept'), undefined, {}, first.url);
      await call('POST', '/v1/rules/kept/disable', undefined, undefined, {}, first.url);
      await first.stop();
      const second = await startTestServer({}, dir);
      try {
        const res = await call('GET', '/v1/rules/kept', undefined, undefined, {}, second.url);
        expect(res.body).toMatchObject({ name: 'kept', enabled: false, generation: 2 });
      } finally {
        await second.stop();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets a read token list and test rules but not write them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'homeostat-rules-auth-'));
    const { store, close } = await openTestTokenStore(dir);
    const reader = issueToken('reader', ['read'], Date.now());
    const admin = issueToken('admin', ['admin'], Date.now());
    await store.add(reader.record);
    await store.add(admin.record);
    await close();
    const server = await startTestServer({ auth: { required: true } }, dir);
    const as = (token: string) => ({ authorization: `Bearer ${token}` });
    try {
      const denied = await call('PUT', '/v1/rules/r', rule('r'), undefined, as(reader.token), server.url);
      expect(denied.status).toBe(403);
      expect(denied.body.error.message).toMatch(/'admin' scope/);
      expect((await call('PUT', '/v1/rules/r', rule('r'), undefined, as(admin.token), server.url)).status).toBe(201);
      expect((await call('GET', '/v1/rules', undefined, undefined, as(reader.token), server.url)).status).toBe(200);
      const test = { pattern: { type: ['a'] }, event: { type: 'a' } };
      expect((await call('POST', '/v1/rules/test', test, undefined, as(reader.token), server.url)).status).toBe(200);
      expect((await call('GET', '/v1/rules', undefined, undefined, {}, server.url)).status).toBe(401);
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
