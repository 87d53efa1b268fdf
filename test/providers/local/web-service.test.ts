import { type ChildProcess, spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { get, post, WEB } from './helpers.js';

interface Service {
  readonly child: ChildProcess;
  readonly address: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const running: ChildProcess[] = [];
afterEach(() => {
  for (const child of running.splice(0))
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});

/** Starts examples/services/web.mjs on a free port and resolves once it prints its address. */
function startService(env: Record<string, string> = {}): Promise<Service> {
  const child = spawn(process.execPath, [WEB], {
    env: { PATH: process.env.PATH, PORT: '0', HOMEOSTAT_INSTANCE: 'web-7', HOMEOSTAT_GROUP: 'web', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  running.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve({ child, address: m[1]!, exited });
    });
    void exited.then((e) => reject(new Error(`web.mjs exited early: ${JSON.stringify(e)}; output: ${out}`)));
  });
}

describe('example web service (examples/services/web.mjs)', () => {
  it('answers /healthz with ok and /work with its instance name and pid', async () => {
    const s = await startService();
    expect(await get(s.address, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await get(s.address, '/work?ms=3')).toEqual({
      status: 200,
      body: { instance: 'web-7', group: 'web', pid: s.child.pid, workMs: 3 },
    });
    expect((await get(s.address, '/')).body).toMatchObject({ workMs: 5 });
    expect((await get(s.address, '/nope')).status).toBe(404);
  });

  it('injects errors at the rate from ERROR_RATE and from the admin endpoint', async () => {
    const s = await startService({ ERROR_RATE: '1', WORK_MS: '0' });
    expect(await get(s.address, '/work')).toMatchObject({ status: 500, body: { error: 'injected error' } });
    expect(await get(s.address, '/healthz')).toEqual({ status: 200, body: 'ok' });
    expect(await post(s.address, '/admin/error-rate?value=0')).toBe(200);
    expect((await get(s.address, '/work')).status).toBe(200);
    expect(await post(s.address, '/admin/error-rate?value=2')).toBe(400);
  });

  it('on SIGTERM finishes the request in flight, refuses new connections and exits 0', async () => {
    const s = await startService();
    const inFlight = get(s.address, '/work?ms=700');
    await new Promise((r) => setTimeout(r, 200));
    s.child.kill('SIGTERM');
    expect((await inFlight).body).toMatchObject({ instance: 'web-7', workMs: 700 });
    expect(await s.exited).toEqual({ code: 0, signal: null });
    await expect(get(s.address, '/healthz')).rejects.toThrow();
  });

  it('after /admin/hang answers nothing, not even /healthz, and still exits 0 on SIGTERM', async () => {
    const s = await startService();
    expect(await post(s.address, '/admin/hang')).toBe(200);
    await expect(get(s.address, '/healthz', 300)).rejects.toThrow(/aborted|timeout/i);
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  });
});
