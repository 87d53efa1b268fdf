import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.js';
import { createProcessManager, type InstanceExit, isSameProcess, readProcStat } from './processes.js';

const onLinux = readProcStat(process.pid) !== undefined;
const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-processes-'));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function until(check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`condition not met in 5 s: ${check.toString()}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A long-running process that is not an instance (stands in for a pid reused by someone else). */
function bystander(): number {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  cleanup.push(() => child.kill('SIGKILL'));
  return child.pid!;
}

describe.skipIf(!onLinux)('local processes on Linux (/proc)', () => {
  it('tells a live process from one that reuses its pid by the start time in /proc/<pid>/stat', () => {
    const stat = readProcStat(process.pid)!;
    expect(stat.state).toMatch(/^[RS]$/);
    expect(isSameProcess(process.pid, stat.startTicks)).toBe(true);
    expect(isSameProcess(process.pid, stat.startTicks + 1)).toBe(false);
    expect(isSameProcess(2 ** 22 + 12_345, null)).toBe(false);
  });

  it('does not adopt, and never signals, a recorded pid that now belongs to another process', async () => {
    const dir = tempDir();
    const pid = bystander();
    const record = {
      name: 'web-1',
      group: 'web',
      pid,
      port: 1,
      address: '127.0.0.1:1',
      startedAt: 0,
      procStart: readProcStat(pid)!.startTicks - 1,
      specHash: 'x',
    };
    writeFileSync(join(dir, 'instances.json'), JSON.stringify({ version: 1, instances: [record] }));
    const exits: InstanceExit[] = [];
    const pm = createProcessManager({
      dataDir: dir,
      host: '127.0.0.1',
      clock: systemClock,
      onExit: (_r, e) => exits.push(e),
    });
    const { adopted, gone } = pm.adopt();
    expect(adopted).toEqual([]);
    expect(gone.map((r) => r.name)).toEqual(['web-1']);
    expect(await pm.stop('web-1')).toBeUndefined();
    await pm.close();
    expect(isSameProcess(pid, null)).toBe(true);
    expect(JSON.parse(readFileSync(join(dir, 'instances.json'), 'utf8'))).toEqual({ version: 1, instances: [] });
  });

  it('samples memory and CPU of a running instance and kills its whole process group on stop', async () => {
    const dir = tempDir();
    const exits: InstanceExit[] = [];
    const pm = createProcessManager({
      dataDir: dir,
      host: '127.0.0.1',
      clock: systemClock,
      onExit: (_r, e) => exits.push(e),
    });
    pm.adopt();
    // A shell that starts a helper in its group and ignores SIGTERM: only SIGKILL ends it.
    const helperPidFile = join(dir, 'helper.pid');
    const script = `trap '' TERM; sleep 30 & echo $! > ${helperPidFile}; wait`;
    const template = { command: '/bin/sh', args: ['-c', script], env: {}, port: 0 };
    const r = await pm.launch({ name: 'sh-1', group: 'sh', template, specHash: 'h' });
    cleanup.push(() => {
      try {
        process.kill(-r.pid, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await until(() => existsSync(helperPidFile) && readFileSync(helperPidFile, 'utf8').endsWith('\n'));
    const helper = Number(readFileSync(helperPidFile, 'utf8'));
    expect(pm.sample().get('sh-1')!.memoryMiB).toBeGreaterThan(0);
    const exit = await pm.stop('sh-1', 200);
    expect(exit).toEqual({ exitCode: null, signal: 'SIGKILL', requested: true, observedBy: 'child' });
    expect(exits).toEqual([exit]);
    // The helper in the instance's process group goes too (SIGKILL may take a moment to land).
    await until(() => !isSameProcess(helper, null));
    await pm.close();
  });
});

describe.skipIf(!onLinux)('local processes: the rest of the process group', () => {
  it('kills helpers left in the instance’s process group once its main process has exited', async () => {
    const dir = tempDir();
    const pm = createProcessManager({ dataDir: dir, host: '127.0.0.1', clock: systemClock, onExit: () => undefined });
    pm.adopt();
    const helperPidFile = join(dir, 'helper.pid');
    // The main shell ends on SIGTERM; its helper ignores SIGTERM and would otherwise live on.
    const script = `(trap '' TERM; exec sleep 30) & echo $! > ${helperPidFile}; wait`;
    const r = await pm.launch({
      name: 'sh-1',
      group: 'sh',
      template: { command: '/bin/sh', args: ['-c', script], env: {}, port: 0 },
      specHash: 'h',
    });
    cleanup.push(() => {
      try {
        process.kill(-r.pid, 'SIGKILL');
      } catch {
        // gone
      }
    });
    await until(() => existsSync(helperPidFile) && readFileSync(helperPidFile, 'utf8').endsWith('\n'));
    const helper = Number(readFileSync(helperPidFile, 'utf8'));
    const exit = await pm.stop('sh-1', 60_000);
    expect(exit).toMatchObject({ signal: 'SIGTERM', requested: true });
    await until(() => !isSameProcess(helper, null));
    await pm.close();
  });
});
