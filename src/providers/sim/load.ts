/**
 * @module The load model: how a group's demand spreads over its instances and what that does to
 * utilisation, latency and errors.
 *
 * The balancer spreads demand evenly over its targets (instances running and marked healthy). An
 * instance that answers serves up to its capacity; what exceeds it queues until the request
 * timeout (an error). An instance that stopped answering but is not yet marked unhealthy still
 * gets its share, and all of it times out. Latency of served requests follows a queue whose
 * waiting time grows like ρ/(1-ρ) with utilisation ρ (an M/M/1-like tail), capped at the timeout.
 */

/** What the model needs about one group at one moment. */
export interface LoadInput {
  /** Requests per second offered to the group. */
  readonly demandRps: number;
  /** Instances the balancer routes to. */
  readonly targets: number;
  /** Targets that answer (the others hang or are unreachable). */
  readonly answering: number;
  /** Requests per second one instance serves at utilisation 1. */
  readonly capacityRps: number;
  /** Latency on an idle instance. */
  readonly serviceMs: number;
  /** When a request that gets no answer counts as failed. */
  readonly timeoutMs: number;
}

export interface LoadResult {
  readonly rps: number;
  /** Requests per second answered in time. */
  readonly servedRps: number;
  readonly errorRate: number;
  readonly inFlight: number;
  readonly latencyMs: { readonly p50: number; readonly p95: number; readonly p99: number };
  /** Requests per second each target receives. */
  readonly rpsPerTarget: number;
  /** Utilisation of an answering target, 0 to 1. */
  readonly utilisation: number;
  /** In-flight requests on one answering target. */
  readonly inFlightPerTarget: number;
}

/** The utilisation used for latency never reaches 1 (the queue would be infinite). */
const MAX_RHO = 0.99;

const ZERO_LATENCY = Object.freeze({ p50: 0, p95: 0, p99: 0 });

/** Computes one group's load figures. Pure. */
export function computeLoad(input: LoadInput): LoadResult {
  const { demandRps: demand, targets, answering, capacityRps: capacity } = input;
  if (demand <= 0 || targets === 0) {
    // No demand: idle. No targets: the balancer answers 503 at once, every request fails fast.
    return idle(demand, targets === 0 && demand > 0 ? 1 : 0);
  }
  const share = demand / targets;
  const served = Math.min(share, capacity);
  const rho = served / capacity;
  const failedRps = (share - served) * answering + share * (targets - answering);
  const servedRps = served * answering;
  const timedOut = failedRps / demand;
  const meanServed = input.serviceMs / (1 - Math.min(rho, MAX_RHO));
  const latency = (q: number): number => round(quantile(q, timedOut, rho, input.serviceMs, input.timeoutMs), 10);
  const inFlightPerTarget = (served * meanServed + (share - served) * input.timeoutMs) / 1_000;
  return {
    rps: round(demand, 100),
    servedRps: round(servedRps, 100),
    errorRate: round(timedOut, 10_000),
    inFlight: round((servedRps * meanServed + failedRps * input.timeoutMs) / 1_000, 10),
    latencyMs: { p50: latency(0.5), p95: latency(0.95), p99: latency(0.99) },
    rpsPerTarget: round(share, 100),
    utilisation: round(Math.min(1, rho), 1_000),
    inFlightPerTarget: round(inFlightPerTarget, 10),
  };
}

function idle(demand: number, errorRate: number): LoadResult {
  return {
    rps: round(Math.max(0, demand), 100),
    servedRps: 0,
    errorRate,
    inFlight: 0,
    latencyMs: ZERO_LATENCY,
    rpsPerTarget: 0,
    utilisation: 0,
    inFlightPerTarget: 0,
  };
}

/**
 * The q-quantile of request latency: served requests (the fastest `1 - timedOut` of them) follow
 * the queue's tail; the rest take the full timeout.
 */
function quantile(q: number, timedOut: number, rho: number, serviceMs: number, timeoutMs: number): number {
  const servedShare = 1 - timedOut;
  if (q >= servedShare) return timeoutMs;
  const within = q / servedShare;
  const r = Math.min(rho, MAX_RHO);
  return Math.min(timeoutMs, serviceMs * (1 - Math.log(1 - within) * (r / (1 - r))));
}

function round(value: number, per: number): number {
  return Math.round(value * per) / per;
}

/** CPU use (0 to 1) of an answering instance at utilisation `rho`: a little idle work plus load. */
export function cpuAt(rho: number): number {
  return round(0.02 + 0.98 * Math.min(1, rho), 1_000);
}

/** Memory (MiB) an instance uses: its base plus about 2 MiB per request in flight, at most `maxMiB`. */
export function memoryAt(baseMiB: number, inFlight: number, maxMiB: number): number {
  return round(Math.min(maxMiB, baseMiB + 2 * inFlight), 10);
}
