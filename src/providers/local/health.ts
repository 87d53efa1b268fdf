/** @module HTTP health checks for one instance: probes on an interval, reports state transitions. */
import { request } from 'node:http';
import type { HealthCheckSpec } from '../../core/infra/types.js';

/** The smallest probe interval allowed, so a typo cannot turn checks into a flood. */
export const MIN_HEALTH_INTERVAL_MS = 50;

/**
 * - `ready`: the first time the instance reaches `healthyThreshold` successes.
 * - `unhealthy`: a ready instance failed `unhealthyThreshold` probes in a row.
 * - `healthy`: an unhealthy instance passed `healthyThreshold` probes in a row again.
 */
export type HealthTransition =
  | { readonly kind: 'ready' }
  | { readonly kind: 'unhealthy'; readonly reason: string; readonly failures: number }
  | { readonly kind: 'healthy' };

export type HealthState = 'unknown' | 'healthy' | 'unhealthy';

export interface HealthCheckerOptions {
  /** `host:port` of the instance (IPv6 hosts in brackets). */
  readonly address: string;
  readonly spec: HealthCheckSpec;
  /** Called synchronously when a probe completes a transition. */
  readonly onTransition: (transition: HealthTransition) => void;
  /** An instance that was ready before (re-adopted): its first success reports `healthy`, not `ready`. */
  readonly wasReady?: boolean;
}

export interface HealthChecker {
  readonly state: HealthState;
  /** The last probe failure, e.g. 'timeout after 500 ms' or 'HTTP 503'. */
  readonly lastFailure: string | undefined;
  stop(): void;
}

/** Resolves with undefined on success (2xx or 3xx), or the reason the probe failed. */
export function probe(address: string, path: string, timeoutMs: number): Promise<string | undefined> {
  const { hostname, port } = new URL(`http://${address}`);
  return new Promise((resolve) => {
    let done = false;
    const finish = (failure: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(failure);
    };
    // A fresh connection per probe (agent: false): a hung instance must not poison a pooled socket.
    const req = request(
      {
        host: hostname.replace(/^\[|\]$/g, ''),
        port,
        path,
        method: 'GET',
        agent: false,
        headers: { connection: 'close' },
      },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        finish(status >= 200 && status < 400 ? undefined : `HTTP ${status} from ${path}`);
      },
    );
    const timer = setTimeout(() => finish(`no answer from ${path} within ${timeoutMs} ms`), timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => finish(`${path}: ${err.code ?? err.message}`));
    req.end();
  });
}

/** Starts probing at once and then every `intervalMs` (measured from the start of each probe). */
export function startHealthChecker(options: HealthCheckerOptions): HealthChecker {
  const { address, spec, onTransition } = options;
  const intervalMs = Math.max(MIN_HEALTH_INTERVAL_MS, spec.intervalMs);
  let state: HealthState = 'unknown';
  let everReady = options.wasReady ?? false;
  let successes = 0;
  let failures = 0;
  let lastFailure: string | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const record = (failure: string | undefined): void => {
    if (failure === undefined) {
      successes += 1;
      failures = 0;
      if (state !== 'healthy' && successes >= spec.healthyThreshold) {
        state = 'healthy';
        onTransition({ kind: everReady ? 'healthy' : 'ready' });
        everReady = true;
      }
      return;
    }
    lastFailure = failure;
    failures += 1;
    successes = 0;
    // Before its first success a new instance is still starting: failing probes are expected then.
    // A re-adopted instance was ready before, so its failures count from the start.
    const judged = state === 'healthy' || (state === 'unknown' && everReady);
    if (judged && failures >= spec.unhealthyThreshold) {
      state = 'unhealthy';
      onTransition({ kind: 'unhealthy', reason: failure, failures });
    }
  };

  const tick = async (): Promise<void> => {
    const started = Date.now();
    const failure = await probe(address, spec.path, spec.timeoutMs);
    if (stopped) return;
    record(failure);
    if (stopped) return;
    timer = setTimeout(() => void tick(), Math.max(0, intervalMs - (Date.now() - started)));
  };
  void tick();

  return {
    get state() {
      return state;
    },
    get lastFailure() {
      return lastFailure;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
