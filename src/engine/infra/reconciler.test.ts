/** @module The reconciler's causation: each replacement is attributed to the failure that needed it. */
import { describe, expect, it } from 'vitest';
import { createManualClock } from '../../core/clock.js';
import type { InstancePhase, Resource } from '../../core/infra/types.js';
import type { Provider, ProviderChange } from '../../ports/provider.js';
import { createReconciler, type ReconcilerOptions } from './reconciler.js';

/** An in-memory provider: a group of `desired` instances whose phases the test sets. */
function memoryProvider(desired: number) {
  const phases = new Map<string, InstancePhase>();
  let next = 1;
  const stops: string[] = [];
  const start = () => phases.set(`web-${next++}`, 'running');
  for (let i = 0; i < desired; i++) start();
  const group = {
    kind: 'InstanceGroup',
    name: 'web',
    spec: { template: { command: 'node', args: [], env: {}, port: 0 }, desired, min: desired, max: desired },
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
