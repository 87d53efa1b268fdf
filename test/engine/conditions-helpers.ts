/** @module Shared pieces of the condition tests: a manual-clock engine, rule manifests, reading firings. */
import { type ManualClock, createManualClock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import { CONDITION_FIRED_TYPE, conditionSource } from '../../src/core/rules/types.js';
import type { FiredData } from '../../src/engine/condition-rule.js';
import { type Sink, startEngine, startSink, type StartOptions, type TestEngine } from './harness.js';

/** 2026-01-01T00:00:00Z: the manual clock's start. */
export const T0 = Date.UTC(2026, 0, 1);

export interface ConditionRig {
  readonly clock: ManualClock;
  readonly sink: Sink;
  t: TestEngine;
  /** Appends events (at the clock's time), waits until they are routed, runs due deadlines. */
  send(...events: Partial<CloudEvent>[]): Promise<void>;
  /** Moves the clock on by `ms` and runs the deadlines up to then. */
  after(ms: number): Promise<void>;
  /** The fired events on the log, of one rule or all, in log order. */
  firings(rule?: string): Promise<(CloudEvent & { data: FiredData })[]>;
  /** A Rule manifest with `when` and one http target pointing at the sink. */
  rule(
    name: string,
    when: unknown,
    extra?: { match?: unknown; target?: Record<string, unknown> },
  ): Record<string, unknown>;
  /** Stops the engine and starts another on the same data directory (`whileDown` runs in between). */
  restart(rules?: Record<string, unknown>[], whileDown?: () => void): Promise<void>;
  close(): Promise<void>;
}

export async function startRig(options: StartOptions = {}): Promise<ConditionRig> {
  const clock = createManualClock(T0);
  const sink = await startSink();
  const start = (dir?: string, rules: Record<string, unknown>[] = []) =>
    startEngine(dir, rules, { clock, conditionOptions: { tickGraceMs: 0 }, ...options });
  const rig: ConditionRig = {
    clock,
    sink,
    t: await start(),
    async send(...events) {
      await rig.t.publish(events);
      await rig.t.engine.tickConditions();
    },
    async after(ms) {
      clock.advance(ms);
      await rig.t.engine.tickConditions();
    },
    async firings(rule) {
      const records = await rig.t.log.query({ types: [CONDITION_FIRED_TYPE], limit: 1000 });
      return records
        .map((r) => r.event as CloudEvent & { data: FiredData })
        .filter((e) => rule === undefined || e.source === conditionSource(rule));
    },
    rule(name, when, extra = {}) {
      return {
        metadata: { name },
        spec: {
          match: extra.match ?? { type: ['test.event'] },
          when,
          targets: [{ name: 'hook', action: 'http', with: { url: sink.url }, ...extra.target }],
        },
      };
    },
    async restart(rules = [], whileDown) {
      await rig.t.stop();
      whileDown?.();
      rig.t = await start(rig.t.dir, rules);
    },
    async close() {
      await rig.t.stop();
      await rig.t.remove();
      await sink.close();
    },
  };
  return rig;
}

/** Milliseconds since T0 of a fired event's firing time. */
export function firedAt(e: { data: FiredData }): number {
  return Date.parse(e.data.at) - T0;
}
