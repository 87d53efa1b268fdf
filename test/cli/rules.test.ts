import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadUrl, removeDir, requireBuild, runCli, type RunningServer, startServer, tempDir } from './helpers.js';

const EXAMPLES = ['log-cpu-high', 'open-incident-on-failed-deploy', 'page-on-5xx'];

function ruleYaml(name: string, extra = ''): string {
  return `apiVersion: homeostat/v1\nkind: Rule\nmetadata:\n  name: ${name}\nspec:\n  match:\n    type: [host.cpu.high]\n  targets:\n    - action: log\n${extra}`;
}

describe('homeostat apply, get, delete, rules enable/disable (against a server)', () => {
  let dir: string;
  let server: RunningServer;
  const cli = (args: string[], input?: string) => runCli([...args, '--url', server.url], { input });

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('rules');
    server = await startServer(join(dir, 'data'));
  });
  afterAll(async () => {
    await server?.stop();
    await removeDir(dir);
  });

  it('applies every example in a directory, then reports them unchanged', async () => {
    const first = await cli(['apply', '-f', 'examples/rules']);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    expect(first.stdout.trim().split('\n').sort()).toEqual(EXAMPLES.map((n) => `rule/${n} created`).sort());
    const again = await cli(['apply', '-f', 'examples/rules']);
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n').sort()).toEqual(EXAMPLES.map((n) => `rule/${n} unchanged`).sort());
    const table = await cli(['get', 'rules']);
    expect(table.code).toBe(0);
    expect(table.stdout.split('\n')[0]).toMatch(/^NAME\s+ENABLED\s+TARGETS\s+GENERATION\s+UPDATED\s+DESCRIPTION$/);
    expect(table.stdout).toMatch(/page-on-5xx\s+true\s+1\s+1\s/);
  });

  it('round-trips get -o yaml through apply, and reports a change as configured', async () => {
    const file = join(dir, 'roundtrip.yaml');
    expect((await cli(['apply', '-f', '-'], ruleYaml('round-trip'))).stdout).toBe('rule/round-trip created\n');
    const yaml = await cli(['get', 'rule', 'round-trip', '-o', 'yaml']);
    expect(yaml.code).toBe(0);
    expect(yaml.stdout).toMatch(/^apiVersion: homeostat\/v1\nkind: Rule\n/);
    await writeFile(file, yaml.stdout);
    expect((await cli(['apply', '-f', file])).stdout).toBe('rule/round-trip unchanged\n');
    await writeFile(file, ruleYaml('round-trip', '      timeout: 2s\n'));
    expect((await cli(['apply', '-f', file])).stdout).toBe('rule/round-trip configured\n');
    const json = await cli(['get', 'rule', 'round-trip', '-o', 'json']);
    expect(JSON.parse(json.stdout).spec.targets[0]).toEqual({ action: 'log', timeout: '2s' });
  });

  it('prints file:line:col, pointer and reason for every problem, applies the valid documents, exits 1', async () => {
    const file = join(dir, 'mixed.yaml');
    const bad = `apiVersion: homeostat/v1
kind: Rule
metadata:
  name: mixed-bad
spec:
  match:
    type: host.cpu.high
  targets:
    - action: htp
    - action: log
      retry:
        maxAtempts: 3
`;
    await writeFile(file, `${bad}---\nkind: Pipeline\nmetadata: { name: web }\n---\n${ruleYaml('mixed-good')}`);
    const res = await cli(['apply', '-f', file]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('rule/mixed-good created\n');
    const lines = res.stderr.trim().split('\n');
    expect(lines).toEqual([
      `${file}:7:5: /spec/match/type: must be an array of values or an object of fields, e.g. ["host.cpu.high"]`,
      `${file}:9:7: /spec/targets/0/action: unknown action 'htp'; did you mean 'http'? known actions: emit, exec, hold, http, log, patch, policy, release, replace, restart, revert, scale, stop, workflow`,
      `${file}:12:9: /spec/targets/1/retry/maxAtempts: unknown field 'maxAtempts'; did you mean 'maxAttempts'? allowed here: maxAttempts, maxAge, backoff`,
      `${file}:14:1: /kind: "Pipeline" is not a supported kind; supported kinds: Rule, Stack, Workflow, ScalingPolicy, HealingPolicy, CompliancePolicy, Budget, IdlePolicy, Schedule`,
      'homeostat: 2 of 3 document(s) failed (see above); the others were applied',
    ]);
    expect((await cli(['get', 'rule', 'mixed-bad'])).code).toBe(1);
  });

  it('reports a YAML syntax error with its position and a missing name at the metadata', async () => {
    const broken = join(dir, 'broken.yaml');
    await writeFile(broken, 'kind: Rule\nspec: [unclosed\n');
    const syntax = await cli(['apply', '-f', broken]);
    expect(syntax.code).toBe(1);
    expect(syntax.stderr).toMatch(new RegExp(`^${broken}:\\d+:\\d+: `));
    const unnamed = join(dir, 'unnamed.json');
    await writeFile(unnamed, JSON.stringify({ apiVersion: 'homeostat/v1', kind: 'Rule', metadata: {}, spec: {} }));
    const res = await cli(['apply', '-f', unnamed]);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain(`${unnamed}:1:`);
    expect(res.stderr).toMatch(/\/metadata\/name: required/);
    expect(res.stderr).toMatch(/\/spec\/match: required/);
  });

  it('disables and enables a rule', async () => {
    await cli(['apply', '-f', '-'], ruleYaml('toggle-me'));
    const off = await cli(['rules', 'disable', 'toggle-me']);
    expect(off).toMatchObject({ code: 0, stdout: 'rule/toggle-me disabled\n' });
    expect((await cli(['get', 'rule', 'toggle-me'])).stdout).toMatch(/toggle-me\s+false\s+1\s+2\s/);
    expect((await cli(['rules', 'enable', 'toggle-me'])).stdout).toBe('rule/toggle-me enabled\n');
    const missing = await cli(['rules', 'enable', 'no-such-rule']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /^homeostat: no rule named 'no-such-rule'; list the rules with `homeostat get rules`/,
    );
  });

  it('deletes a rule by name and by manifest file', async () => {
    const file = join(dir, 'delete-me.yaml');
    await writeFile(file, `${ruleYaml('delete-me-a')}---\n${ruleYaml('delete-me-b')}`);
    await cli(['apply', '-f', file]);
    expect(await cli(['delete', 'rule', 'delete-me-a'])).toMatchObject({
      code: 0,
      stdout: 'rule/delete-me-a deleted\n',
    });
    const again = await cli(['delete', 'rule', 'delete-me-a']);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/no rule named 'delete-me-a'/);
    expect((await cli(['delete', 'rule', 'delete-me-a', '--ignore-not-found'])).code).toBe(0);
    const byFile = await cli(['delete', '-f', file]);
    expect(byFile.code).toBe(1);
    expect(byFile.stdout).toBe('rule/delete-me-b deleted\n');
    expect(byFile.stderr).toMatch(/rule\/delete-me-a not found/);
    expect((await cli(['get', 'rule', 'delete-me-b'])).code).toBe(1);
  });

  it('rejects an unknown resource and a missing file as usage errors (exit 2)', async () => {
    const res = await cli(['get', 'widgets']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/unknown resource 'widgets'; supported: rules/);
    const missing = await cli(['apply', '-f', join(dir, 'nope.yaml')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^homeostat: -f: cannot read/);
  });

  it('stops at the first document when the server cannot be reached', async () => {
    const res = await runCli(['apply', '-f', 'examples/rules', '--url', await deadUrl()]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toHaveLength(1);
    expect(res.stderr).toMatch(/is it running\?/);
  });
});

describe('homeostat rules test (offline, no server)', () => {
  let dir: string;
  const event = '{"specversion":"1.0","id":"1","source":"/lb","type":"http.response","data":{"status":503}}';

  beforeAll(async () => {
    requireBuild();
    dir = await tempDir('rules-test');
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('exits 0 and prints "match" when the event matches', async () => {
    const res = await runCli([
      'rules',
      'test',
      '--pattern',
      '{"data":{"status":[{"numeric":[">=",500]}]}}',
      '--event',
      event,
    ]);
    expect(res).toEqual({ code: 0, stdout: 'match\n', stderr: '' });
  });

  it('exits 1 and prints each failing part of the pattern when it does not', async () => {
    const pattern = '{"type":["http.response"],"data":{"status":[{"numeric":["<",500]}]}}';
    const res = await runCli(['rules', 'test', '--pattern', pattern, '--event', event]);
    expect(res.code).toBe(1);
    expect(res.stderr).toBe('');
    expect(res.stdout).toBe(
      "no match\n  --pattern /data/status (data.status): 'data.status' is 503; the pattern wants numeric < 500\n",
    );
  });

  it('prints JSON with --json', async () => {
    const res = await runCli(['rules', 'test', '--pattern', '{"type":["x"]}', '--event', event, '--json']);
    expect(res.code).toBe(1);
    expect(JSON.parse(res.stdout)).toEqual({
      matched: false,
      failures: [{ pointer: '/pattern/type', path: 'type', reason: expect.stringContaining('"http.response"') }],
    });
  });

  it('reads the pattern from a Rule manifest and the event from a YAML file, pointing failures into the file', async () => {
    const eventFile = join(dir, 'event.yaml');
    await writeFile(eventFile, 'type: host.cpu.high\nsubject: web-1\ndata:\n  cpu: 42\n');
    const res = await runCli([
      'rules',
      'test',
      '--pattern',
      '@examples/rules/log-cpu-high.yaml',
      '--event',
      `@${eventFile}`,
    ]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe(
      "no match\n  examples/rules/log-cpu-high.yaml:13:7: /spec/match/data/cpu (data.cpu): 'data.cpu' is 42; the pattern wants numeric >= 90\n",
    );
    const hot = await runCli(['rules', 'test', '--pattern', '@examples/rules/log-cpu-high.yaml', '--event', '@-'], {
      input: '{"type": "host.cpu.high", "data": {"cpu": 99}}',
    });
    expect(hot.code).toBe(0);
  });

  it('exits 2 naming every problem of an invalid pattern and event, with file positions', async () => {
    const patternFile = join(dir, 'pattern.yaml');
    await writeFile(patternFile, 'type: host.cpu.high\ndata:\n  cpu: [{ numeric: [">=", "x"] }]\n');
    const res = await runCli(['rules', 'test', '--pattern', `@${patternFile}`, '--event', '[1]']);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(res.stderr.trim().split('\n')).toEqual([
      `${patternFile}:1:1: /type: must be an array of values or an object of fields, e.g. ["host.cpu.high"]`,
      `${patternFile}:3:27: /data/cpu/0/numeric/1: must be a finite number`,
      '--event /: got an array; the event must be a JSON object (a CloudEvent)',
      'homeostat: invalid inputs (see above); nothing was tested',
    ]);
  });

  it('exits 2 for text that is not JSON, an unreadable file, or a missing flag', async () => {
    const bad = await runCli(['rules', 'test', '--pattern', '{bad', '--event', '{}']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^homeostat: --pattern: not valid JSON .*give JSON text or @file/);
    const missing = await runCli(['rules', 'test', '--pattern', '{"a":[1]}', '--event', `@${join(dir, 'none.json')}`]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^homeostat: --event: cannot read/);
    expect((await runCli(['rules', 'test', '--pattern', '{"a":[1]}'])).code).toBe(2);
  });
});
