import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Clock } from '../../src/core/clock.js';
import { ErrorCode } from '../../src/core/errors.js';
import { createSqliteRuleStore, createSqliteStackStore } from '../../src/store/sqlite/rule-store.js';
import { openStateDatabase } from '../../src/store/sqlite/state.js';
import { type RuleStoreHarness, runRuleStoreConformance } from '../conformance/rule-store.js';

let dir: string;
let files = 0;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'homeostat-rules-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function openAt(path: string, clock: Clock, create = createSqliteRuleStore): RuleStoreHarness {
  const db = openStateDatabase({ path, fsync: 'always' });
  return {
    store: create(db, clock),
    async reopen() {
      db.close();
      return openAt(path, clock, create);
    },
    close: async () => void db.close(),
  };
}

runRuleStoreConformance({
  name: 'SQLite',
  create: async (clock) => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`), clock);
  },
});

// Stacks are stored the same way: the same contract, on their own table.
runRuleStoreConformance({
  name: 'SQLite stacks',
  create: async (clock) => {
    files += 1;
    return openAt(join(dir, `state-${files}.db`), clock, createSqliteStackStore);
  },
});

describe('SQLite rule store', () => {
  it('stores each manifest as JSON text in the rules table', async () => {
    const db = openStateDatabase({ path: join(dir, 'text.db'), fsync: 'normal' });
    try {
      await createSqliteRuleStore(db).put('cpu', { kind: 'Rule', spec: { enabled: true } });
      const row = db.prepare('SELECT manifest, generation FROM rules WHERE name = ?').get('cpu');
      expect(row).toEqual({ manifest: '{"kind":"Rule","spec":{"enabled":true}}', generation: 1 });
    } finally {
      db.close();
    }
  });

  it('reports a failing statement as E_BACKEND naming the operation', async () => {
    const db = openStateDatabase({ path: join(dir, 'closed.db'), fsync: 'normal' });
    const store = createSqliteRuleStore(db);
    db.close();
    await expect(store.list()).rejects.toMatchObject({
      code: ErrorCode.BACKEND,
      message: expect.stringMatching(/^cannot list the rules in the state database/),
    });
    await expect(store.put('cpu', {})).rejects.toMatchObject({ code: ErrorCode.BACKEND });
  });
});
