/**
 * @module The reconciler's causation (each replacement is attributed to the failure that needed it),
 * and groups delegated to a policy or held after a crash loop.
 */
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../core/clock.js';
import { hasCode } from '../../core/errors.js';
import type { InstancePhase, Resource } from '../../core/infra/types.js';
import type { Provider, ProviderChange } from '../../ports/provider.js';
import { createReconciler, type ReconcilerOptions } from './reconciler.js';

/** An in-memory provider: a group of `desired` instances whose phases the test sets. */
function memoryProvider(desired: number) {
  const phases = new Map<string, InstancePhase>();
  let next = 1;
  const stops: string[] = [];
  const changes: ProviderChange[] = [];
  const start = () => phases.set(`web-${next++}`, 'running');
  for (let i = 0; i < desired; i++) start();
  const group = {
    kind: 'InstanceGroup',
    name: 'web',
    spec: { template: { command: 'node', args: [], env: {}, port: 0 }, desired, min: 0, max: 10 },
    tags: {},
    pricePerHour: 0,
    provider: 'mem',
  } as unknown as Resource;
  const provider: Provider = {
    name: 'mem',
    kinds: ['InstanceGroup', 'Instance'],
    instanceTypes: {},
    start: () => Promise.resolve(),
    observe: () =>
      Promise.resolve([
        group,
        ...[...phases].map(([name, phase]): Resource<'Instance'> => ({
          kind: 'Instance',
          name,
          spec: { group: 'web' },
          status: { group: 'web', phase, healthy: phase === 'running', readyAt: 1, startedAt: 0 },
          tags: {},
          pricePerHour: 0,
          provider: 'mem',
        })),
      ]),
    apply: (change: ProviderChange) => {
      changes.push(change);
      if (change.op === 'start-instance') start();
      if (change.op === 'stop-instance') {
        stops.push(change.name);
        phases.set(change.name, 'stopped');
      }
      return Promise.resolve();
    },
    set: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  return {
    provider,
    crash: (name: string) => phases.set(name, 'crashed'),
    stall: (name: string) => phases.set(name, 'starting'),
    stopped: () => stops,
    changes,
    setDesired: (n: number) => {
      (group.spec as { desired: number }).desired = n;
    },
    phase: (name: string) => phases.get(name),
    names: () => [...phases.keys()],
  };
}

describe('reconciler causation', () => {
  it('attributes a second crash’s replacement to that crash, not to an earlier crashed instance still listed', async () => {
    const { provider, crash } = memoryProvider(3);
    const decisions: Parameters<ReconcilerOptions['decide']>[0][] = [];
    const reconciler = createReconciler({
      providers: new Map([['mem', provider]]),
      clock: createManualClock(),
      decide: (event) => {
        decisions.push(event);
        return `decision-${decisions.length}`;
      },
    });
    crash('web-1');
    reconciler.noteEvent('instance/web-1', 'crash-of-web-1');
    await reconciler.pass();
    crash('web-2');
    reconciler.noteEvent('instance/web-2', 'crash-of-web-2');
    await reconciler.pass();
    expect(decisions.map((d) => d.causationid)).toEqual(['crash-of-web-1', 'crash-of-web-2']);
    expect(decisions[1]!.data).toMatchObject({ op: 'start-instance', reason: 'replace web-2 (crashed)' });
    await reconciler.close();
  });

  it('replaces an instance that is still starting after the boot timeout, and not before', async () => {
    const { provider, stall, stopped } = memoryProvider(2);
    const clock = createManualClock(0);
    const reconciler = createReconciler({
      providers: new Map([['mem', provider]]),
      clock,
      bootTimeoutMs: 60_000,
      decide: () => 'd',
    });
    stall('web-1');
    await reconciler.pass();
    clock.set(59_000);
    await reconciler.pass();
    expect(stopped()).toEqual([]);
    clock.set(61_000);
    await reconciler.pass();
    expect(stopped()).toEqual(['web-1']);
    await reconciler.close();
  });
});

describe('reconciler with groups delegated to a policy', () => {
  function setup(desired = 3) {
    const mem = memoryProvider(desired);
    const reconciler = createReconciler({
      providers: new Map([['mem', mem.provider]]),
      clock: createManualClock(),
      decide: () => 'decision',
    });
    return { ...mem, reconciler };
  }
  const starts = (changes: ProviderChange[]) => changes.filter((c) => c.op === 'start-instance');

  it('leaves a crashed instance of a delegated group unreplaced, and replaces it once delegation ends', async () => {
    const { reconciler, crash, changes } = setup();
    reconciler.delegate('web', true);
    expect(reconciler.isDelegated('web')).toBe(true);
    crash('web-2');
    await reconciler.pass();
    expect(changes).toEqual([]);
    reconciler.delegate('web', false);
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(1);
    await reconciler.close();
  });

  it('does not stop an unhealthy instance of a delegated group, but stops one of a group that is not', async () => {
    const { reconciler, changes } = setup();
    reconciler.delegate('web', true);
    reconciler.noteEvent('instance/web-1', 'unhealthy-1', 'instance.unhealthy');
    await reconciler.pass();
    expect(changes).toEqual([]);
    reconciler.delegate('web', false);
    await reconciler.pass();
    expect(changes.map((c) => c.op)).toEqual(['stop-instance', 'start-instance']);
    await reconciler.close();
  });

  it('still scales a delegated group out and in when nothing failed, even right after a scale-in', async () => {
    const { reconciler, changes, setDesired } = setup(3);
    reconciler.delegate('web', true);
    setDesired(1);
    await reconciler.pass();
    expect(changes.filter((c) => c.op === 'stop-instance')).toHaveLength(2);
    // The two stopped instances are still listed: a requested stop is no failure to leave alone.
    setDesired(4);
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(3);
    await reconciler.close();
  });

  it('fills only the shortfall no failure explains when a delegated group is also scaled out', async () => {
    const { reconciler, crash, changes, setDesired } = setup(2);
    reconciler.delegate('web', true);
    crash('web-1');
    setDesired(4);
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(2);
    await reconciler.close();
  });

  it('replace stops the instance without drain, starts one in its group with the cause, and no pass adds another', async () => {
    const { reconciler, crash, changes, phase } = setup(3);
    reconciler.delegate('web', true);
    reconciler.noteEvent('instance/web-1', 'unhealthy-1', 'instance.unhealthy');
    crash('web-2');
    await expect(reconciler.replace('web-1', 'action-1')).resolves.toEqual({ provider: 'mem', group: 'web' });
    expect(changes).toEqual([
      { op: 'stop-instance', name: 'web-1', drain: false, cause: 'action-1' },
      { op: 'start-instance', group: 'web', cause: 'action-1' },
    ]);
    expect(phase('web-1')).toBe('stopped');
    // web-2 crashed too but nobody handled it yet: still the policy's.
    await reconciler.pass();
    expect(changes).toHaveLength(2);
    await reconciler.replace('web-2', 'action-2');
    await reconciler.pass();
    expect(starts(changes).map((c) => c.cause)).toEqual(['action-1', 'action-2']);
    await reconciler.close();
  });

  it('starts no instance at all in a held group, and fills it to desired once released', async () => {
    const { reconciler, crash, changes, setDesired } = setup(3);
    reconciler.hold('web', true);
    expect(reconciler.isHeld('web')).toBe(true);
    crash('web-1');
    setDesired(4);
    await reconciler.pass();
    expect(changes).toEqual([]);
    reconciler.hold('web', false);
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(2);
    await reconciler.close();
  });

  it('replaces the failures of a delegated group once its hold is released (the backlog goes back to the reconciler)', async () => {
    const { reconciler, crash, changes } = setup(2);
    reconciler.delegate('web', true);
    reconciler.hold('web', true);
    crash('web-1');
    crash('web-2');
    await reconciler.pass();
    expect(changes).toEqual([]);
    reconciler.hold('web', false);
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(2);
    // Handled now: the next pass adds nothing.
    await reconciler.pass();
    expect(starts(changes)).toHaveLength(2);
    await reconciler.close();
  });

  it('refuses to replace an instance of a held group (E_CONFLICT) and changes nothing', async () => {
    const { reconciler, crash, changes } = setup(2);
    reconciler.hold('web', true);
    crash('web-1');
    const err = await reconciler.replace('web-1', 'a').catch((e: unknown) => e);
    expect(hasCode(err, 'E_CONFLICT')).toBe(true);
    expect((err as Error).message).toContain("'web' is held");
    expect(changes).toEqual([]);
    await reconciler.close();
  });

  it('reports E_NOT_FOUND when replacing an instance no provider has', async () => {
    const { reconciler } = setup(1);
    const err = await reconciler.replace('web-9', 'a').catch((e: unknown) => e);
    expect(hasCode(err, 'E_NOT_FOUND')).toBe(true);
    await reconciler.close();
  });
});
