/**
 * @module Condition state across SIGKILL: an engine child process (conditions-child.ts) with a
 * rule that fires on the 5th event of a subject within an hour is killed at chosen points, saved
 * or not, and restarted on the same data directory. No window is forgotten (3 events before the
 * kill + 2 after fire) and nothing fires twice (a firing is not appended again after the kill).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type Sink, startSink } from './harness.js';

const CHILD = fileURLToPath(new URL('./conditions-child.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'homeostat-conditions-crash-'));
const live = new Set<ChildProcess>();
let sink: Sink;

beforeAll(async () => {
  sink = await startSink();
});

afterAll(async () => {
  await Promise.all([...live].map((c) => kill(c)));
  await sink.close();
  rmSync(root, { recursive: true, force: true });
});

interface Engine {
  send(subject: string, n: number): Promise<void>;
  save(): Promise<void>;
  /** The router commits its offset as far as it may; returns it and the router's position. */
  commit(): Promise<{ committed: number; position: number }>;
  firings(): Promise<string[]>;
  /** SIGKILL: no final snapshot, no flush. */
  crash(): Promise<void>;
}

function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

async function startChild(dir: string): Promise<Engine> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, dir, sink.url], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  const lines: Interface = createInterface({ input: child.stdout! });
  const replies: ((line: unknown) => void)[] = [];
  const ready = new Promise<void>((resolve, reject) => {
    replies.push(() => resolve());
    child.once('exit', (code, signal) => reject(new Error(`the child exited (${code ?? signal}) before it was ready`)));
  });
  lines.on('line', (line) => replies.shift()?.(JSON.parse(line)));
  await ready;
  const call = (command: unknown) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      replies.push((reply) => {
        const r = reply as Record<string, unknown>;
        if (r.error) reject(new Error(String(r.error)));
        else resolve(r);
      });
      child.stdin!.write(`${JSON.stringify(command)}\n`);
    });
  return {
    async send(subject, n) {
      await call({ cmd: 'send', events: Array.from({ length: n }, () => ({ type: 'test.tick', subject })) });
    },
    async save() {
      await call({ cmd: 'save' });
    },
    async commit() {
      return (await call({ cmd: 'commit' })) as { committed: number; position: number };
    },
    async firings() {
      return (await call({ cmd: 'firings' })).ids as string[];
    },
    crash: () => kill(child),
  };
}

/** The fired events delivered for a subject (each test uses its own subjects). */
const firingsDeliveredFor = (subject: string) =>
  new Set(sink.requests.filter((r) => (r.body as { subject?: string }).subject === subject).map((r) => r.eventId));

/** Where the kill comes: after the condition state was saved or not, the router's offset committed or not. */
const KILL_POINTS = [
  { saved: true, committed: true },
  { saved: true, committed: false },
  { saved: false, committed: true },
  { saved: false, committed: false },
];
const name = (p: (typeof KILL_POINTS)[number]) =>
  `${p.saved ? 'saved' : 'not saved'}, offset ${p.committed ? 'committed' : 'not committed'}`;

/** Saves and commits as the kill point says, checks the commit never passes unsaved state, then kills. */
async function crashAt(engine: Engine, p: (typeof KILL_POINTS)[number]): Promise<void> {
  if (p.saved) await engine.save();
  if (p.committed) {
    const { committed, position } = await engine.commit();
    // The router may not commit past events the saved state lacks; once saved, it moves on
    // (up to a delivery still in flight, if any).
    if (p.saved) expect(committed).toBeGreaterThan(0);
    else expect(committed).toBeLessThan(position);
  }
  await engine.crash();
}

describe('rule conditions when the engine is killed with SIGKILL', () => {
  it.each(KILL_POINTS.map((p) => [name(p), p] as const))(
    'forgets no window (%s): 3 events, a kill, a restart, 2 events fire once',
    async (label, point) => {
      const dir = join(root, `window-${label.replace(/\W+/g, '-')}`);
      const [a, b] = [`a-${dir}`, `b-${dir}`];
      let engine = await startChild(dir);
      await engine.send(a, 3);
      await engine.send(b, 4);
      await crashAt(engine, point);
      engine = await startChild(dir);
      await engine.send('other', 1);
      expect(await engine.firings()).toEqual([]);
      await engine.send(a, 2);
      const ids = await engine.firings();
      expect(ids).toHaveLength(1);
      await engine.send(a, 1);
      await engine.send(b, 1);
      expect(await engine.firings()).toHaveLength(2);
      await eventually(() => firingsDeliveredFor(a).size > 0, 'the firing delivered');
      expect([...firingsDeliveredFor(a)]).toEqual(ids);
      await engine.crash();
    },
  );

  it.each(KILL_POINTS.map((p) => [name(p), p] as const))(
    'fires nothing twice (%s): a firing, a kill, a restart: the same firing, delivered once',
    async (label, point) => {
      const dir = join(root, `twice-${label.replace(/\W+/g, '-')}`);
      const c = `c-${dir}`;
      let engine = await startChild(dir);
      await engine.send(c, 5);
      const before = await engine.firings();
      expect(before).toHaveLength(1);
      await crashAt(engine, point);
      engine = await startChild(dir);
      // The restart reads again the events the saved state lacks; a firing it repeats has the same id.
      await engine.send('other', 1);
      expect(await engine.firings()).toEqual(before);
      await engine.send(c, 1);
      expect(await engine.firings()).toEqual(before);
      await eventually(() => firingsDeliveredFor(c).size > 0, 'the firing delivered');
      expect([...firingsDeliveredFor(c)]).toEqual(before);
      await engine.crash();
    },
  );

  it('keeps counting across two kills, neither saved', async () => {
    const dir = join(root, 'two-kills');
    let engine = await startChild(dir);
    await engine.send('d', 2);
    await crashAt(engine, { saved: false, committed: true });
    engine = await startChild(dir);
    await engine.send('d', 2);
    await crashAt(engine, { saved: false, committed: true });
    engine = await startChild(dir);
    expect(await engine.firings()).toEqual([]);
    await engine.send('d', 1);
    expect(await engine.firings()).toHaveLength(1);
    await engine.crash();
  });
});
