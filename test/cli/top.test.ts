/**
 * @module `homeostat top` end to end: the built CLI as a child process against an embedded server
 * in this process, with a real local stack (instances are real processes) and a ScalingPolicy.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../src/cli/client.js';
import { createTopPoller } from '../../src/cli/top.js';
import { startTestServer, type TestServer } from '../api/harness.js';
import { cleanEnv, deadUrl, requireBuild, runCli, spawnCli, stopProcess } from './helpers.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const STACK = 'topshop';
const GROUP = 'topweb';

let server: TestServer;

async function call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

/** Polls `check` every 100 ms until it returns a value, for at most 20 s. */
async function until<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 200; i++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function groupStatus(): Promise<{ desired: number; live: number; healthy: number } | undefined> {
  const { body } = await call('GET', `/v1/stacks/${STACK}/status`);
  return body?.groups?.find((g: { name: string }) => g.name === GROUP);
}

/** The group table row of the group in a frame, split into its columns. */
function groupRow(frame: string): string[] | undefined {
  return frame
    .split('\n')
    .find((l) => l.startsWith(`${STACK}/${GROUP} `))
    ?.split(/\s+/);
}

beforeAll(async () => {
  requireBuild();
  if (!existsSync(join(ROOT, 'dist', 'cli', 'top.js'))) {
    throw new Error('dist/cli/top.js is missing: run `npm run build` before the CLI tests');
  }
  server = await startTestServer({ providers: { local: { metricsInterval: '250ms' } } }, undefined, {
    stopInfraOnClose: true,
  });
  const applied = await call('PUT', `/v1/stacks/${STACK}`, {
    apiVersion: 'homeostat/v1',
    kind: 'Stack',
    metadata: { name: STACK },
    spec: {
      provider: 'local',
      resources: [
        {
          kind: 'InstanceGroup',
          name: GROUP,
          spec: {
            template: { command: 'node', args: ['examples/services/web.mjs'], env: { WORK_MS: '1' }, port: 0 },
            desired: 1,
            min: 1,
            max: 3,
            healthCheck: { path: '/healthz', interval: '200ms', timeout: '150ms' },
          },
        },
        {
          kind: 'LoadBalancer',
          name: 'toplb',
          spec: { listen: '127.0.0.1:0', targetGroup: GROUP, algorithm: 'round-robin' },
        },
      ],
    },
  });
  expect(applied.status).toBe(201);
});

afterAll(async () => {
  await server?.stop();
});

describe('homeostat top --once', () => {
  it('shows the group with its live instances, then the scale decision a policy makes', async () => {
    await until('one healthy instance', async () => {
      const g = await groupStatus();
      return g?.live === 1 && g.healthy === 1 ? g : undefined;
    });
    await until('metrics of the group', async () => {
      const { body } = await call('GET', `/v1/events?type=infra.metrics&subject=instancegroup/${GROUP}&limit=1`);
      return body.events[0];
    });

    const before = await runCli(['top', '--once', '--no-color', '--url', server.url]);
    expect(before.stderr).toBe('');
    expect(before.code).toBe(0);
    expect(before.stdout).not.toContain('\x1b');
    expect(before.stdout).toMatch(/^homeostat top {2}http:\/\/127\.0\.0\.1:\d+ /);
    expect(before.stdout).toMatch(/^events \S+\/s {3}lag \d+ {3}cost \$\d+\.\d+\/h {3}groups 1 {3}incidents 0$/m);
    // STACK/GROUP DES LIVE HLTH RPS ...: one desired, one live, one healthy, and a request rate.
    expect(groupRow(before.stdout)?.slice(1, 5)).toEqual(['1', '1', '1', expect.stringMatching(/^\d+\.\d$/)]);
    expect(before.stdout).toContain('no decisions yet');
    expect(before.stdout).toContain('no open incidents');
    expect(before.stdout.split('\n').length).toBeLessThanOrEqual(25);

    // The policy's minimum is above the group's size: it scales out to 2 on the next metrics.
    const policy = await call('PUT', `/v1/policies/ScalingPolicy/${GROUP}`, {
      apiVersion: 'homeostat/v1',
      kind: 'ScalingPolicy',
      metadata: { name: GROUP },
      spec: {
        target: `group/${GROUP}`,
        min: 2,
        max: 3,
        metric: { type: 'infra.metrics', field: 'data.rpsPerInstance', target: 100 },
      },
    });
    expect(policy.status).toBe(201);
    await until('the scale action', async () => {
      const { body } = await call('GET', `/v1/actions?policy=ScalingPolicy/${GROUP}&outcome=executed`);
      return body.actions[0];
    });
    await until('two live instances', async () => {
      const g = await groupStatus();
      return g?.live === 2 ? g : undefined;
    });

    const after = await runCli(['top', '--once', '--no-color', '--url', server.url]);
    expect(after.code).toBe(0);
    expect(after.stdout).toMatch(
      new RegExp(`^ +\\d+s ScalingPolicy/${GROUP} +scale +1→2 +executed +data\\.rpsPerInstance`, 'm'),
    );
    expect(groupRow(after.stdout)?.slice(1, 3)).toEqual(['2', '2']);
    expect(after.stdout).not.toContain('no decisions yet');
  });

  it('fails with a clear message and exit code 1 when the server cannot be reached', async () => {
    const url = await deadUrl();
    const res = await runCli(['top', '--once', '--url', url]);
    expect(res.code).toBe(1);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe(
      `homeostat: cannot reach Homeostat at ${url}: is it running? (start it with \`homeostat up\`)\n`,
    );
  });

  it('refuses a bad --interval with a usage error (exit 2)', async () => {
    const res = await runCli(['top', '--once', '--interval', 'fast', '--url', server.url]);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(/--interval: 'fast' is not a duration/);
  });
});

describe('homeostat top without --once', () => {
  it('prints a frame per interval separated by a blank line when stdout is not a terminal, until interrupted', async () => {
    const child = spawnCli(['top', '--interval', '200ms', '--url', server.url]);
    let stdout = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    await until('two frames', async () => ((stdout.match(/^homeostat top /gm) ?? []).length >= 2 ? true : undefined));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    // A frame has blank lines of its own: each starts with its header line, after a blank line.
    const frames = stdout.split(/\n\n(?=homeostat top )/);
    expect(frames.every((f) => f.startsWith('homeostat top '))).toBe(true);
    expect(frames.length).toBeGreaterThanOrEqual(2);
    for (const frame of frames) expect(groupRow(frame)?.[0]).toBe(`${STACK}/${GROUP}`);
    expect(stdout).not.toContain('\x1b');
  });

  it('keeps the last data and reports the error when the server goes away', async () => {
    const other = await startTestServer();
    const poller = createTopPoller(createClient({ url: other.url }), 1_000);
    const first = await poller.refresh();
    expect(first.error).toBeUndefined();
    expect(first.updatedAt).toEqual(expect.any(Number));
    await other.stop();
    const second = await poller.refresh();
    expect(second.error).toMatch(/^cannot reach Homeostat at http:\/\/127\.0\.0\.1:\d+: is it running\?/);
    expect(second.updatedAt).toBe(first.updatedAt);
    await expect(poller.refresh(undefined, { throwOnError: true })).rejects.toThrow(/cannot reach Homeostat/);
  });

  // util-linux `script` runs the command in a pseudo-terminal; BSD script takes other flags.
  const hasScript = process.platform === 'linux' && spawnSync('script', ['--version']).status === 0;
  if (!hasScript) console.warn('top.test.ts: `script` (util-linux) is missing, the terminal test is skipped');

  /** `homeostat top` in a 100×30 pseudo-terminal; `output` is what it drew, `pty` its terminal device. */
  function topInTerminal(interval: string) {
    const bin = join(ROOT, 'bin', 'homeostat.js');
    const command = `stty cols 100 rows 30; echo "pty=$(tty)"; exec '${process.execPath}' '${bin}' top --interval ${interval} --url ${server.url}`;
    const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: cleanEnv(), stdio: 'pipe' });
    const state = { child, output: '', pty: '' };
    child.stdout.on('data', (d: Buffer) => {
      state.output += d.toString();
      state.pty ||= /pty=(\/dev\/\S+)/.exec(state.output)?.[1] ?? '';
    });
    return state;
  }

  const framesWithGroup = (output: string) => (output.match(new RegExp(`${STACK}/${GROUP}`, 'g')) ?? []).length;

  it.skipIf(!hasScript).each([
    ['q', 'q'],
    ['Ctrl-C', '\x03'],
  ])(
    'in a terminal: alternate screen, hidden cursor, redraws, and %s quits and restores the terminal',
    async (_name, key) => {
      const top = topInTerminal('200ms');
      try {
        await until('two frames with the group', async () => (framesWithGroup(top.output) >= 2 ? true : undefined));
        const exited = new Promise<number | null>((resolve) => top.child.once('exit', (code) => resolve(code)));
        top.child.stdin.write(key);
        expect(await exited).toBe(0);
      } finally {
        await stopProcess(top.child);
      }
      const { output } = top;
      expect(output.indexOf('\x1b[?1049h\x1b[?25l')).toBeGreaterThanOrEqual(0);
      // Colour is on in a terminal, and the frame is drawn at the terminal's width.
      expect(output).toContain('\x1b[1mhomeostat top\x1b[0m');
      expect(output).toMatch(/RPS TREND {10,}/);
      expect(output.trimEnd().endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
    },
  );

  it.skipIf(!hasScript)('in a terminal: redraws at the new size when the terminal is resized (SIGWINCH)', async () => {
    // A long interval: a second frame can only come from the resize.
    const top = topInTerminal('1m');
    let mark = 0;
    try {
      await until('the first frame with the group', async () => (framesWithGroup(top.output) >= 1 ? true : undefined));
      mark = top.output.length;
      // Resizing the terminal makes the kernel send SIGWINCH to the program in it.
      expect(spawnSync('stty', ['-F', top.pty, 'cols', '50', 'rows', '20']).status).toBe(0);
      await until('a redraw', async () => (top.output.includes(`${STACK}/t`, mark) ? true : undefined));
      top.child.stdin.write('q');
    } finally {
      await stopProcess(top.child);
    }
    // At 50 columns the sparklines make way for the numbers.
    const resized = top.output.slice(top.output.indexOf('STACK/GROUP', mark));
    expect(resized).toMatch(/STACK\/GROUP +DES LIVE HLTH +RPS P99ms +ERR% +CPU\x1b\[0m/);
    expect(resized).toMatch(new RegExp(`${STACK}/t\\S*\\s+2\\s+2\\s+2\\s`));
    expect(resized).not.toContain('RPS TREND');
  });
});
