/** @module A virtual clock with a scheduler: simulated time only moves when `advance` or `runUntil` moves it. */
import type { Clock } from '../../core/clock.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';

/** A scheduled callback; pass it to `cancel`. */
export interface Timer {
  readonly id: number;
  /** Virtual time (ms) it is due at; for repeating timers, the next run. */
  readonly due: number;
}

/** A clock whose time is simulated, with timers ordered by due time and ties by insertion. */
export interface VirtualClock extends Clock {
  /** Runs `fn` at virtual time `time` (now, if `time` is in the past). */
  at(time: number, fn: () => void): Timer;
  /** Runs `fn` after `delayMs` of virtual time. */
  after(delayMs: number, fn: () => void): Timer;
  /** Runs `fn` every `intervalMs`, first at now + `intervalMs`. */
  every(intervalMs: number, fn: () => void): Timer;
  /** Cancels a timer; cancelling one that ran or was cancelled does nothing. */
  cancel(timer: Timer | undefined): void;
  /**
   * Moves time forward by `ms`, running every timer due up to then in order (timers that those
   * timers schedule inside the window run too). Returns the number of callbacks run.
   */
  advance(ms: number): number;
  /**
   * Runs timers one by one until `until` holds: a virtual time (absolute ms) or a predicate checked
   * before the first timer and after each one. Stops without it holding when no timer is left or
   * `limitMs` of virtual time (default 24 h) has passed. Returns whether it holds.
   */
  runUntil(until: number | (() => boolean), options?: { readonly limitMs?: number }): boolean;
  /** Timers waiting to run. */
  readonly pending: number;
}

interface Entry {
  id: number;
  due: number;
  seq: number;
  fn: () => void;
  intervalMs: number;
  cancelled: boolean;
}

const DEFAULT_LIMIT_MS = 86_400_000;

/** Start of the default simulation: 2026-01-01T00:00:00Z. */
export const SIM_EPOCH = Date.UTC(2026, 0, 1);

/** Creates a virtual clock starting at `start` (ms since the Unix epoch; default {@link SIM_EPOCH}). */
export function createVirtualClock(start: number = SIM_EPOCH): VirtualClock {
  return new HeapClock(start);
}

class HeapClock implements VirtualClock {
  private time: number;
  private readonly heap: Entry[] = [];
  private readonly live = new Map<number, Entry>();
  private seq = 0;
  private nextId = 1;
  private running = false;

  constructor(start: number) {
    checkTime(start, 'start');
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  get pending(): number {
    return this.live.size;
  }

  at(time: number, fn: () => void): Timer {
    checkTime(time, 'time');
    return this.push(Math.max(time, this.time), fn, 0);
  }

  after(delayMs: number, fn: () => void): Timer {
    checkTime(delayMs, 'delayMs');
    return this.push(this.time + Math.max(0, delayMs), fn, 0);
  }

  every(intervalMs: number, fn: () => void): Timer {
    if (!(intervalMs > 0) || !Number.isFinite(intervalMs)) {
      throw new HomeostatError(ErrorCode.INVALID, `intervalMs: ${intervalMs} must be a positive number of ms`);
    }
    return this.push(this.time + intervalMs, fn, intervalMs);
  }

  cancel(timer: Timer | undefined): void {
    if (timer === undefined) return;
    const entry = this.live.get(timer.id);
    if (entry === undefined) return;
    entry.cancelled = true;
    this.live.delete(timer.id);
  }

  advance(ms: number): number {
    checkTime(ms, 'ms');
    const target = this.time + ms;
    let ran = 0;
    this.guard(() => {
      for (let e = this.peek(); e !== undefined && e.due <= target; e = this.peek()) {
        this.runTop(e);
        ran++;
      }
      this.time = target;
    });
    return ran;
  }

  runUntil(until: number | (() => boolean), options: { readonly limitMs?: number } = {}): boolean {
    if (typeof until === 'number') {
      if (until > this.time) this.advance(until - this.time);
      return this.time >= until;
    }
    const limit = this.time + (options.limitMs ?? DEFAULT_LIMIT_MS);
    let done = until();
    this.guard(() => {
      for (let e = this.peek(); !done && e !== undefined && e.due <= limit; e = this.peek()) {
        this.runTop(e);
        done = until();
      }
    });
    return done;
  }

  private guard(body: () => void): void {
    if (this.running) {
      throw new HomeostatError(ErrorCode.INTERNAL, 'advance/runUntil called from inside a timer callback');
    }
    this.running = true;
    try {
      body();
    } finally {
      this.running = false;
    }
  }

  /** The earliest live entry, dropping cancelled ones from the top. */
  private peek(): Entry | undefined {
    let top = this.heap[0];
    while (top !== undefined && top.cancelled) {
      this.pop();
      top = this.heap[0];
    }
    return top;
  }

  private runTop(entry: Entry): void {
    this.pop();
    this.time = entry.due;
    if (entry.intervalMs > 0) {
      // Re-queued before running, with a new sequence number, so the callback can cancel it.
      entry.due += entry.intervalMs;
      entry.seq = this.seq++;
      this.siftUp(this.heap.push(entry) - 1);
    } else {
      this.live.delete(entry.id);
    }
    entry.fn();
  }

  private push(due: number, fn: () => void, intervalMs: number): Timer {
    const entry: Entry = { id: this.nextId++, due, seq: this.seq++, fn, intervalMs, cancelled: false };
    this.live.set(entry.id, entry);
    this.siftUp(this.heap.push(entry) - 1);
    return entry;
  }

  private pop(): void {
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.siftDown(0);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const item = heap[i]!;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(item, heap[parent]!)) break;
      heap[i] = heap[parent]!;
      i = parent;
    }
    heap[i] = item;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const item = heap[i]!;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= n) break;
      if (child + 1 < n && before(heap[child + 1]!, heap[child]!)) child++;
      if (!before(heap[child]!, item)) break;
      heap[i] = heap[child]!;
      i = child;
    }
    heap[i] = item;
  }
}

/** Heap order: due time, then insertion (invariant: seq is unique, so the order is total). */
function before(a: Entry, b: Entry): boolean {
  return a.due < b.due || (a.due === b.due && a.seq < b.seq);
}

function checkTime(value: number, field: string): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new HomeostatError(ErrorCode.INVALID, `${field}: ${value} must be a finite number of ms, 0 or more`);
  }
}

/** Moves a virtual clock along with real time, `speed` virtual ms per real ms. */
export interface RealtimeDriver {
  stop(): void;
}

/**
 * Drives `clock` from real time: every `tickMs` real ms it advances `tickMs * speed` virtual ms.
 * For what-if runs inside a live engine; tests drive the clock by hand instead.
 */
export function driveInRealTime(clock: VirtualClock, speed: number, tickMs = 50): RealtimeDriver {
  if (!(speed > 0) || !Number.isFinite(speed)) {
    throw new HomeostatError(ErrorCode.INVALID, `speed: ${speed} must be a positive number (virtual ms per real ms)`);
  }
  let last = performance.now();
  const handle = setInterval(() => {
    const now = performance.now();
    clock.advance((now - last) * speed);
    last = now;
  }, tickMs);
  handle.unref();
  return { stop: () => clearInterval(handle) };
}
