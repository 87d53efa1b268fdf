import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { resolveExecConfig } from '../../src/actions/exec/config.js';
import { createExecTarget } from '../../src/actions/exec/target.js';
import type { DeliveryOutcome } from '../../src/ports/target.js';
import { deliveryRequest, targetSpec } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'homeostat-exec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

const exec = resolveExecConfig({
  allow: {
    echo: { command: '/bin/echo' },
    pwd: { command: '/bin/pwd' },
    sleep: { command: '/bin/sleep' },
    cat: { command: script('cat.sh', 'cat') },
    env: { command: script('env.sh', 'echo "$HOMEOSTAT_IDEMPOTENCY_KEY $HOMEOSTAT_RULE $REGION"') },
    fail: { command: script('fail.sh', 'echo "working" ; echo "state lock held by another run" >&2 ; exit "$1"') },
    chatty: {
      command: script(
        'chatty.sh',
        'i=0; while [ $i -lt 100 ]; do echo "line $i ................................................"; i=$((i+1)); done',
      ),
      maxOutput: '1KiB',
    },
    spawner: { command: script('spawner.sh', 'sleep 30 & echo $! > "$1"; wait') },
    missing: { command: join(dir, 'no-such-program') },
  },
});
const target = createExecTarget({ exec, env: { PATH: '/usr/bin:/bin' } });

function failed(o: DeliveryOutcome): Extract<DeliveryOutcome, { ok: false }> {
  if (o.ok) throw new Error(`expected a failed outcome, got ${JSON.stringify(o)}`);
  return o;
}

function run(options: Record<string, unknown>, extra: Parameters<typeof deliveryRequest>[1] = {}, timeoutMs = 10_000) {
  return target.deliver(deliveryRequest(targetSpec('exec', options, { timeoutMs }), extra));
}

describe('exec action: running commands', () => {
  it('runs an allowlisted command with arguments from the event and reports stdout', async () => {
    const o = await run({ command: 'echo', args: ['host=<$.data.host>', '<$.data.status>', '<not a placeholder>'] });
    expect(o).toMatchObject({ ok: true, detail: { exitCode: 0, stdout: 'host=web-1 503 <not a placeholder>\n' } });
  });

  it('passes arguments verbatim, without a shell', async () => {
    const o = await run({ command: 'echo', args: ['$(id) ; rm -rf / `x`', '*'] });
    expect(o).toMatchObject({ ok: true, detail: { stdout: '$(id) ; rm -rf / `x` *\n' } });
  });

  it('writes the payload to stdin as JSON', async () => {
    const o = await run({ command: 'cat' }, { payload: { replicas: 3, group: 'web' } });
    expect(o).toMatchObject({ ok: true, detail: { stdout: '{"replicas":3,"group":"web"}' } });
  });

  it('gives the command the idempotency key, rule and its env options', async () => {
    const req = deliveryRequest(targetSpec('exec', { command: 'env', env: { REGION: 'eu-<$.data.host>' } }));
    const o = await target.deliver(req);
    expect(o).toMatchObject({ ok: true, detail: { stdout: `${req.idempotencyKey} page-on-5xx eu-web-1\n` } });
  });

  it('runs in the given working directory', async () => {
    expect(await run({ command: 'pwd', cwd: dir })).toMatchObject({ ok: true, detail: { stdout: `${dir}\n` } });
  });

  it('keeps only the tail of long output and says how much it dropped', async () => {
    const o = await run({ command: 'chatty' });
    if (!o.ok) throw new Error(o.error.message);
    expect((o.detail!.stdout as string).length).toBe(1024);
    expect(o.detail!.stdout).toMatch(/line 99 \.+\n$/);
    expect(o.detail!.stdoutDropped).toBeGreaterThan(0);
  });
});

describe('exec action: failures', () => {
  it('retries a non-zero exit and quotes stderr', async () => {
    const o = failed(await run({ command: 'fail', args: ['1'] }));
    expect(o).toMatchObject({
      retry: 'yes',
      error: { code: 'E_EXEC_EXIT', details: { exitCode: 1, stdout: 'working\n' } },
    });
    expect(o.error.message).toBe('fail exited with code 1; stderr: state lock held by another run');
  });

  it('retries exit code 75 (EX_TEMPFAIL)', async () => {
    expect(failed(await run({ command: 'fail', args: ['75'] })).retry).toBe('yes');
  });

  it.each([64, 65, 78])('does not retry sysexits code %i', async (code) => {
    expect(failed(await run({ command: 'fail', args: [String(code)] })).retry).toBe('no');
  });

  it('stops a command that outlives the timeout, and retries', async () => {
    const o = failed(await run({ command: 'sleep', args: ['30'] }, {}, 200));
    expect(o).toMatchObject({ retry: 'yes', error: { code: 'E_TIMEOUT' } });
    expect(o.error.message).toContain('did not finish within 200 ms');
  });

  it("kills the command's whole process group on timeout", async () => {
    const pidFile = join(dir, 'grandchild.pid');
    failed(await run({ command: 'spawner', args: [pidFile] }, {}, 300));
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const alive = (): boolean => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await vi.waitFor(() => expect(alive()).toBe(false), { timeout: 5_000, interval: 20 });
  });

  it('stops when the request signal aborts (shutdown)', async () => {
    const controller = new AbortController();
    const pending = run({ command: 'sleep', args: ['30'] }, { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    expect(failed(await pending)).toMatchObject({ retry: 'yes', error: { code: 'E_ABORTED' } });
  });

  it('does not retry a command that cannot be started', async () => {
    const o = failed(await run({ command: 'missing' }));
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_EXEC_SPAWN', details: { cause: 'ENOENT' } } });
    expect(o.error.message).toContain('actions.exec.allow.missing.command');
  });

  it('does not retry when an argument names a field the event lacks', async () => {
    const o = failed(await run({ command: 'echo', args: ['<$.data.zone>'] }));
    expect(o).toMatchObject({ retry: 'no', error: { code: 'E_TRANSFORM' } });
    expect(o.error.message).toContain("placeholder <$.data.zone> reads $.data.zone, but $.data has no 'zone'");
  });
});

describe('exec action: validation', () => {
  it('accepts allowlisted commands with valid options', () => {
    expect(target.validate({ command: 'echo', args: ['a', '<$.data.x>'], env: { A_B: 'x' }, cwd: '/tmp' })).toEqual([]);
  });

  it('rejects every exec target when the allowlist is empty, naming the config key', () => {
    const off = createExecTarget({ exec: resolveExecConfig(undefined) });
    const [p] = off.validate({ command: 'terraform' });
    expect(p?.pointer).toBe('/command');
    expect(p?.message).toContain('exec is disabled on this server');
    expect(p?.message).toContain('actions.exec.allow');
  });

  it('rejects a command that is not allowlisted and lists the allowed ones', () => {
    expect(target.validate({ command: 'rm' })[0]?.message).toMatch(
      /'rm' is not allowlisted; use one of echo, pwd, sleep/,
    );
    expect(target.validate({})[0]?.message).toContain('is required');
  });

  it('names bad args, env, cwd and unknown options', () => {
    const problems = target.validate({
      command: 'echo',
      args: ['ok', 5, '<$.a[*]>'],
      env: { 'BAD-NAME': 'x' },
      cwd: 'rel',
      shell: true,
    });
    expect(problems.map((p) => p.pointer)).toEqual(['/shell', '/args/1', '/args/2', '/env/BAD-NAME', '/cwd']);
  });
});
