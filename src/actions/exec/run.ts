/** @module Runs one allowlisted program: no shell, its own process group, output tails, a deadline. */
import { spawn } from 'node:child_process';

/** Keeps the last `limit` bytes written to it and counts what it dropped. */
export class TailBuffer {
  private chunks: Buffer[] = [];
  private size = 0;
  /** Bytes dropped from the front. */
  dropped = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    while (this.size > this.limit && this.chunks.length > 0) {
      const first = this.chunks[0]!;
      const excess = this.size - this.limit;
      if (first.length <= excess) {
        this.chunks.shift();
        this.size -= first.length;
        this.dropped += first.length;
      } else {
        this.chunks[0] = first.subarray(excess);
        this.size -= excess;
        this.dropped += excess;
      }
    }
  }

  text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface RunSpec {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: NodeJS.ProcessEnv;
  readonly cwd?: string;
  readonly stdin: string;
  readonly maxOutputBytes: number;
  readonly timeoutMs: number;
  readonly signal: AbortSignal;
}

export interface RunResult {
  /** Set when the program could not be started. */
  readonly spawnError?: NodeJS.ErrnoException;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why Homeostat stopped it, if it did. */
  readonly stopped?: 'timeout' | 'shutdown';
  readonly stdout: TailBuffer;
  readonly stderr: TailBuffer;
}

/** Grace between SIGTERM and SIGKILL when a program is stopped. */
export const KILL_GRACE_MS = 2_000;

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    // Negative pid: the whole process group (the program is its leader), so its children stop too.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Runs the program to completion (or until stopped) and resolves once its output is closed. */
export function runProgram(spec: RunSpec): Promise<RunResult> {
  return new Promise((resolve) => {
    const stdout = new TailBuffer(spec.maxOutputBytes);
    const stderr = new TailBuffer(spec.maxOutputBytes);
    const child = spawn(spec.command, [...spec.args], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
      shell: false,
    });
    let stopped: RunResult['stopped'];
    let exited = false;
    let killTimer: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'shutdown'): void => {
      if (!exited) stopped ??= why;
      killGroup(child.pid, 'SIGTERM');
      killTimer ??= setTimeout(() => killGroup(child.pid, 'SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => stop('timeout'), spec.timeoutMs);
    const onAbort = (): void => stop('shutdown');
    spec.signal.addEventListener('abort', onAbort, { once: true });
    const finish = (result: Omit<RunResult, 'stdout' | 'stderr'>): void => {
      clearTimeout(timer);
      clearTimeout(killTimer);
      spec.signal.removeEventListener('abort', onAbort);
      resolve({ ...result, stdout, stderr });
    };
    child.stdout.on('data', (c: Buffer) => stdout.push(c));
    child.stderr.on('data', (c: Buffer) => stderr.push(c));
    // A program that does not read its stdin closes the pipe early; that is not an error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(spec.stdin);
    child.once('exit', () => {
      exited = true;
    });
    child.once('error', (err) => finish({ spawnError: err, exitCode: null, signal: null }));
    child.once('close', (code, signal) => finish({ exitCode: code, signal, ...(stopped ? { stopped } : {}) }));
    if (spec.signal.aborted) onAbort();
  });
}
