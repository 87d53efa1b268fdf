/**
 * @module `homeostat why` and `homeostat why-not` against a real embedded server: the indented
 * tree with times relative to the root, the verdict, and the exit codes of an unknown id and of
 * bad flags. The CLI runs from source (tsx) as a child process.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../api/harness.js';
import { callApi, until } from '../infra/helpers.js';
import { cleanEnv } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const tag = `${process.pid}-${Date.now().toString(36)}`;
let server: TestServer;
let root: string;

/** Runs `homeostat <args>` from source. */
function cli(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const script =
    "const { main } = await import('./src/cli/main.ts'); await main(['node', 'homeostat', ...process.argv.slice(1)]);";
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script, ...args], {
    cwd: ROOT,
    env: cleanEnv(),
    stdio: 'pipe',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

beforeAll(async () => {
  server = await startTestServer();
  const api = (method: string, path: string, body?: unknown) => callApi<any>(server.url, method, path, body);
  const rule = (name: string, spec: Record<string, unknown>) =>
    api('PUT', `/v1/rules/${name}`, { apiVersion: 'homeostat/v1', kind: 'Rule', metadata: { name }, spec });
  await rule(`cli-a-${tag}`, {
    match: { type: [`cli.created.${tag}`] },
    targets: [{ name: 'next', action: 'emit', with: { type: `cli.checked.${tag}` } }],
  });
  await rule(`cli-b-${tag}`, { match: { type: [`cli.checked.${tag}`] }, targets: [{ name: 'audit', action: 'log' }] });
  root = `cli-${tag}`;
  await api('POST', '/v1/events', [{ specversion: '1.0', id: root, source: '/cli-test', type: `cli.created.${tag}` }]);
  await until(async () => {
    const t = await api('GET', `/v1/why/${root}`);
    return JSON.stringify(t.body).includes(`cli-b-${tag}/audit#1`);
  }, 'the chain to be delivered');
});

afterAll(async () => {
  await server.stop();
});

describe('homeostat why / why-not', () => {
  it('prints the tree, the verdicts, and fails clearly on an unknown id or missing flags', async () => {
    const [tree, unknown, whyNot, usage, ack] = await Promise.all([
      cli(['why', root, '--url', server.url]),
      cli(['why', `missing-${tag}`, '--url', server.url]),
      cli(['why-not', '--rule', `cli-b-${tag}`, '--event', root, '--url', server.url]),
      cli(['why-not', '--rule', 'x', '--url', server.url]),
      cli(['incident', 'inc-x', '--ack', '--resolve', '--url', server.url]),
    ]);

    expect(tree.stderr).toBe('');
    expect(tree.code).toBe(0);
    const lines = tree.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^why event ${root}: root event ${root} at \\d{4}-`));
    expect(lines[1]).toBe(`+0ms event cli.created.${tag} (${root} from /cli-test)  ◀`);
    expect(lines[2]).toMatch(new RegExp(`^└─ \\+\\d+ms rule cli-a-${tag} matched$`));
    expect(lines[3]).toMatch(/^ {3}└─ \+\d+ms attempt 1 → next \(emit\): ok \(status accepted\)$/);
    expect(lines[4]).toMatch(new RegExp(`^ {6}└─ \\+\\d+ms event cli\\.checked\\.${tag} `));
    expect(lines[5]).toMatch(new RegExp(`^ {9}└─ \\+\\d+ms rule cli-b-${tag} matched$`));
    expect(lines[6]).toMatch(/^ {12}└─ \+\d+ms attempt 1 → audit \(log\): ok$/);
    expect(tree.stdout).toMatch(/^2 events$/m);
    expect(tree.stdout).toMatch(/^scanned \d+ events \(offsets \d+\.\.\d+\)$/m);

    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr).toContain(`homeostat: nothing to explain for 'missing-${tag}'`);

    expect(whyNot.code).toBe(0);
    expect(whyNot.stdout).toContain(
      `rule cli-b-${tag}'s pattern does not match the event: 'type' is "cli.created.${tag}"`,
    );
    expect(whyNot.stdout).toContain('  verdict: not-matched');

    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('why-not needs --rule <name> and --event <id>');
    expect(ack.code).toBe(2);
    expect(ack.stderr).toContain('give one of --ack or --resolve, not both');
  });
});
