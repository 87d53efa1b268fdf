/** @module Starts and stops real `homeostat up` processes for the crash tests. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../../bin/homeostat.js', import.meta.url));
const DIST_ENTRY = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const SERVING = /^homeostat: serving (\S+) \(data: /m;
const OUTPUT_TAIL = 16_384;

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly exited: Promise<Exit>;
  /** The last few KiB of stdout and stderr, for failure messages. */
  output(): string;
}

const live = new Set<ChildProcess>();

/** Fails with a message that says what to do when the CLI has not been built. */
export function assertBuilt(): void {
  if (!existsSync(BIN) || !existsSync(DIST_ENTRY)) {
    throw new Error(`crash tests need the built CLI (${BIN} and ${DIST_ENTRY}); run \`npm run build\` first`);
  }
}

/** Spawns `homeostat up --port 0` on a data dir and resolves once it prints its URL. */
export function startServer(dataDir: string, timeoutMs = 20_000): Promise<ServerProcess> {
  const child = spawn(process.execPath, [BIN, 'up', '--port', '0', '--data-dir', dataDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  live.add(child);
  let tail = '';
  const keep = (chunk: Buffer): void => {
    tail = (tail + chunk.toString('utf8')).slice(-OUTPUT_TAIL);
  };
  child.stderr!.on('data', keep);
  const exited = new Promise<Exit>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve({ code, signal });
    });
  });
  return new Promise((resolve, reject) => {
    let seen = '';
    let settled = false;
    const fail = (why: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`homeostat did not start on ${dataDir}: ${why}\n--- output ---\n${tail}`));
    };
    const timer = setTimeout(() => fail(`no 'serving' line within ${timeoutMs} ms`), timeoutMs);
    child.once('error', (err) => fail(err.message));
    void exited.then((e) => fail(`exited early (code ${e.code}, signal ${e.signal})`));
    child.stdout!.on('data', (chunk: Buffer) => {
      keep(chunk);
      if (settled) return;
      seen += chunk.toString('utf8');
      const m = SERVING.exec(seen);
      if (!m) return;
      settled = true;
      clearTimeout(timer);
      resolve({ url: m[1]!.replace(/\/$/, ''), pid: child.pid!, exited, output: () => tail });
    });
  });
}

/** SIGKILL: no shutdown hooks, no flush, exactly like a crash. */
export async function killHard(server: ServerProcess): Promise<Exit> {
  process.kill(server.pid, 'SIGKILL');
  return server.exited;
}

/** SIGTERM, then waits for a clean exit; SIGKILLs and throws if it does not come in time. */
export async function stopGracefully(server: ServerProcess, timeoutMs = 15_000): Promise<Exit> {
  process.kill(server.pid, 'SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  const result = await Promise.race([server.exited, timeout]);
  clearTimeout(timer);
  if (result === 'timeout') {
    process.kill(server.pid, 'SIGKILL');
    await server.exited;
    throw new Error(`homeostat (pid ${server.pid}) did not exit within ${timeoutMs} ms of SIGTERM\n${server.output()}`);
  }
  return result;
}

/** Kills every server this module started that is still running (afterAll). */
export async function killLeftovers(): Promise<void> {
  const waits = [...live].map(
    (child) =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  );
  await Promise.all(waits);
}
