import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isReversal } from './flap.js';
import { createRails, type Rails, type RailsSnapshot } from './rails.js';
import type { ActionDirection, RailRequest, SafetySpec, Verdict } from './types.js';

interface Step {
  readonly dt: number;
  readonly policy: string;
  readonly resource: string;
  readonly direction: ActionDirection;
  readonly fails: boolean;
  readonly inGroup: boolean;
}

const specArb: fc.Arbitrary<SafetySpec> = fc.record({
  mode: fc.constant('enforce' as const),
  cooldownMs: fc.constantFrom(0, 500, 3_000),
  rateLimit: fc.record({ max: fc.integer({ min: 1, max: 6 }), perMs: fc.integer({ min: 1_000, max: 10_000 }) }),
  blastRadius: fc.record({
    maxResources: fc.integer({ min: 1, max: 4 }),
    maxPercent: fc.constantFrom(10, 25, 50, 100),
    perMs: fc.integer({ min: 1_000, max: 10_000 }),
  }),
  flap: fc.record({ maxReversals: fc.integer({ min: 1, max: 3 }), withinMs: fc.integer({ min: 2_000, max: 20_000 }) }),
});

const stepArb = (groups: boolean): fc.Arbitrary<Step> =>
  fc.record({
    dt: fc.oneof(
      { arbitrary: fc.integer({ min: 0, max: 800 }), weight: 8 },
      { arbitrary: fc.integer({ min: 0, max: 8_000 }), weight: 1 },
    ),
    policy: fc.constantFrom('P', 'Q'),
    resource: fc.constantFrom('r0', 'r1', 'r2', 'r3', 'r4'),
    direction: fc.constantFrom<ActionDirection>('up', 'down', 'none', 'change', 'revert'),
    fails: fc.integer({ min: 0, max: 9 }).map((n) => n < 2),
    inGroup: groups ? fc.boolean() : fc.constant(false),
  });

const GROUP_SIZE = 8;
const toRequest = (s: Step): RailRequest => ({
  action: 'act',
  resource: s.resource,
  direction: s.direction,
  ...(s.inGroup ? { group: 'g', groupSize: GROUP_SIZE } : {}),
});

interface Done {
  readonly step: Step;
  readonly at: number;
  readonly executed: boolean;
}

function run(spec: SafetySpec, steps: readonly Step[], rails: Rails = createRails(), start = 0) {
  let now = start;
  const done: Done[] = [];
  const verdicts: Verdict[] = [];
  for (const step of steps) {
    now += step.dt;
    const v = rails.check(step.policy, spec, toRequest(step), now);
    verdicts.push(v);
    if (!v.allow) continue;
    const handle = rails.record(step.policy, toRequest(step), now, 'executed');
    if (step.fails) handle.fail();
    done.push({ step, at: now, executed: !step.fails });
  }
  return { done, verdicts, now };
}

const inWindow = (done: readonly Done[], end: number, ms: number) => done.filter((d) => d.at > end - ms && d.at <= end);

describe('rails invariants over random action sequences', () => {
  it('never lets through more than the limits allow', () => {
    fc.assert(
      fc.property(specArb, fc.array(stepArb(true), { maxLength: 80 }), (spec, steps) => {
        const { done } = run(spec, steps);
        for (const policy of ['P', 'Q']) {
          const mine = done.filter((d) => d.step.policy === policy);
          for (const d of mine) {
            expect(inWindow(mine, d.at, spec.rateLimit.perMs).length).toBeLessThanOrEqual(spec.rateLimit.max);
            const touched = new Set(inWindow(mine, d.at, spec.blastRadius.perMs).map((x) => x.step.resource));
            expect(touched.size).toBeLessThanOrEqual(spec.blastRadius.maxResources);
            const cap = Math.max(1, Math.floor((GROUP_SIZE * spec.blastRadius.maxPercent) / 100));
            const grouped = inWindow(mine, d.at, spec.blastRadius.perMs).filter((x) => x.step.inGroup);
            expect(new Set(grouped.map((x) => x.step.resource)).size).toBeLessThanOrEqual(cap);
          }
          for (const resource of ['r0', 'r1', 'r2', 'r3', 'r4']) {
            const seq = mine.filter((d) => d.step.resource === resource);
            for (let i = 1; i < seq.length; i++) {
              expect(seq[i]!.at - seq[i - 1]!.at).toBeGreaterThanOrEqual(spec.cooldownMs);
            }
            const moves = seq.filter((d) => d.executed && d.step.direction !== 'none');
            for (let i = 1; i < moves.length; i++) {
              const end = moves[i]!.at;
              let reversals = 0;
              for (let j = 1; j <= i; j++) {
                if (
                  moves[j]!.at > end - spec.flap.withinMs &&
                  isReversal(moves[j - 1]!.step.direction, moves[j]!.step.direction)
                )
                  reversals++;
              }
              expect(reversals).toBeLessThanOrEqual(spec.flap.maxReversals);
            }
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('stops two policies that keep undoing each other on a resource', () => {
    fc.assert(
      fc.property(specArb, fc.array(stepArb(false), { maxLength: 80 }), (spec, steps) => {
        const { done } = run(spec, steps);
        for (const resource of ['r0', 'r1', 'r2', 'r3', 'r4']) {
          const moves = done.filter((d) => d.step.resource === resource && d.executed && d.step.direction !== 'none');
          for (let i = 1; i < moves.length; i++) {
            const end = moves[i]!.at;
            let crossed = 0;
            for (let j = 1; j <= i; j++) {
              const [a, b] = [moves[j - 1]!, moves[j]!];
              if (
                b.at > end - spec.flap.withinMs &&
                a.step.policy !== b.step.policy &&
                isReversal(a.step.direction, b.step.direction)
              )
                crossed++;
            }
            expect(crossed).toBeLessThanOrEqual(spec.flap.maxReversals);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same verdicts after a snapshot is restored (through JSON) into a new instance', () => {
    fc.assert(
      fc.property(specArb, fc.array(stepArb(true), { maxLength: 60 }), fc.nat(), (spec, steps, cutSeed) => {
        const cut = steps.length === 0 ? 0 : cutSeed % steps.length;
        const whole = run(spec, steps);
        const first = createRails();
        const head = run(spec, steps.slice(0, cut), first);
        const copy = createRails();
        copy.restore(JSON.parse(JSON.stringify(first.snapshot())) as RailsSnapshot);
        const tail = run(spec, steps.slice(cut), copy, head.now);
        expect([...head.verdicts, ...tail.verdicts]).toEqual(whole.verdicts);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses until retryAt and no longer after it (cooldown, rate limit, blast radius)', () => {
    fc.assert(
      fc.property(specArb, fc.array(stepArb(false), { maxLength: 60 }), (spec, steps) => {
        const rails = createRails();
        let now = 0;
        for (const step of steps) {
          now += step.dt;
          const req = toRequest({ ...step, direction: 'none' });
          const v = rails.check(step.policy, spec, req, now);
          if (v.allow) {
            rails.record(step.policy, req, now, 'executed');
            continue;
          }
          if (v.retryAt === undefined) continue;
          expect(v.retryAt).toBeGreaterThan(now);
          const probe = (t: number): Verdict => {
            const copy = createRails();
            copy.restore(rails.snapshot());
            return copy.check(step.policy, spec, req, t);
          };
          const before = probe(v.retryAt - 1);
          expect(before.allow ? undefined : before.rail).toBe(v.rail);
          const after = probe(v.retryAt);
          if (!after.allow) expect(after.rail).not.toBe(v.rail);
        }
      }),
      { numRuns: 300 },
    );
  });
});
