/**
 * @module The scenarios' clean-up: delete what they created (the server leaves instances running
 * on SIGTERM by design), wait until every instance stopped, and SIGKILL the process group of any
 * instance seen that still runs the example service.
 */
import { readFileSync } from 'node:fs';
import { until } from './server-api.js';

/** What the clean-up needs of a scenario's API client. */
export interface CleanupApi {
  call(method: string, path: string): Promise<unknown>;
  instances(): Promise<readonly { readonly status: { readonly pid?: number; readonly phase: string } }[]>;
}

export interface Cleanup {
  /** Remembers an instance pid, so that it cannot outlive the scenario. */
  note(pid: number | undefined): void;
  /** Sends each DELETE (e.g. `/v1/stacks/x?prune=true`), then waits until every instance stopped. */
  remove(api: CleanupApi, deletes: readonly string[]): Promise<void>;
  /** SIGKILLs what is left of the instances noted. */
  killLeftovers(): void;
}

export function createCleanup(log: (line: string) => void): Cleanup {
  const seen = new Set<number>();
  const note = (pid: number | undefined): void => {
    if (pid) seen.add(pid);
  };
  return {
    note,
    async remove(api, deletes) {
      try {
        for (const i of await api.instances()) note(i.status.pid);
        for (const path of deletes) await api.call('DELETE', path);
        await until(
          async () => {
            const left = (await api.instances()).filter((i) => !['stopped', 'crashed'].includes(i.status.phase));
            return left.length === 0 ? true : undefined;
          },
          'every instance to stop',
          15_000,
        );
      } catch (err) {
        log(`removing the stack failed (${(err as Error).message}); killing the instances directly`);
      }
    },
    killLeftovers() {
      let killed = 0;
      for (const pid of seen) {
        try {
          if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('web.mjs')) continue;
          process.kill(-pid, 'SIGKILL');
          killed++;
        } catch {
          // Gone already.
        }
      }
      log(`${seen.size} instance processes seen, ${killed} still running at the end (killed)`);
    },
  };
}
