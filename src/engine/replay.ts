/**
 * @module Replay: re-delivers a time range of the log to one rule (or every enabled rule), each
 * delivery marked as replayed. A replay has its own id, part of its deliveries' idempotency keys
 * (target `<id>#replay-<replay id>`), so it is delivered once per replay even across restarts.
 */
import type { Clock } from '../core/clock.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { createMatcher } from '../core/pattern/index.js';
import type { RuleSpec } from '../core/rules/types.js';
import type { EventLog } from '../ports/event-log.js';
import { type Dispatcher, replayTarget } from './dispatcher.js';
import { type LogRange, readRange } from './log-range.js';

export interface ReplayOptions {
  readonly log: EventLog;
  readonly dispatcher: Dispatcher;
  readonly clock: Clock;
  /** The rules to replay to. */
  readonly rules: readonly RuleSpec[];
  readonly range: LogRange;
  /** Distinguishes this replay's deliveries from earlier ones. */
  readonly replayId: string;
  readonly maxBacklog?: number;
}

export interface ReplayReport {
  readonly replayId: string;
  readonly scanned: number;
  readonly matched: number;
  /** Deliveries queued. */
  readonly submitted: number;
}

export async function runReplay(o: ReplayOptions): Promise<ReplayReport> {
  if (o.rules.length === 0) {
    throw new HomeostatError(ErrorCode.INVALID, 'no rule to replay to: name an existing rule or enable one');
  }
  const matcher = createMatcher<string>();
  const byName = new Map(o.rules.map((r) => [r.name, r]));
  for (const r of o.rules) matcher.set(r.name, r.match);
  const maxBacklog = o.maxBacklog ?? 20_000;
  let scanned = 0;
  let matched = 0;
  let submitted = 0;
  for await (const page of readRange(o.log, o.range)) {
    for (const record of page) {
      scanned++;
      for (const name of matcher.match(record.event)) {
        matched++;
        for (const target of byName.get(name)!.targets) {
          submitted++;
          const key = {
            source: record.event.source,
            id: record.event.id,
            rule: name,
            target: replayTarget(target.id, o.replayId),
          };
          o.dispatcher.submit({
            record,
            rule: name,
            target: target.id,
            key,
            attempts: 0,
            firstSeenAt: o.clock.now(),
            replayed: true,
            redriven: false,
            checked: false,
          });
        }
      }
    }
    if (o.dispatcher.backlog >= maxBacklog) await o.dispatcher.whenBelow(maxBacklog / 2);
  }
  return { replayId: o.replayId, scanned, matched, submitted };
}
