/** @module A batch-publishing client that remembers which events the server acknowledged, and can pull the trigger. */

const BATCH_TYPE = 'application/cloudevents-batch+json';
const REQUEST_TIMEOUT_MS = 20_000;
const MAX_BACKOFF_MS = 500;

export interface CrashEvent {
  readonly specversion: '1.0';
  readonly id: string;
  readonly source: string;
  readonly type: string;
  readonly subject: string;
  readonly data: { readonly seq: number; readonly pad: string };
}

/** Identity of an event in the log: the dedup key. */
export function eventKey(e: { readonly source: string; readonly id: string }): string {
  return `${e.source} ${e.id}`;
}

/** `count` events with ids unique per prefix, spread over three sources. */
export function makeWorkload(prefix: string, count: number): CrashEvent[] {
  return Array.from({ length: count }, (_, seq) => ({
    specversion: '1.0' as const,
    id: `${prefix}-${seq}`,
    source: `/crash/client-${seq % 3}`,
    type: 'test.crash.tick',
    subject: `unit-${seq % 16}`,
    data: { seq, pad: 'x'.repeat(64 + (seq % 64)) },
  }));
}

/** Everything ever sent to one data dir: what was sent, and the offset each acknowledgement named. */
export interface Ledger {
  readonly sent: Map<string, CrashEvent>;
  readonly acked: Map<string, number | undefined>;
}

export function createLedger(): Ledger {
  return { sent: new Map(), acked: new Map() };
}

interface EntryResult {
  readonly status: 'accepted' | 'duplicate' | 'rejected';
  readonly id?: string;
  readonly source?: string;
  readonly offset?: number;
}

export type PostOutcome =
  | { readonly kind: 'answered'; readonly status: number; readonly results: readonly EntryResult[] }
  | { readonly kind: 'http-error'; readonly status: number; readonly body: string }
  | { readonly kind: 'failed'; readonly error: string };

/** POSTs one batch; retries 429 (not written) until `giveUp()` says stop. */
export async function postBatch(
  url: string,
  batch: readonly CrashEvent[],
  giveUp: () => boolean = () => false,
): Promise<PostOutcome> {
  for (;;) {
    let res: Response;
    let text: string;
    try {
      res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': BATCH_TYPE },
        body: JSON.stringify(batch),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      text = await res.text();
    } catch (err) {
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      return { kind: 'failed', error: cause ?? (err as Error).message };
    }
    if (res.status === 429 && !giveUp()) {
      const seconds = Number(res.headers.get('retry-after') ?? '1');
      await new Promise((r) => setTimeout(r, Math.min(seconds * 1000, MAX_BACKOFF_MS)));
      continue;
    }
    if (res.status < 200 || res.status > 299) return { kind: 'http-error', status: res.status, body: text };
    return { kind: 'answered', status: res.status, results: (JSON.parse(text) as { results: EntryResult[] }).results };
  }
}

/** Records the entries of a 2xx answer that are accepted or duplicate; returns how many. */
function recordAcks(ledger: Ledger, batch: readonly CrashEvent[], outcome: PostOutcome, problems: string[]): number {
  // 429 means nothing was written: the batch simply stays unacknowledged.
  if (outcome.kind === 'http-error' && outcome.status !== 429)
    problems.push(`HTTP ${outcome.status}: ${outcome.body.slice(0, 300)}`);
  if (outcome.kind !== 'answered') return 0;
  let acked = 0;
  for (const [i, ev] of batch.entries()) {
    const r = outcome.results[i];
    if (r?.status === 'accepted' || r?.status === 'duplicate') {
      ledger.acked.set(eventKey(ev), r.offset);
      acked++;
    } else {
      problems.push(`entry ${ev.id}: ${JSON.stringify(r)}`);
    }
  }
  return acked;
}

export interface LoadOptions {
  readonly url: string;
  readonly workload: readonly CrashEvent[];
  /** Index of the first workload event this round sends. */
  readonly start: number;
  readonly ledger: Ledger;
  readonly batchSize: number;
  readonly concurrency: number;
  /** Pull the trigger once this many events were acknowledged in this round... */
  readonly killAfterAcked?: number;
  /** ...or this many milliseconds after the first request. */
  readonly killAfterMs?: number;
  /** Must kill the server synchronously (process.kill). */
  readonly kill: () => void;
}

export interface LoadOutcome {
  /** Workload index after the last batch taken. */
  readonly next: number;
  readonly sent: number;
  readonly acked: number;
  readonly ackedAtKill: number;
  readonly inFlightAtKill: number;
  readonly killedAtMs: number;
  /** Whether the workload ran out before the trigger (then the kill came with nothing in flight). */
  readonly exhausted: boolean;
  readonly unacked: readonly CrashEvent[];
  /** HTTP error answers and rejected entries: none are expected. */
  readonly problems: readonly string[];
}

/** Sends the workload with `concurrency` batches in flight until the kill trigger fires. */
export async function loadUntilKilled(opts: LoadOptions): Promise<LoadOutcome> {
  const { url, workload, ledger, batchSize } = opts;
  const problems: string[] = [];
  const began = performance.now();
  const s = { next: opts.start, sent: 0, acked: 0, inFlight: 0, killed: false, ackedAtKill: 0, inFlightAtKill: 0 };
  let killedAtMs = 0;
  const fire = (): void => {
    if (s.killed) return;
    s.killed = true;
    s.ackedAtKill = s.acked;
    s.inFlightAtKill = s.inFlight;
    killedAtMs = performance.now() - began;
    opts.kill();
  };
  const timer = opts.killAfterMs === undefined ? undefined : setTimeout(fire, opts.killAfterMs);
  const worker = async (): Promise<void> => {
    while (!s.killed && s.next < workload.length) {
      const batch = workload.slice(s.next, s.next + batchSize);
      s.next += batch.length;
      for (const ev of batch) ledger.sent.set(eventKey(ev), ev);
      s.sent += batch.length;
      s.inFlight++;
      const outcome = await postBatch(url, batch, () => s.killed);
      s.inFlight--;
      s.acked += recordAcks(ledger, batch, outcome, problems);
      if (opts.killAfterAcked !== undefined && s.acked >= opts.killAfterAcked) fire();
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  clearTimeout(timer);
  const exhausted = !s.killed;
  fire();
  const unacked = workload.slice(opts.start, s.next).filter((ev) => !ledger.acked.has(eventKey(ev)));
  return { ...s, killedAtMs, exhausted, unacked, problems };
}

/** What the server said about each re-sent event: its status and offset. */
export async function resend(
  url: string,
  events: readonly CrashEvent[],
  ledger: Ledger,
  batchSize: number,
): Promise<{ readonly statuses: Map<string, EntryResult | string>; readonly problems: readonly string[] }> {
  const statuses = new Map<string, EntryResult | string>();
  const problems: string[] = [];
  for (let i = 0; i < events.length; i += batchSize) {
    const batch = events.slice(i, i + batchSize);
    const outcome = await postBatch(url, batch);
    recordAcks(ledger, batch, outcome, problems);
    for (const [j, ev] of batch.entries()) {
      statuses.set(eventKey(ev), outcome.kind === 'answered' ? (outcome.results[j] ?? 'missing') : outcome.kind);
    }
  }
  return { statuses, problems };
}
