/**
 * @module Instances as real OS processes: spawn (no shell, own process group), a state file for
 * re-adoption after a restart, exit detection, SIGTERM-then-SIGKILL stops, CPU and memory samples.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { InstanceTemplate } from '../../core/infra/types.js';

/** What the state file keeps per instance; enough to find the process again after a restart. */
export interface InstanceRecord {
  readonly name: string;
  readonly group: string;
  readonly pid: number;
  readonly port: number;
  /** `host:port` it serves on. */
  readonly address: string;
  readonly startedAt: number;
  /** Start time of the process in clock ticks since boot (/proc/<pid>/stat field 22); null off Linux. */
  readonly procStart: number | null;
  /** Hash of the group spec the instance was started from. */
  readonly specHash: string;
  readonly readyAt?: number;
}

/** How an instance ended. `requested`: Homeostat stopped it; otherwise it crashed. */
export interface InstanceExit {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly requested: boolean;
  /** `child`: the exit status was observed; `poll`: a re-adopted process vanished, status unknown. */
  readonly observedBy: 'child' | 'poll';
}

export interface LaunchSpec {
  readonly name: string;
  readonly group: string;
  readonly template: InstanceTemplate;
  readonly specHash: string;
}

export interface ProcessSample {
  /** CPU used since the previous sample (or the start or adoption), in cores (1 = one core busy). */
  readonly cpu: number;
  /** Resident set size (VmRSS) in MiB. */
  readonly memoryMiB: number;
}

export interface ProcessManagerOptions {
  /** Holds `instances.json` and `logs/<instance>.log`. */
  readonly dataDir: string;
  readonly host: string;
  readonly clock: Clock;
  /** Called once per instance when its process is gone (not after `close`). */
  readonly onExit: (record: InstanceRecord, exit: InstanceExit) => void;
  /** Liveness poll for re-adopted processes. Default 250 ms. */
  readonly pollMs?: number;
  /** Time between SIGTERM and SIGKILL when stopping. Default 10,000 ms. */
  readonly stopGraceMs?: number;
}

export interface ProcessManager {
  /** Reads the state file: processes still alive (and the same process) are adopted, the rest are gone. */
  adopt(): { readonly adopted: readonly InstanceRecord[]; readonly gone: readonly InstanceRecord[] };
  /** Picks a port (unless the template fixes one), spawns the process and records it. */
  launch(spec: LaunchSpec): Promise<InstanceRecord>;
  /** SIGTERM to the process group, SIGKILL after the grace period; resolves when it is gone. */
  stop(name: string, graceMs?: number): Promise<InstanceExit | undefined>;
  markReady(name: string, at: number): void;
  get(name: string): InstanceRecord | undefined;
  list(): readonly InstanceRecord[];
  /** CPU since the previous call and memory now, per instance name. */
  sample(): Map<string, ProcessSample>;
  /** Stops every process when `stopAll`, else leaves them running (the state file keeps them). */
  close(options?: { readonly stopAll?: boolean }): Promise<void>;
}

/** Environment variables an instance inherits from Homeostat; everything else comes from its template. */
const INHERITED_ENV = ['PATH', 'HOME', 'USER', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SYSTEMROOT'];
/** USER_HZ: the unit of /proc CPU times, 100 on every Linux architecture Node runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
const HAS_PROC = existsSync('/proc/self/stat');

interface ProcStat {
  readonly state: string;
  readonly startTicks: number;
  readonly cpuTicks: number;
}

/** Reads /proc/<pid>/stat; undefined when the process does not exist or there is no /proc. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) may contain spaces and parentheses: fields resume after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): number => Number(rest[n - 3]);
  return { state: rest[0] ?? '?', startTicks: field(22), cpuTicks: field(14) + field(15) };
}

/** Resident memory in MiB from /proc/<pid>/status (VmRSS); 0 when unknown. */
export function readRssMiB(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** True when `pid` runs and is the process that started at `procStart` (not a reused pid, not a zombie). */
export function isSameProcess(pid: number, procStart: number | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!HAS_PROC) return true;
  const stat = readProcStat(pid);
  if (stat === undefined || stat.state === 'Z' || stat.state === 'X') return false;
  return procStart === null || stat.startTicks === procStart;
}

/** Asks the OS for a free TCP port on `host` (released again before the instance binds it). */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** `host:port`, with brackets around IPv6 hosts. */
export function formatAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Writes JSON to `path` through a temporary file and a rename, so a crash never leaves half a file. */
export function writeJsonFile(path: string, value: unknown): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(tmp, path);
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    // Negative pid: the whole process group (the instance leads its own), so its children go too.
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function instanceEnv(spec: LaunchSpec, host: string, port: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const key of INHERITED_ENV) if (process.env[key] !== undefined) env[key] = process.env[key];
  return {
    ...env,
    ...spec.template.env,
    PORT: String(port),
    HOST: host,
    HOMEOSTAT_INSTANCE: spec.name,
    HOMEOSTAT_GROUP: spec.group,
  };
}

function isRecord(value: unknown): value is InstanceRecord {
  const r = value as Partial<InstanceRecord> | null;
  return (
    typeof r === 'object' &&
    r !== null &&
    typeof r.name === 'string' &&
    typeof r.group === 'string' &&
    Number.isInteger(r.pid) &&
    typeof r.address === 'string'
  );
}

function readState(path: string): { readonly instances?: unknown } {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as { instances?: unknown };
  } catch (cause) {
    throw new HomeostatError(ErrorCode.BACKEND, `cannot read ${path}; fix or remove the file`, { cause });
  }
}

interface Live {
  record: InstanceRecord;
  child?: ChildProcess;
  stopRequested: boolean;
  stopping?: Promise<InstanceExit>;
  onStopped?: (exit: InstanceExit) => void;
  killTimer?: NodeJS.Timeout;
  lastCpu?: { readonly ticks: number; readonly at: number };
}

/** Creates the process manager of one provider; call `adopt()` before launching anything. */
export function createProcessManager(options: ProcessManagerOptions): ProcessManager {
  const { dataDir, host, clock, onExit } = options;
  const pollMs = options.pollMs ?? 250;
  const stopGraceMs = options.stopGraceMs ?? 10_000;
  const stateFile = join(dataDir, 'instances.json');
  const logDir = join(dataDir, 'logs');
  const live = new Map<string, Live>();
  let poll: NodeJS.Timeout | undefined;
  let closed = false;

  mkdirSync(logDir, { recursive: true });

  const persist = (): void => {
    const instances = [...live.values()].map((l) => l.record).sort((a, b) => a.name.localeCompare(b.name));
    writeJsonFile(stateFile, { version: 1, instances });
  };

  const handleExit = (name: string, pid: number, status: Omit<InstanceExit, 'requested'>): void => {
    const entry = live.get(name);
    if (closed || entry === undefined || entry.record.pid !== pid) return;
    live.delete(name);
    clearTimeout(entry.killTimer);
    // Helpers the instance started in its group must not outlive it (they may hold its port).
    signalGroup(pid, 'SIGKILL');
    persist();
    const exit: InstanceExit = { ...status, requested: entry.stopRequested };
    entry.onStopped?.(exit);
    onExit(entry.record, exit);
  };

  const pollAdopted = (): void => {
    for (const entry of [...live.values()]) {
      if (entry.child !== undefined) continue;
      const { name, pid, procStart } = entry.record;
      if (!isSameProcess(pid, procStart)) handleExit(name, pid, { exitCode: null, signal: null, observedBy: 'poll' });
    }
  };

  const spawnChild = async (spec: LaunchSpec, port: number): Promise<ChildProcess> => {
    const log = openSync(join(logDir, `${spec.name}.log`), 'a');
    let child: ChildProcess;
    try {
      child = spawn(spec.template.command, [...spec.template.args], {
        env: instanceEnv(spec, host, port),
        // Files, not pipes: the instance must not die of SIGPIPE when Homeostat goes away.
        stdio: ['ignore', log, log],
        detached: true,
        shell: false,
      });
    } finally {
      closeSync(log);
    }
    if (child.pid !== undefined) return child;
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
    const permanent = err.code === 'ENOENT' || err.code === 'EACCES';
    throw new HomeostatError(
      ErrorCode.BACKEND,
      `could not start instance ${spec.name}: ${spec.template.command}: ${err.code ?? err.message}; ` +
        'check spec.template.command (an absolute path or a program on PATH)',
      { cause: err, retryable: !permanent, details: { instance: spec.name, command: spec.template.command } },
    );
  };

  const stop = (name: string, graceMs = stopGraceMs): Promise<InstanceExit | undefined> => {
    const entry = live.get(name);
    if (entry === undefined) return Promise.resolve(undefined);
    if (entry.stopping) return entry.stopping;
    entry.stopRequested = true;
    entry.stopping = new Promise((resolve) => {
      entry.onStopped = resolve;
    });
    const { pid, procStart } = entry.record;
    // A re-adopted pid is re-checked first: never signal a process that merely reuses the number.
    if (entry.child === undefined && !isSameProcess(pid, procStart)) {
      handleExit(name, pid, { exitCode: null, signal: null, observedBy: 'poll' });
    } else {
      signalGroup(pid, 'SIGTERM');
      entry.killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
    }
    return entry.stopping;
  };

  return {
    adopt() {
      const adopted: InstanceRecord[] = [];
      const gone: InstanceRecord[] = [];
      const stored = readState(stateFile);
      for (const record of Array.isArray(stored.instances) ? stored.instances : []) {
        if (!isRecord(record)) continue;
        if (isSameProcess(record.pid, record.procStart ?? null)) {
          const ticks = readProcStat(record.pid)?.cpuTicks;
          const lastCpu = ticks === undefined ? undefined : { ticks, at: performance.now() };
          live.set(record.name, { record, stopRequested: false, ...(lastCpu ? { lastCpu } : {}) });
          adopted.push(record);
        } else gone.push(record);
      }
      persist();
      poll ??= setInterval(pollAdopted, pollMs);
      return { adopted, gone };
    },

    async launch(spec) {
      if (closed) throw new HomeostatError(ErrorCode.CLOSED, 'the local provider is closed');
      const port = spec.template.port > 0 ? spec.template.port : await pickFreePort(host);
      const child = await spawnChild(spec, port);
      const pid = child.pid!;
      child.unref();
      const record: InstanceRecord = {
        name: spec.name,
        group: spec.group,
        pid,
        port,
        address: formatAddress(host, port),
        startedAt: clock.now(),
        procStart: readProcStat(pid)?.startTicks ?? null,
        specHash: spec.specHash,
      };
      // A new process has used (next to) no CPU yet: the first window counts from its start.
      live.set(spec.name, { record, child, stopRequested: false, lastCpu: { ticks: 0, at: performance.now() } });
      child.once('exit', (code, signal) => handleExit(spec.name, pid, { exitCode: code, signal, observedBy: 'child' }));
      persist();
      return record;
    },

    stop,

    markReady(name, at) {
      const entry = live.get(name);
      if (entry === undefined) return;
      entry.record = { ...entry.record, readyAt: at };
      persist();
    },

    get: (name) => live.get(name)?.record,
    list: () => [...live.values()].map((l) => l.record),

    sample() {
      const samples = new Map<string, ProcessSample>();
      const at = performance.now();
      for (const entry of live.values()) {
        const stat = readProcStat(entry.record.pid);
        if (stat === undefined) continue;
        const prev = entry.lastCpu;
        const seconds = prev ? (at - prev.at) / 1000 : 0;
        const cpu = prev && seconds > 0 ? (stat.cpuTicks - prev.ticks) / CLOCK_TICKS_PER_SECOND / seconds : 0;
        entry.lastCpu = { ticks: stat.cpuTicks, at };
        samples.set(entry.record.name, { cpu, memoryMiB: readRssMiB(entry.record.pid) });
      }
      return samples;
    },

    async close(closeOptions = {}) {
      if (closeOptions.stopAll) await Promise.all([...live.keys()].map((name) => stop(name)));
      closed = true;
      clearInterval(poll);
      for (const entry of live.values()) clearTimeout(entry.killTimer);
      persist();
    },
  };
}
