/** @module Test helpers: run the built CLI as a child process and start real servers with it. */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'homeostat.js');
const SERVING = /^homeostat: serving (\S+) \(data: (.+)\)$/m;

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningServer {
  readonly url: string;
  readonly dataDir: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/** The environment without HOMEOSTAT_* variables, so the developer's settings do not leak in. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HOMEOSTAT_')) env[k] = v;
  return { ...env, ...extra };
}

/** Fails early with a clear message when the CLI was not built. */
export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/cli/main.js is missing: run `npm run build` before the CLI tests');
  }
}

/** Spawns the CLI (not via a shell), optionally feeding stdin. */
export function spawnCli(args: readonly string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: 'pipe' });
}

/** Runs the CLI to completion and collects its output. */
export function runCli(args: readonly string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  return new Promise<CliResult>((resolve, reject) => {
    const child = spawnCli(args, opts.env);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin?.end(opts.input ?? '');
  });
}

/** Starts `homeostat up --port 0` with extra flags and waits for its serving line. */
export function startServer(
  dataDir: string,
  extra: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<RunningServer & { readonly stderr: () => string }> {
  const child = spawnCli(['up', '--port', '0', '--data-dir', dataDir, ...extra], {
    HOMEOSTAT_LOG_LEVEL: 'warn',
    ...env,
  });
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => fail(new Error(`server did not start in 20 s:\n${stderr}`)), 20_000);
    const fail = (err: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    };
    child.stderr?.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    child.on('exit', (code) => fail(new Error(`server exited with ${code}:\n${stderr}`)));
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const m = SERVING.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      child.removeAllListeners('exit');
      const output = () => stderr;
      resolve({ url: m[1]!, dataDir: m[2]!, process: child, stop: () => stopProcess(child), stderr: output });
    });
  });
}

/** SIGTERM, then SIGKILL if the process has not exited within 5 s. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** A fresh temporary directory; remove it with `removeDir`. */
export function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `homeostat-cli-${prefix}-`));
}

export function removeDir(dir: string | undefined): Promise<void> {
  return dir ? rm(dir, { recursive: true, force: true }) : Promise.resolve();
}

/** A URL where nothing listens: a port the OS just handed out and released. */
export async function deadUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 1;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
