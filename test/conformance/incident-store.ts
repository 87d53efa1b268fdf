/**
 * @module The IncidentStore conformance suite: every backend runs it by passing a factory,
 * `runIncidentStoreConformance({ name, create })`. It checks what src/ports/incident-store.ts promises.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendTimeline, openIncident, resolveIncident } from '../../src/core/healing/incident.js';
import type { IncidentStore } from '../../src/ports/incident-store.js';

export interface IncidentStoreHarness {
  readonly store: IncidentStore;
  /** Closes this store and opens the same storage again; for restart checks. */
  reopen(): Promise<IncidentStoreHarness>;
  close(): Promise<void>;
}

export interface IncidentStoreConformanceOptions {
  readonly name: string;
  /** A fresh, empty store for each test. */
  readonly create: () => Promise<IncidentStoreHarness>;
}

const incident = (id: string, at: number, policy = 'HealingPolicy/web', resource = 'instancegroup/web') =>
  openIncident({
    id,
    title: `${id} title`,
    severity: 'warning',
    resource,
    group: 'web',
    policy,
    at,
    details: { held: false },
    timeline: [{ at, kind: 'event', summary: 'web-1 crashed', ref: 'e1' }],
  });

/** Defines vitest blocks that check the whole IncidentStore contract. */
export function runIncidentStoreConformance(options: IncidentStoreConformanceOptions): void {
  describe(`IncidentStore conformance: ${options.name}`, () => {
    let harness: IncidentStoreHarness;
    let store: IncidentStore;

    beforeEach(async () => {
      harness = await options.create();
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('stores, lists, filters and finds open incidents, and keeps them across a reopen', async () => {
      await store.put(incident('inc-a', 1_000));
      await store.put(resolveIncident(incident('inc-b', 2_000), 3_000, 'api', 'done'));
      await store.put(incident('inc-c', 3_000, 'HealingPolicy/api'));
      const updated = appendTimeline((await store.get('inc-a'))!, [
        { at: 1_500, kind: 'action', summary: 'replace web-1', ref: 'act-1' },
      ]);
      await store.put(updated);

      expect((await store.list()).map((i) => i.id)).toEqual(['inc-c', 'inc-b', 'inc-a']);
      expect((await store.list({ status: 'open' })).map((i) => i.id)).toEqual(['inc-c', 'inc-a']);
      expect((await store.list({ policy: 'HealingPolicy/web' })).map((i) => i.id)).toEqual(['inc-b', 'inc-a']);
      expect((await store.list({ limit: 1 })).map((i) => i.id)).toEqual(['inc-c']);
      expect((await store.findOpen('HealingPolicy/web', 'instancegroup/web'))?.id).toBe('inc-a');
      expect(await store.findOpen('HealingPolicy/web', 'instancegroup/api')).toBeUndefined();
      expect(await store.get('nope')).toBeUndefined();

      harness = await harness.reopen();
      store = harness.store;
      expect(await store.get('inc-a')).toEqual(updated);
      expect(await store.get('inc-b')).toMatchObject({ status: 'resolved', resolvedAt: 3_000, resolvedBy: 'api' });
    });

    it('returns a record with every field, and without the optional ones it was not given', async () => {
      const full = resolveIncident(incident('inc-full', 10), 20, 'cli:alice', 'fixed by hand');
      const bare = openIncident({
        id: 'inc-bare',
        title: 't',
        severity: 'critical',
        resource: 'instance/i-1',
        policy: 'HealingPolicy/x',
        at: 5,
      });
      await store.put(full);
      await store.put(bare);
      expect(await store.get('inc-full')).toEqual(full);
      expect(await store.get('inc-bare')).toEqual(bare);
      expect(Object.keys((await store.get('inc-bare'))!)).not.toContain('group');
    });

    it('replaces the whole record on put: the last write wins', async () => {
      await store.put(incident('inc-a', 1_000));
      const resolved = resolveIncident(incident('inc-a', 1_000), 2_000, 'HealingPolicy/web', 'recovered');
      await store.put(resolved);
      expect(await store.get('inc-a')).toEqual(resolved);
      expect(await store.findOpen('HealingPolicy/web', 'instancegroup/web')).toBeUndefined();
      await store.put(incident('inc-a', 1_000));
      expect((await store.get('inc-a'))?.status).toBe('open');
      expect(await store.list()).toHaveLength(1);
    });

    it('lists newest first, ties by id descending, and 100 by default', async () => {
      for (let i = 0; i < 105; i++) await store.put(incident(`inc-${String(i).padStart(3, '0')}`, i < 5 ? 0 : i));
      const list = await store.list();
      expect(list).toHaveLength(100);
      expect(list[0]!.id).toBe('inc-104');
      expect(list.slice(-3).map((i) => i.id)).toEqual(['inc-007', 'inc-006', 'inc-005']);
      const ties = await store.list({ limit: 200 });
      expect(ties.slice(-5).map((i) => i.id)).toEqual(['inc-004', 'inc-003', 'inc-002', 'inc-001', 'inc-000']);
    });

    it('filters by status and policy together', async () => {
      await store.put(incident('a', 1));
      await store.put(resolveIncident(incident('b', 2), 3, 'api', 'done'));
      await store.put(incident('c', 3, 'HealingPolicy/api'));
      expect((await store.list({ status: 'resolved', policy: 'HealingPolicy/web' })).map((i) => i.id)).toEqual(['b']);
      expect(await store.list({ status: 'resolved', policy: 'HealingPolicy/api' })).toEqual([]);
    });

    it('finds the open incident about a resource, ignoring resolved ones and other policies', async () => {
      await store.put(resolveIncident(incident('old', 1), 2, 'api', 'done'));
      await store.put(incident('other-policy', 3, 'HealingPolicy/api'));
      await store.put(incident('current', 4));
      await store.put(incident('other-resource', 5, 'HealingPolicy/web', 'instancegroup/api'));
      expect((await store.findOpen('HealingPolicy/web', 'instancegroup/web'))?.id).toBe('current');
      expect((await store.findOpen('HealingPolicy/api', 'instancegroup/web'))?.id).toBe('other-policy');
    });
  });
}
