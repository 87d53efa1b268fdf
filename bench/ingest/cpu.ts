/** @module Where the CPU went during a scenario: this client, the server under test, everything else. */
import { readdirSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface CpuShare {
  /** Each in cores (1.0 = one core fully busy on average over the scenario). */
  readonly client: number;
  readonly server: number;
  /** Busy CPU on the machine that was neither this client nor the server (other processes, kernel). */
  readonly other: number;
  readonly cores: number;
}

export interface CpuMeter {
  stop(): CpuShare;
}

/** Starts measuring; `serverSeconds` reads the server's CPU seconds so far (NaN when unknown). */
export function startCpuMeter(serverSeconds: () => number): CpuMeter {
  const t0 = performance.now();
  const client0 = process.cpuUsage();
  const server0 = serverSeconds();
  const machine0 = machineBusySeconds();
  return {
    stop() {
      const wall = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(client0);
      const client = (c.user + c.system) / 1e6;
      const server = serverSeconds() - server0;
      const busy = machineBusySeconds() - machine0;
      const other = busy - client - (Number.isFinite(server) ? server : 0);
      return { client: client / wall, server: server / wall, other: Math.max(0, other) / wall, cores: cpus().length };
    },
  };
}

/** Busy seconds of all CPUs since boot, from the first line of /proc/stat. */
function machineBusySeconds(): number {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    // user nice system idle iowait irq softirq steal: all but idle and iowait are busy (steal: taken by the host).
    const ticks = line.split(/\s+/).slice(1, 9).map(Number);
    return ticks.reduce((sum, t, i) => (i === 3 || i === 4 ? sum : sum + t), 0) / 100;
  } catch {
    return Number.NaN;
  }
}

/** The pid of a local process by its command name (e.g. `nats-server`), when exactly one runs. */
export function findLocalPid(comm: string): number | undefined {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) found.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return found.length === 1 ? found[0] : undefined;
}
