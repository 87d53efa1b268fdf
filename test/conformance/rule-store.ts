/**
 * @module The RuleStore conformance suite: every backend runs it by passing a factory,
 * `runRuleStoreConformance({ name, create })`. It checks what src/ports/rule-store.ts promises.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createManualClock, type ManualClock } from '../../src/core/clock.js';
import type { RuleStore } from '../../src/ports/rule-store.js';

export interface RuleStoreHarness {
  readonly store: RuleStore;
  /** Closes this store and opens the same storage again; for restart checks. */
  reopen(): Promise<RuleStoreHarness>;
  /** Closes the store. Called once per harness. */
  close(): Promise<void>;
}

export interface RuleStoreConformanceOptions {
  /** The backend's name, shown in test titles. */
  readonly name: string;
  /** A fresh, empty store for each test, stamping times with `clock`. */
  readonly create: (clock: ManualClock) => Promise<RuleStoreHarness>;
}

const T0 = Date.UTC(2026, 10, 24, 10);

function manifest(name: string, spec: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    apiVersion: 'homeostat/v1',
    kind: 'Rule',
    metadata: { name },
    spec: { match: { type: ['host.cpu.high'] }, targets: [{ action: 'log' }], ...spec },
  };
}

/** Defines vitest blocks that check the whole RuleStore contract (src/ports/rule-store.ts). */
export function runRuleStoreConformance(options: RuleStoreConformanceOptions): void {
  describe(`RuleStore conformance: ${options.name}`, () => {
    let harness: RuleStoreHarness;
    let store: RuleStore;
    let clock: ManualClock;

    beforeEach(async () => {
      clock = createManualClock(T0);
      harness = await options.create(clock);
      store = harness.store;
    });
    afterEach(async () => {
      await harness.close();
    });

    it('creates a rule at generation 1 and returns what it stored', async () => {
      const stored = await store.put('cpu', manifest('cpu'));
      expect(stored).toEqual({ name: 'cpu', manifest: manifest('cpu'), generation: 1, createdAt: T0, updatedAt: T0 });
      expect(await store.get('cpu')).toEqual(stored);
    });

    it('replaces a rule, bumping its generation and keeping its creation time', async () => {
      await store.put('cpu', manifest('cpu'));
      clock.advance(5000);
      const replaced = await store.put('cpu', manifest('cpu', { enabled: false }));
      expect(replaced).toEqual({
        name: 'cpu',
        manifest: manifest('cpu', { enabled: false }),
        generation: 2,
        createdAt: T0,
        updatedAt: T0 + 5000,
      });
      clock.advance(1000);
      expect((await store.put('cpu', manifest('cpu'))).generation).toBe(3);
      expect(await store.get('cpu')).toMatchObject({ generation: 3, manifest: manifest('cpu'), createdAt: T0 });
    });

    it('keeps nested values, unicode and numbers of the manifest exactly', async () => {
      const doc = manifest('odd', {
        description: 'Überwachung ⚠ "quoted" \n newline',
        match: { data: { status: [{ numeric: ['>=', 500, '<', 600.5] }], tags: [null, true] } },
        targets: [{ action: 'http', with: { url: 'http://127.0.0.1:9/x', headers: { 'x-a': '1' } } }],
      });
      await store.put('odd', doc);
      expect((await store.get('odd'))?.manifest).toEqual(doc);
    });

    it('returns undefined for a rule that does not exist', async () => {
      await store.put('cpu', manifest('cpu'));
      expect(await store.get('memory')).toBeUndefined();
    });

    it('treats names as case-sensitive', async () => {
      await store.put('cpu', manifest('cpu'));
      await store.put('CPU', manifest('CPU'));
      expect((await store.list()).map((r) => r.name).sort()).toEqual(['CPU', 'cpu']);
      expect((await store.get('CPU'))?.manifest).toEqual(manifest('CPU'));
    });

    it('lists every rule ordered by name', async () => {
      for (const name of ['web.5xx', 'cpu-high', 'disk', 'a.b-c']) await store.put(name, manifest(name));
      const list = await store.list();
      expect(list.map((r) => r.name)).toEqual(['a.b-c', 'cpu-high', 'disk', 'web.5xx']);
      expect(list[1]).toEqual({
        name: 'cpu-high',
        manifest: manifest('cpu-high'),
        generation: 1,
        createdAt: T0,
        updatedAt: T0,
      });
    });

    it('lists nothing when empty', async () => {
      expect(await store.list()).toEqual([]);
    });

    it('deletes a rule and says whether one was deleted', async () => {
      await store.put('cpu', manifest('cpu'));
      await store.put('disk', manifest('disk'));
      expect(await store.delete('cpu')).toBe(true);
      expect(await store.delete('cpu')).toBe(false);
      expect(await store.get('cpu')).toBeUndefined();
      expect((await store.list()).map((r) => r.name)).toEqual(['disk']);
    });

    it('starts again at generation 1 after a delete', async () => {
      await store.put('cpu', manifest('cpu'));
      await store.put('cpu', manifest('cpu'));
      await store.delete('cpu');
      clock.advance(10);
      expect(await store.put('cpu', manifest('cpu'))).toMatchObject({ generation: 1, createdAt: T0 + 10 });
    });

    it('keeps rules, generations and times across a reopen', async () => {
      await store.put('cpu', manifest('cpu'));
      clock.advance(100);
      await store.put('cpu', manifest('cpu', { enabled: false }));
      await store.put('disk', manifest('disk'));
      await store.delete('disk');
      const before = await store.list();
      harness = await harness.reopen();
      store = harness.store;
      expect(await store.list()).toEqual(before);
      expect(await store.get('cpu')).toMatchObject({ generation: 2, createdAt: T0, updatedAt: T0 + 100 });
    });
  });
}
