/**
 * @module kill -9 of a process running a workflow: SIGKILLed during a wait and during a wait for
 * an event (which is appended while the process is dead), restarted on the same data dir each
 * time; the run completes and every step's effect happened exactly once.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import type { CloudEvent } from '../../src/core/event.js';
import { createSqliteEventLog } from '../../src/log/sqlite/event-log.js';
import { until } from './harness.js';

const FIXTURE = fileURLToPath(new URL('./kill9-fixture.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const RUN = 'run-kill9';
const APPEND_STEPS = ['one', 'two', 'three', 'four', 'five'];

const dir = mkdtempSync(join(tmpdir(), 'homeostat-wf-kill9-'));
const out = join(dir, 'effects.txt');
const children: ChildProcess[] = [];

afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

function start(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, dir, out], { cwd: ROOT, stdio: 'pipe' });
  children.push(child);
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`fixture did not start in 20 s: ${stderr}`)), 20_000);
    child.on('exit', (code) => reject(new Error(`fixture exited with ${code}: ${stderr}`)));
    child.stdout?.on('data', (d: Buffer) => {
      if (!d.toString().includes('ready')) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(child);
    });
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

interface StepRow {
  path: string;
  status: string;
  started_at: number;
  wake_at: number | null;
  ended_at: number | null;
}

/** Reads the state database the way an operator would, while the fixture runs. */
function read<T>(sql: string, ...args: unknown[]): T[] {
  const path = join(dir, 'state.db');
  if (!existsSync(path)) return [];
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(sql).all(...args) as T[];
  } catch {
    return [];
  } finally {
    db.close();
  }
}

const step = (path: string) =>
  read<StepRow>(
    'SELECT path, status, started_at, wake_at, ended_at FROM workflow_steps WHERE run_id = ? AND path = ?',
    RUN,
    path,
  )[0];
const runStatus = () => read<{ status: string }>('SELECT status FROM workflow_runs WHERE id = ?', RUN)[0]?.status;

function effects(): string[] {
  return existsSync(out) ? readFileSync(out, 'utf8').split('\n').filter(Boolean) : [];
}

describe('a workflow killed with SIGKILL', () => {
  it('resumes from the last completed step after each restart and runs every step exactly once', async () => {
    let child = await start();
    const pause = await until(
      () => (step('pause')?.status === 'waiting' ? step('pause') : undefined),
      'the pause',
      20_000,
    );
    await kill9(child);
    expect(effects()).toEqual([`${RUN}/one`, `${RUN}/two`]);

    child = await start();
    await until(() => step('ready')?.status === 'waiting', 'the wait for the event', 20_000);
    await kill9(child);
    expect(step('pause')).toMatchObject({ status: 'succeeded', started_at: pause!.started_at, wake_at: null });

    // The event arrives while nothing runs; the resumed wait reads the log from where it began.
    const log = await createSqliteEventLog({ path: join(dir, 'events.db'), writerThread: false });
    await log.append([
      { specversion: '1.0', id: 'ev-other', source: '/test', type: 'kill9.ready', subject: 'web-1' },
      { specversion: '1.0', id: 'ev-ready', source: '/test', type: 'kill9.ready', subject: 'web-9' },
    ] as CloudEvent[]);
    await log.close();

    child = await start();
    await until(() => runStatus() === 'succeeded', 'the run to succeed', 20_000);
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });

    const lines = effects();
    for (const name of APPEND_STEPS) {
      expect(
        lines.filter((l) => l === `${RUN}/${name}`),
        `effects of step ${name}`,
      ).toHaveLength(1);
    }
    expect(lines).toHaveLength(APPEND_STEPS.length);
    const steps = read<StepRow>('SELECT path, status FROM workflow_steps WHERE run_id = ? ORDER BY started_seq', RUN);
    expect(steps.map((s) => [s.path, s.status])).toEqual([
      ['one', 'succeeded'],
      ['two', 'succeeded'],
      ['pause', 'succeeded'],
      ['fan', 'succeeded'],
      ['three', 'succeeded'],
      ['nap', 'succeeded'],
      ['four', 'succeeded'],
      ['ready', 'succeeded'],
      ['five', 'succeeded'],
    ]);
    const five = read<{ input: string }>(
      'SELECT input FROM workflow_steps WHERE run_id = ? AND path = ?',
      RUN,
      'five',
    )[0];
    expect(JSON.parse(five!.input).with.note).toBe('ev-ready');
  }, 90_000);
});
