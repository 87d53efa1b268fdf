/** @module SqliteIncidentStore: records round-trip, newest first, filtered, one open per policy and resource, across a reopen. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendTimeline, openIncident, resolveIncident } from '../../src/core/healing/incident.js';
import { createSqliteIncidentStore } from '../../src/store/sqlite/incident-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-incidents-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

const incident = (id: string, at: number, policy = 'HealingPolicy/web') =>
  openIncident({
    id,
    title: `${id} title`,
    severity: 'warning',
    resource: 'instancegroup/web',
    group: 'web',
    policy,
    at,
    details: { held: false },
    timeline: [{ at, kind: 'event', summary: 'web-1 crashed', ref: 'e1' }],
  });

describe('SqliteIncidentStore', () => {
  it('stores, lists, filters and finds open incidents, and keeps them across a reopen', async () => {
    const path = join(dir, 'state.db');
    let db = openStateDatabase({ path, fsync: 'normal' });
    const store = createSqliteIncidentStore(db);
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
    db.close();

    db = openStateDatabase({ path, fsync: 'normal' });
    const again = createSqliteIncidentStore(db);
    expect(await again.get('inc-a')).toEqual(updated);
    expect(await again.get('inc-b')).toMatchObject({ status: 'resolved', resolvedAt: 3_000, resolvedBy: 'api' });
    db.close();
  });
});
