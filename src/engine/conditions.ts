/**
 * @module The condition runner: keeps the state of every enabled rule with `when`, fed by the
 * router with the events the rule's `match` matched (in log time: each event at its append time),
 * ticked at its deadlines by a timer on the injected clock, appending a
 * `homeostat.condition.fired` event per firing (the router then delivers that event to the rule's
 * targets), and saving snapshots so that a restart forgets no window and fires nothing twice.
 *
 * Restart invariant: a saved row reflects every event below its offset; firings of those events
 * are durable on the log before the row is written; the router never commits its offset past a
 * rule's saved offset ({@link ConditionRunner.safeOffset}). So after a crash the router reads
 * again every event the saved state lacks, feeds only those at or after the row's offset, and any
 * firing it repeats has the same id as before and is dropped by the log's `(source, id)` dedup.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { RuleSpec } from '../core/rules/types.js';
import type { ConditionRow, ConditionStore } from '../ports/condition-store.js';
import type { TraceEntry } from '../ports/delivery-store.js';
import type { EventLog, LogRecord } from '../ports/event-log.js';
import { createOutbox, type Outbox } from './condition-outbox.js';
import {
  conditionFingerprint,
  createRuleCondition,
  type FiredEvent,
  firedRuleOf,
  type RuleCondition,
} from './condition-rule.js';

export interface ConditionRunnerOptions {
  readonly log: EventLog;
  /** Where snapshots are kept; without one, condition state lives in memory only. */
  readonly store?: ConditionStore;
  readonly clock: Clock;
  readonly onError?: (err: unknown) => void;
  /** Records the firing on its trigger event's trace (kind `emitted`). */
  readonly trace?: (entry: TraceEntry) => void;
  /** How often changed states are saved. Default 1,000 ms. */
  readonly snapshotIntervalMs?: number;
  /** The timer checks deadlines at least this often. Default 1,000 ms. */
  readonly maxTickIntervalMs?: number;
  /**
   * The timer runs a deadline only once the clock is this far past it, so that an event
   * appended just before the deadline but not yet routed is fed first. Default 100 ms.
   */
  readonly tickGraceMs?: number;
}

export interface ConditionRunner {
  /** Adds, replaces or (undefined, disabled, or without `when`) removes a rule's condition. */
  setRule(name: string, spec: RuleSpec | undefined): void;
  /**
   * Restores saved states of the rules set so far (deleting rows of other rules) and starts the
   * timers; `from` is where the router starts reading, `position` its read position from then on.
   */
  start(from: number, position: () => number): Promise<void>;
  /** A record the rule's `match` matched (ignored when the state already has it). */
  feed(record: LogRecord, rule: string): void;
  /** The lowest log offset a restart may need to read again; undefined when nothing is held. */
  safeOffset(): number | undefined;
  /** Runs every deadline up to `time` now (the caller makes sure earlier events were fed). */
  tick(time: number): Promise<void>;
  /** Appends every firing so far and saves changed states. */
  flush(): Promise<void>;
  /** Stops the timers, then appends the firings and saves a last snapshot. */
  close(): Promise<void>;
  readonly stats: { readonly fired: number; readonly saves: number };
}

interface Entry {
  spec: RuleSpec;
  cond: RuleCondition;
  /** Events below this offset are in the state already (a restored snapshot): never fed again. */
  from: number;
  /** The offset the saved row reflects, or where the state began before its first save. */
  durable: number;
  dirty: boolean;
  ticks: number;
}

/** After a feed, deadlines are looked at again this soon (real ms). */
const POKE_MS = 25;
/** While the router is behind, the timer looks again this soon. */
const BEHIND_MS = 250;

class ConditionRunnerImpl implements ConditionRunner {
  private readonly entries = new Map<string, Entry>();
  private readonly generations = new Map<string, number>();
  private readonly removals = new Set<string>();
  private readonly outbox: Outbox;
  private position: () => number = () => 0;
  private started = false;
  private closed = false;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerDue = Infinity;
  private saveTimer: ReturnType<typeof setInterval> | undefined;
  private saving: Promise<void> = Promise.resolve();
  private saveQueued = false;
  private savedPosition = -1;
  private lastLookAt = -Infinity;
  readonly stats = { fired: 0, saves: 0 };

  constructor(private readonly o: ConditionRunnerOptions) {
    this.outbox = createOutbox(o.log, (err) => this.error(err));
  }

  setRule(name: string, spec: RuleSpec | undefined): void {
    const active = spec?.enabled && spec.when ? spec : undefined;
    const current = this.entries.get(name);
    if (!active) {
      if (current) this.entries.delete(name);
      if (current) this.removals.add(name);
      return;
    }
    if (current && current.cond.fingerprint === conditionFingerprint(active)) {
      current.spec = active;
      return;
    }
    const generation = (this.generations.get(name) ?? 0) + 1;
    this.generations.set(name, generation);
    this.removals.delete(name);
    const cond = createRuleCondition(active, generation, { startedAt: this.o.clock.now() });
    const at = this.started ? this.position() : 0;
    this.entries.set(name, { spec: active, cond, from: -Infinity, durable: at, dirty: true, ticks: 0 });
    this.poke();
  }

  async start(from: number, position: () => number): Promise<void> {
    this.position = position;
    const fresh = new Set(this.entries.keys());
    if (this.o.store) {
      const end = (await this.o.log.stats()).nextOffset;
      for (const row of await this.o.store.list()) if (this.restore(row, end)) fresh.delete(row.rule);
    }
    // The silence of a fresh ungrouped absence starts at the first event the router will read,
    // so that after a crash before its first save it starts where it did before.
    const [first] = fresh.size > 0 ? await this.o.log.read({ from, limit: 1 }) : [];
    const startedAt = first?.appendedAt ?? this.o.clock.now();
    for (const name of fresh) {
      const e = this.entries.get(name)!;
      e.cond = createRuleCondition(e.spec, e.cond.generation, { startedAt });
      Object.assign(e, { from: -Infinity, durable: from, dirty: true });
    }
    this.started = true;
    this.savedPosition = from;
    if (this.o.store) {
      this.saveTimer = setInterval(() => {
        if (!this.saveQueued) void this.save();
      }, this.o.snapshotIntervalMs ?? 1_000);
      this.saveTimer.unref();
    }
    this.arm(0);
  }

  /** Takes a stored row for the rule set under its name; true when its state was restored. */
  private restore(row: ConditionRow, end: number): boolean {
    const e = this.entries.get(row.rule);
    this.generations.set(row.rule, Math.max(row.generation, this.generations.get(row.rule) ?? 0));
    if (!e) {
      this.removals.add(row.rule);
      return false;
    }
    // A row ahead of the log's end belongs to another log (a data directory put together by hand).
    if (row.fingerprint === e.cond.fingerprint && row.offset <= end) {
      try {
        e.cond = createRuleCondition(e.spec, row.generation, { snapshot: row.snapshot });
        Object.assign(e, { from: row.offset, durable: row.offset, dirty: false, ticks: 0 });
        return true;
      } catch (cause) {
        const message = `the saved condition state of rule '${row.rule}' cannot be restored; it starts empty`;
        this.error(new HomeostatError(ErrorCode.INTERNAL, message, { cause }));
      }
    }
    const generation = row.generation + 1;
    this.generations.set(row.rule, generation);
    e.cond = createRuleCondition(e.spec, generation);
    return false;
  }

  feed(record: LogRecord, rule: string): void {
    const e = this.entries.get(rule);
    // A rule's own firings never count towards its condition (that would feed back).
    if (!e || record.offset < e.from || firedRuleOf(record.event) === rule) return;
    e.dirty = true;
    this.emit(e, e.cond.feed(record));
    this.poke();
  }

  private emit(e: Entry, fired: readonly FiredEvent[]): void {
    for (const f of fired) {
      this.stats.fired++;
      this.outbox.push(f.event);
      if (f.trigger) this.traceFiring(e, f);
    }
  }

  private traceFiring(e: Entry, f: FiredEvent): void {
    const t = f.trigger!;
    const data = f.event.data as { kind: string; group: string };
    this.o.trace?.({
      source: t.event.source,
      id: t.event.id,
      offset: t.offset,
      at: this.o.clock.now(),
      kind: 'emitted',
      rule: e.spec.name,
      detail: { condition: data.kind, group: data.group, events: [{ source: f.event.source, id: f.event.id }] },
    });
  }

  private advanceAll(time: number): void {
    for (const e of this.entries.values()) {
      const fired = e.cond.advance(time);
      if (e.cond.ticks !== e.ticks) e.dirty = true;
      e.ticks = e.cond.ticks;
      this.emit(e, fired);
    }
  }

  async tick(time: number): Promise<void> {
    this.advanceAll(time);
    await this.outbox.drained(this.outbox.queued);
    this.arm();
  }

  safeOffset(): number | undefined {
    if (!this.o.store) return undefined;
    let min: number | undefined;
    for (const e of this.entries.values()) min = Math.min(min ?? Infinity, e.durable);
    return min;
  }

  /** True when the router has routed every record on the log. */
  private async caughtUp(): Promise<boolean> {
    const position = this.position();
    if (position >= (await this.o.log.stats()).nextOffset) return true;
    // Offsets need not be contiguous: look at the last record, but not more often than this.
    const now = performance.now();
    if (now - this.lastLookAt < BEHIND_MS) return false;
    this.lastLookAt = now;
    const [last] = await this.o.log.query({ order: 'desc', limit: 1 });
    return last === undefined || last.offset < position;
  }

  private async onTimer(): Promise<void> {
    this.timer = undefined;
    this.timerDue = Infinity;
    let behind = false;
    if (this.entries.size === 0) return;
    try {
      behind = !(await this.caughtUp());
      if (!behind && !this.closed) this.advanceAll(this.o.clock.now() - (this.o.tickGraceMs ?? 100));
    } catch (err) {
      if (!this.closed) this.error(err);
    }
    this.arm(behind ? BEHIND_MS : undefined);
  }

  /** Sets the timer for the earliest deadline (or `delay` real ms), capped at the max interval. */
  private arm(delay?: number): void {
    if (this.closed || !this.started || this.entries.size === 0) return;
    let wait = delay ?? this.o.maxTickIntervalMs ?? 1_000;
    if (delay === undefined) {
      let next = Infinity;
      for (const e of this.entries.values()) next = Math.min(next, e.cond.state.nextDeadline() ?? Infinity);
      const grace = this.o.tickGraceMs ?? 100;
      if (next !== Infinity) wait = Math.min(wait, Math.max(0, next + grace - this.o.clock.now()));
    }
    this.setTimer(wait);
  }

  private setTimer(wait: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDue = performance.now() + wait;
    this.timer = setTimeout(() => void this.onTimer(), wait);
    this.timer.unref();
  }

  /** A feed may have brought a deadline closer: look again soon. */
  private poke(): void {
    if (!this.started || this.closed || this.timerDue - performance.now() <= POKE_MS) return;
    this.setTimer(POKE_MS);
  }

  /** Saves changed states (one save at a time; a call during a save runs after it). */
  private save(): Promise<void> {
    this.saveQueued = true;
    const run = this.saving.then(() => {
      this.saveQueued = false;
      return this.saveOnce();
    });
    this.saving = run.catch((err: unknown) => this.error(err));
    return run;
  }

  private async saveOnce(): Promise<void> {
    const store = this.o.store;
    if (!store || !this.started) return;
    const position = this.position();
    const now = this.o.clock.now();
    const put: ConditionRow[] = [];
    const written: [Entry, number][] = [];
    const clean: Entry[] = [];
    for (const [rule, e] of this.entries) {
      const offset = Math.max(position, e.from);
      if (!e.dirty) clean.push(e);
      else {
        const { fingerprint, generation, state } = e.cond;
        put.push({ rule, fingerprint, generation, offset, snapshot: state.snapshot(), savedAt: now });
        written.push([e, offset]);
        e.dirty = false;
      }
    }
    const remove = [...this.removals];
    const moved = position > this.savedPosition && clean.length > 0;
    if (put.length === 0 && remove.length === 0 && !moved) return;
    this.removals.clear();
    try {
      // The firings the snapshot counts must be on the log before the snapshot is.
      await this.outbox.drained(this.outbox.queued);
      const advance = { rules: clean.map((e) => e.spec.name), offset: position };
      await store.save({ remove, put, advance });
    } catch (err) {
      for (const [e] of written) if (this.entries.get(e.spec.name) === e) e.dirty = true;
      for (const rule of remove) if (!this.entries.has(rule)) this.removals.add(rule);
      throw err;
    }
    this.stats.saves++;
    this.savedPosition = Math.max(this.savedPosition, position);
    for (const [e, offset] of written) e.durable = Math.max(e.durable, offset);
    for (const e of clean) e.durable = Math.max(e.durable, position);
  }

  async flush(): Promise<void> {
    await this.outbox.drained(this.outbox.queued);
    await this.save();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.saveTimer) clearInterval(this.saveTimer);
    try {
      await this.flush();
    } catch (err) {
      this.error(err);
    }
    this.outbox.close();
  }

  private error(err: unknown): void {
    this.o.onError?.(err);
  }
}

export function createConditionRunner(options: ConditionRunnerOptions): ConditionRunner {
  return new ConditionRunnerImpl(options);
}
