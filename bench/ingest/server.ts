/** @module The Homeostat server under test: a child process on a fresh data dir, its peak RSS and CPU. */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FsyncMode } from './options.js';

export interface ServerProcess {
  readonly url: string;
  readonly pid: number;
  readonly dataDir: string;
  readonly command: string;
  /** VmHWM of the process, in bytes, while it runs. */
  peakRss(): number | undefined;
  /** User + system CPU seconds the process has used. */
  cpuSeconds(): number;
  /** SIGTERM, wait for exit (SIGKILL after 10 s), remove the data dir; resolves with the exit code. */
  stop(): Promise<number | null>;
}

export interface StartServerOptions {
  readonly fsync: FsyncMode;
  readonly extraArgs: readonly string[];
  readonly nodeArgs: readonly string[];
  readonly timeoutMs: number;
}

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SERVING = /^homeostat: serving (\S+) \(data: /;

/** Spawns `node bin/homeostat.js up --port 0` and resolves once it prints its `serving` line. */
export function startServer(opts: StartServerOptions): Promise<ServerProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), `homeostat-bench-${opts.fsync}-`));
  const args = [
    'bin/homeostat.js',
    'up',
    '--port',
    '0',
    '--data-dir',
    dataDir,
    '--fsync',
    opts.fsync,
    ...opts.extraArgs,
  ];
  const command = ['node', ...opts.nodeArgs, ...args].join(' ');
  const child = spawn(process.execPath, [...opts.nodeArgs, ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const tail: string[] = [];
  const keep = (line: string) => {
    tail.push(line);
    if (tail.length > 40) tail.shift();
  };
  createInterface({ input: child.stderr! }).on('line', keep);
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
      reject(new Error(`the server did not start (${why}): ${command}\n${tail.join('\n')}`));
    };
    const timer = setTimeout(() => fail(`no 'serving' line within ${opts.timeoutMs} ms`), opts.timeoutMs);
    child.once('error', (error) => fail(error.message));
    child.once('exit', (code, signal) => fail(`exited with ${code ?? signal}`));
    createInterface({ input: child.stdout! }).on('line', (line) => {
      keep(line);
      const url = SERVING.exec(line)?.[1];
      if (url === undefined || child.pid === undefined) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      resolve(handle(child, child.pid, url, dataDir, command));
    });
  });
}

function handle(child: ChildProcess, pid: number, url: string, dataDir: string, command: string): ServerProcess {
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    url,
    pid,
    dataDir,
    command,
    peakRss: () => readPeakRss(pid),
    cpuSeconds: () => readCpuSeconds(pid),
    async stop() {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(killer);
      rmSync(dataDir, { recursive: true, force: true });
      return code;
    },
  };
}

/** VmHWM ("high water mark" of resident memory) from /proc/<pid>/status, in bytes. */
export function readPeakRss(pid: number): number | undefined {
  try {
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}

/** utime + stime from /proc/<pid>/stat, in seconds (clock ticks are 100 per second on Linux). */
export function readCpuSeconds(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}
