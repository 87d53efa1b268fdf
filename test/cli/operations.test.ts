import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../api/dlq-harness.js';
import { event, post, startTestServer, type TestServer } from '../api/harness.js';
import { eventually, type Sink, startSink } from '../engine/harness.js';
import { removeDir, requireBuild, runCli, tempDir } from './helpers.js';

const ISO = '\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d\\.\\d{3}Z';

function ruleYaml(name: string, url: string, action = 'http'): string {
  return [
    'apiVersion: homeostat/v1',
    'kind: Rule',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  match:',
    '    type: [cli.order.created]',
    '    data:',
    '      amount: [{ numeric: [">=", 100] }]',
    '  targets:',
    '    - name: hook',
    `      action: ${action}`,
    `      with: { url: "${url}" }`,
    '      input:',
    '        paths: { amount: $.data.amount }',
    '        template: \'{"amount": <amount>}\'',
    '',
  ].join('\n');
}

describe('homeostat backtest', () => {
  let s: TestServer;
  let sink: Sink;
  let dir: string;
  let ruleFile: string;
  const ids: string[] = [];
  const cli = (...args: string[]) => runCli([...args, '--url', s.url]);

  beforeAll(async () => {
    requireBuild();
    s = await startTestServer();
    sink = await startSink();
    dir = await tempDir('backtest');
    ruleFile = join(dir, 'big-orders.yaml');
    await writeFile(ruleFile, ruleYaml('cli-big-orders', sink.url));
    const events = [50, 150, 20, 250, 10].map((amount) => event({ type: 'cli.order.created', data: { amount } }));
    ids.push(...events.map((e) => e.id as string));
    expect((await post(s.url, events)).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await sink?.close();
    await removeDir(dir);
  });

  it('prints what the rule would have matched and done, with progress on stderr, and runs nothing', async () => {
    const res = await cli('backtest', '-f', ruleFile, '--since', '1h');
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('scanned 5 of ~5 events (100%), 2 matched\n');
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(
      new RegExp(`^rule cli-big-orders: 2 of 5 events matched between ${ISO} and ${ISO} \\(\\d+ ms\\)$`),
    );
    expect(lines[1]).toBe(`  target hook: would POST ${sink.url} 2 time(s)`);
    expect(lines[2]).toBe('first 2 match(es):');
    expect(lines[3]).toMatch(new RegExp(`^  ${ISO}  offset \\d+  cli.order.created  /test ${ids[1]}$`));
    expect(lines[4]).toBe('    hook ← {"amount":150}');
    expect(lines[6]).toBe('    hook ← {"amount":250}');
    expect(lines[lines.length - 1]).toBe('nothing was executed');
    expect(sink.requests).toEqual([]);
    expect((await call(s.url, 'GET', '/v1/rules/cli-big-orders')).status).toBe(404);
  });

  it('prints the report as JSON with --json and limits the samples with --samples', async () => {
    const res = await cli('backtest', '-f', ruleFile, '--since', '1h', '--samples', '1', '--json');
    expect(res.code).toBe(0);
    expect(res.stderr).toMatch(/^scanned 5 of ~5 events \(100%\), 2 matched$/m);
    const report = JSON.parse(res.stdout);
    expect(report).toMatchObject({
      rule: 'cli-big-orders',
      scanned: 5,
      matched: 2,
      targets: [{ target: 'hook', action: 'http', deliveries: 2, transformErrors: 0 }],
    });
    expect(report.samples).toEqual([expect.objectContaining({ id: ids[1], payloads: { hook: { amount: 150 } } })]);
  });

  it('reads the rule from stdin with -f -', async () => {
    const res = await runCli(['backtest', '-f', '-', '--since', '1h', '--json', '--url', s.url], {
      input: ruleYaml('cli-stdin', sink.url),
    });
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ rule: 'cli-stdin', matched: 2 });
  });

  it('exits 1 pointing into the file at each problem of an invalid rule', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, ruleYaml('cli-bad', sink.url, 'htp'));
    const res = await cli('backtest', '-f', file, '--since', '1h');
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    const lines = res.stderr.trimEnd().split('\n');
    // `action: htp` is on line 12, column 7 of the file.
    expect(lines[0]).toMatch(
      new RegExp(`^${file}:12:7: /spec/targets/0/action: unknown action 'htp'; did you mean 'http'\\?`),
    );
    expect(lines[lines.length - 1]).toBe(`homeostat: ${file}: the rule is invalid (see above); nothing was run`);
  });

  it('exits 2 naming the place when the file is not valid YAML', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'kind: Rule\nspec: { match: [\n');
    const res = await cli('backtest', '-f', file, '--since', '1h');
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(new RegExp(`^homeostat: ${file}:\\d+:\\d+: `));
  });

  it('exits 2 without --since, and 1 naming the parameter for a time it cannot read', async () => {
    const missing = await cli('backtest', '-f', ruleFile);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^homeostat: required option '--since <time>' not specified/);
    const bad = await cli('backtest', '-f', ruleFile, '--since', 'yesterday');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^homeostat: query parameter 'since': "yesterday" is not allowed; use an RFC 3339 time/);
  });
});

describe('homeostat replay', () => {
  let s: TestServer;
  let sink: Sink;
  let since: number;
  const ids: string[] = [];
  const cli = (...args: string[]) => runCli([...args, '--url', s.url]);
  const replayed = () => sink.requests.filter((r) => r.headers['homeostat-replayed'] === 'true');

  beforeAll(async () => {
    requireBuild();
    s = await startTestServer();
    sink = await startSink();
    const manifest = {
      apiVersion: 'homeostat/v1',
      kind: 'Rule',
      metadata: { name: 'cli-replay' },
      spec: { match: { type: ['cli.replay'] }, targets: [{ name: 'hook', action: 'http', with: { url: sink.url } }] },
    };
    expect((await call(s.url, 'PUT', '/v1/rules/cli-replay', manifest)).status).toBe(201);
    since = Date.now();
    const events = [event({ type: 'cli.replay' }), event({ type: 'cli.other' }), event({ type: 'cli.replay' })];
    ids.push(events[0]!.id as string, events[2]!.id as string);
    expect((await post(s.url, events)).status).toBe(201);
    await eventually(() => sink.requests.length === 2, 'the two original deliveries');
  });
  afterAll(async () => {
    await s?.stop();
    await sink?.close();
  });

  it('prints the counts and re-delivers the events marked as replayed', async () => {
    const res = await cli('replay', '--since', String(since), '--rule', 'cli-replay');
    expect(res.code).toBe(0);
    expect(res.stderr).toBe('');
    const [summary, hint] = res.stdout.trimEnd().split('\n');
    expect(summary).toMatch(/^replay \S+: 3 events scanned, 2 matched, 2 deliveries queued \(marked replayed\)$/);
    expect(hint).toMatch(/homeostat trace <event-id>/);
    await eventually(() => replayed().length === 2, 'two replayed deliveries');
    expect(
      replayed()
        .map((r) => r.eventId)
        .sort(),
    ).toEqual([...ids].sort());
  });

  it('prints the report as JSON with --json', async () => {
    const res = await cli('replay', '--since', String(since), '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.stdout)).toEqual({ replayId: expect.any(String), scanned: 3, matched: 2, submitted: 2 });
  });

  it('exits 1 for an unknown rule and 2 without --since', async () => {
    const unknown = await cli('replay', '--since', '1h', '--rule', 'no-such-rule');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/^homeostat: no rule named 'no-such-rule'/);
    const missing = await cli('replay', '--rule', 'cli-replay');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^homeostat: required option '--since <time>' not specified/);
  });
});
