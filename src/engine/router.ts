/**
 * @module The router: follows the log from its committed offset, matches each event against
 * every enabled rule (one compiled matcher) and hands (event, rule, target) jobs to the
 * dispatcher. Its offset is committed only up to the first event whose jobs' first outcome is
 * not yet durable, so after a crash every unfinished event is read again (idempotency skips the
 * finished ones).
 *
 * A rule with `when` does not send matched events to its targets: it feeds them to its condition
 * (conditions.ts), which appends a `homeostat.condition.fired` event when it fires; reading that
 * event, the router delivers it to the rule's targets. The offset is also held back to what the
 * saved condition states reflect, so a restart feeds them every event they lack.
 */
import type { Clock } from '../core/clock.js';
import { createMatcher, type Matcher } from '../core/pattern/index.js';
import type { RuleSpec, TargetSpec } from '../core/rules/types.js';
import type { DeliveryStore } from '../ports/delivery-store.js';
import type { EventLog, LogRecord } from '../ports/event-log.js';
import { firedRuleOf } from './condition-rule.js';
import type { ConditionRunner } from './conditions.js';
import type { DeliveryJob, Dispatcher } from './dispatcher.js';
import type { EventTracing } from '../telemetry/event-tracing.js';
import { Fifo } from './fifo.js';
import type { StateWriter } from './state-writer.js';

export const ROUTER_CONSUMER = 'router';

export interface RouterOptions {
  readonly log: EventLog;
  readonly dispatcher: Dispatcher;
  readonly writer: StateWriter;
  readonly store: DeliveryStore;
  readonly clock: Clock;
  /** Pause reading while the dispatcher holds this many jobs. Default 20,000. */
  readonly maxBacklog?: number;
  /** How often the offset is committed. Default 200 ms. */
  readonly commitIntervalMs?: number;
  readonly onError?: (err: unknown) => void;
  /** Runs the rules' `when` conditions; without it a rule's `when` is ignored. */
  readonly conditions?: Pick<ConditionRunner, 'start' | 'feed' | 'safeOffset'>;
  /** A `match <rule>` span per matching rule, under the event's traceparent. */
  readonly tracing?: EventTracing;
  /** The name its offset is committed under. Default `router`. */
  readonly consumer?: string;
  /** Route only these partitions' events (a node owns some partitions of a cluster). Default all. */
  readonly partitions?: readonly number[];
  /** Deliver only to targets this accepts (the others are another router's). Default all. */
  readonly deliverTo?: (target: TargetSpec) => boolean;
  /**
   * Without `conditions`: true leaves rules with `when` to another router that runs their
   * conditions (their firings are still delivered here); false (default) ignores their `when`.
   */
  readonly skipWhen?: boolean;
  /** Counts into these stats (several routers of one node share one set). Default its own. */
  readonly stats?: RouterStats & { routed: number; matched: number; byRule: Map<string, number> };
}

export interface RouterStats {
  readonly routed: number;
  readonly matched: number;
  /** Matches per rule name since start (deleted rules keep their count). */
  readonly byRule: ReadonlyMap<string, number>;
}

export interface Router {
  /** Adds, replaces, or (undefined or disabled) removes a rule; takes effect for the next event. */
  setRule(name: string, spec: RuleSpec | undefined): void;
  /** The current spec of an enabled rule. */
  rule(name: string): RuleSpec | undefined;
  start(): Promise<void>;
  /** Offset of the next event to route. */
  readonly position: number;
  /** Resolves once every event up to `offset` (inclusive) was routed, or the router closed. */
  routedPast(offset: number): Promise<void>;
  readonly stats: RouterStats;
  close(): Promise<void>;
}

interface Outstanding {
  readonly offset: number;
  remaining: number;
}

class RouterImpl implements Router {
  private readonly matcher: Matcher<string> = createMatcher<string>();
  private readonly rules = new Map<string, RuleSpec>();
  private readonly outstanding = new Fifo<Outstanding>();
  private next = 0;
  private committed = -1;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private commitTimer: ReturnType<typeof setInterval> | undefined;
  private waiters: { offset: number; resolve: () => void }[] = [];
  private closed = false;
  readonly stats: { routed: number; matched: number; byRule: Map<string, number> };

  constructor(private readonly o: RouterOptions) {
    this.stats = o.stats ?? { routed: 0, matched: 0, byRule: new Map<string, number>() };
  }

  get position(): number {
    return this.next;
  }

  setRule(name: string, spec: RuleSpec | undefined): void {
    if (spec?.enabled) {
      this.rules.set(name, spec);
      this.matcher.set(name, spec.match);
    } else {
      this.rules.delete(name);
      this.matcher.delete(name);
    }
  }

  rule(name: string): RuleSpec | undefined {
    return this.rules.get(name);
  }

  private get consumer(): string {
    return this.o.consumer ?? ROUTER_CONSUMER;
  }

  async start(): Promise<void> {
    const { log } = this.o;
    const stored = await log.committedOffset(this.consumer);
    // A new router starts at the end of the log: rules act on events from now on.
    this.next = stored ?? (await log.stats()).nextOffset;
    if (stored === undefined) await log.commitOffset(this.consumer, this.next);
    this.committed = this.next;
    await this.o.conditions?.start(this.next, () => this.next);
    this.commitTimer = setInterval(() => void this.commit(), this.o.commitIntervalMs ?? 200);
    this.loop = this.follow();
  }

  private async follow(): Promise<void> {
    const maxBacklog = this.o.maxBacklog ?? 20_000;
    try {
      const partitions = this.o.partitions === undefined ? {} : { partitions: this.o.partitions };
      for await (const record of this.o.log.follow({ from: this.next, signal: this.abort.signal, ...partitions })) {
        this.route(record);
        if (this.o.dispatcher.backlog >= maxBacklog) await this.o.dispatcher.whenBelow(maxBacklog / 2);
      }
    } catch (err) {
      if (!this.abort.signal.aborted) this.o.onError?.(err);
    }
  }

  /** Matches one event and submits its jobs. */
  route(record: LogRecord): void {
    this.stats.routed++;
    const names = this.matcher.match(record.event);
    const entry: Outstanding = { offset: record.offset, remaining: 0 };
    const settled = () => {
      entry.remaining--;
      if (entry.remaining === 0) this.advance();
    };
    const jobs: DeliveryJob[] = [];
    const add = (name: string, targets: readonly TargetSpec[]) => {
      for (const target of targets) jobs.push(this.job(record, name, target, settled));
    };
    const firedBy = this.firedBy(record);
    for (const name of names) {
      const spec = this.rules.get(name);
      if (!spec || name === firedBy) continue;
      if (spec.when && this.o.conditions) {
        this.matchedRule(record, name, true);
        this.o.conditions.feed(record, name);
        continue;
      }
      if (spec.when && this.o.skipWhen) continue;
      const targets = this.deliverable(spec.targets);
      if (targets.length === 0) continue;
      this.matchedRule(record, name, spec.when !== undefined);
      add(name, targets);
    }
    if (firedBy !== undefined) {
      const targets = this.deliverable(this.rules.get(firedBy)!.targets);
      if (targets.length > 0) {
        this.matchedRule(record, firedBy, true);
        add(firedBy, targets);
      }
    }
    entry.remaining = jobs.length;
    if (jobs.length > 0) this.outstanding.push(entry);
    this.next = record.offset + 1;
    if (this.waiters.length > 0) this.wake();
    if (jobs.length === 0 && this.outstanding.length === 0) return;
    for (const job of jobs) this.o.dispatcher.submit(job);
  }

  private matchedRule(record: LogRecord, rule: string, condition: boolean): void {
    this.stats.matched++;
    this.stats.byRule.set(rule, (this.stats.byRule.get(rule) ?? 0) + 1);
    this.trace(record, rule);
    const tracing = this.o.tracing;
    if (tracing?.enabled) {
      const attributes = {
        'homeostat.rule': rule,
        'homeostat.offset': record.offset,
        'homeostat.condition': condition,
      };
      tracing.mark(`match ${rule}`, tracing.contextOf(record.event), attributes);
    }
  }

  /** The targets this router delivers to. */
  private deliverable(targets: readonly TargetSpec[]): readonly TargetSpec[] {
    const accept = this.o.deliverTo;
    return accept === undefined ? targets : targets.filter(accept);
  }

  /** The rule with `when` whose firing this event is, if any: its targets receive the event. */
  private firedBy(record: LogRecord): string | undefined {
    const rule = firedRuleOf(record.event);
    if (rule === undefined || (!this.o.conditions && !this.o.skipWhen)) return undefined;
    return this.rules.get(rule)?.when ? rule : undefined;
  }

  private job(record: LogRecord, rule: string, target: TargetSpec, settled: () => void): DeliveryJob {
    return {
      record,
      rule,
      target: target.id,
      key: { source: record.event.source, id: record.event.id, rule, target: target.id },
      attempts: 0,
      firstSeenAt: record.appendedAt,
      replayed: false,
      redriven: false,
      checked: false,
      settled,
    };
  }

  routedPast(offset: number): Promise<void> {
    if (this.next > offset || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ offset, resolve }));
  }

  private wake(): void {
    const keep = [];
    for (const w of this.waiters) {
      if (this.closed || this.next > w.offset) w.resolve();
      else keep.push(w);
    }
    this.waiters = keep;
  }

  private trace(record: LogRecord, rule: string): void {
    const entry = {
      source: record.event.source,
      id: record.event.id,
      offset: record.offset,
      at: this.o.clock.now(),
      kind: 'matched' as const,
      rule,
    };
    this.o.writer.write([{ kind: 'trace', entry }]).catch((err: unknown) => this.o.onError?.(err));
  }

  private advance(): void {
    while (this.outstanding.length > 0 && this.outstanding.peek()!.remaining === 0) this.outstanding.shift();
  }

  /** The offset below which every event's jobs have a durable first outcome. */
  private safeOffset(): number {
    const delivered = this.outstanding.peek()?.offset ?? this.next;
    return Math.min(delivered, this.o.conditions?.safeOffset() ?? Infinity);
  }

  private async commit(): Promise<void> {
    const safe = this.safeOffset();
    if (safe <= this.committed) return;
    try {
      await this.o.log.commitOffset(this.consumer, safe);
      this.committed = safe;
    } catch (err) {
      this.o.onError?.(err);
    }
  }

  async close(): Promise<void> {
    this.abort.abort();
    if (this.commitTimer) clearInterval(this.commitTimer);
    await this.loop;
    this.closed = true;
    this.wake();
  }

  /** After the dispatcher has drained: commit what is safe. */
  async finalCommit(): Promise<void> {
    await this.commit();
  }
}

export function createRouter(options: RouterOptions): Router & { finalCommit(): Promise<void> } {
  return new RouterImpl(options);
}
