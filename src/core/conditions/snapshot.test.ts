import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseWhen } from './parse.js';
import { createConditionState } from './state.js';
import type { ConditionState, Firing } from './types.js';

const SPECS: Record<string, unknown> = {
  sustained: { for: '2s', maxGap: '1s', debounce: '300ms', cooldown: '1s' },
  count: { count: { atLeast: 3, within: '2s' }, groupBy: 'subject', cooldown: '3s' },
  absent: { absent: '2s', groupBy: 'subject' },
  absentUngrouped: { absent: '2s', cooldown: '1s' },
  sequence: { sequence: { first: 'A', then: 'B', within: '1500ms' }, groupBy: 'subject', cooldown: '1s' },
  aggregate: {
    aggregate: { fn: 'p95', field: 'data.v', op: '>=', value: 60, within: '2s' },
    groupBy: 'subject',
    debounce: '300ms',
  },
};

type Step =
  | { readonly tick: true; readonly dt: number }
  | { readonly tick: false; readonly dt: number; readonly subject: string; readonly step: string; readonly v: number };

// Mostly short gaps so windows fill and conditions fire; now and then a long one so they expire.
const dtArb = fc.oneof(
  { arbitrary: fc.integer({ min: 0, max: 300 }), weight: 9 },
  { arbitrary: fc.integer({ min: 0, max: 2500 }), weight: 1 },
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ tick: fc.constant(true as const), dt: dtArb }),
  fc.record({
    tick: fc.constant(false as const),
    dt: dtArb,
    subject: fc.constantFrom('a', 'b', 'c'),
    step: fc.constantFrom('A', 'B', 'C'),
    v: fc.integer({ min: 0, max: 100 }),
  }),
);

/** Runs the steps; before step `cut` the state is persisted as JSON text and restored into a new instance. */
function run(
  spec: unknown,
  steps: readonly Step[],
  cut?: number,
): { firings: Firing[]; deadlines: (number | undefined)[] } {
  const make = (): ConditionState => createConditionState(parseWhen(spec, '/when'), { startedAt: 0 });
  let s = make();
  let now = 0;
  const firings: Firing[] = [];
  const deadlines: (number | undefined)[] = [];
  steps.forEach((step, i) => {
    if (i === cut) {
      const text = JSON.stringify(s.snapshot());
      s = make();
      s.restore(JSON.parse(text));
    }
    now += step.dt;
    if (step.tick) firings.push(...s.onTick(now));
    else firings.push(...s.onEvent({ subject: step.subject, data: { v: step.v } }, now, step.step));
    deadlines.push(s.nextDeadline());
  });
  return { firings, deadlines };
}

describe('snapshot and restore', () => {
  for (const [name, spec] of Object.entries(SPECS)) {
    it(`a restored ${name} condition fires exactly like an uninterrupted one`, () => {
      let firings = 0;
      fc.assert(
        fc.property(fc.array(stepArb, { minLength: 30, maxLength: 150 }), fc.nat(), (steps, at) => {
          const cut = at % steps.length;
          const whole = run(spec, steps);
          expect(run(spec, steps, cut)).toEqual(whole);
          firings += whole.firings.length;
        }),
        { numRuns: 200 },
      );
      // The streams must exercise firing, or the property proves little.
      expect(firings).toBeGreaterThan(100);
    });
  }

  it('never fires twice for one holding period across a restart', () => {
    const spec = parseWhen({ absent: '1s' }, '');
    const a = createConditionState(spec, { startedAt: 0 });
    expect(a.onTick(1000)).toHaveLength(1);
    const b = createConditionState(spec);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.onTick(5000)).toEqual([]);
    expect(b.nextDeadline()).toBeUndefined();
  });

  it('remembers a half-full window across a restart', () => {
    const spec = parseWhen({ count: { atLeast: 3, within: '10s' } }, '');
    const a = createConditionState(spec);
    a.onEvent({}, 0);
    a.onEvent({}, 1000);
    const b = createConditionState(spec);
    b.restore(JSON.parse(JSON.stringify(a.snapshot())));
    expect(b.onEvent({}, 2000).map((f) => f.at)).toEqual([2000]);
  });
});

describe('count window against a naive reference', () => {
  it('keeping only atLeast timestamps fires exactly where counting every event does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 800 }), { minLength: 1, maxLength: 80 }),
        (atLeast, gaps) => {
          const within = 1000;
          const s = createConditionState(parseWhen({ count: { atLeast, within } }, ''));
          const seen: number[] = [];
          let armed = true;
          let now = 0;
          const naive: number[] = [];
          const fast: number[] = [];
          for (const gap of gaps) {
            now += gap;
            if (seen.filter((t) => now - t <= within).length < atLeast) armed = true;
            seen.push(now);
            if (armed && seen.filter((t) => now - t <= within).length >= atLeast) {
              naive.push(now);
              armed = false;
            }
            fast.push(...s.onEvent({}, now).map((f) => f.at));
          }
          expect(fast).toEqual(naive);
        },
      ),
      { numRuns: 300 },
    );
  });
});
