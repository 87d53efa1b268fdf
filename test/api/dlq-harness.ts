/**
 * @module Test harness for the DLQ and trace API: a real API server (createApiServer) on a random
 * port, over a real event log and state database (SQLite; NATS JetStream and PostgreSQL in the
 * cluster pass), with a small DeliveryAdmin backed by the real delivery store.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { createApiServer } from '../../src/api/server.js';
import { issueToken } from '../../src/auth/tokens.js';
import { type Clock, systemClock } from '../../src/core/clock.js';
import type { DeadLetter, DeadLetterSelector, DeliveryAdmin } from '../../src/engine/delivery-admin.js';
import { createIngestor } from '../../src/ingest/ingest.js';
import { createSchemaRegistry } from '../../src/ingest/schema-registry.js';
import type { DeliveryChange, DeliveryStore } from '../../src/ports/delivery-store.js';
import type { Scope, TokenStore } from '../../src/ports/token-store.js';
import { openTestBackends, removeTestBackends } from '../cluster/backends.js';

/**
 * A DeliveryAdmin over a DeliveryStore, as the dispatcher will behave without its delivery loop:
 * redrive = remove the dead letters + mark the keys pending (due now) + a trace entry.
 */
export function createStoreAdmin(store: DeliveryStore, clock: Clock): DeliveryAdmin {
  async function select(selector: DeadLetterSelector): Promise<{ letters: DeadLetter[]; missing: number[] }> {
    if ('ids' in selector) {
      const found = await Promise.all(selector.ids.map((id) => store.getDead(id)));
      return {
        letters: found.filter((l): l is DeadLetter => l !== undefined),
        missing: selector.ids.filter((_, i) => found[i] === undefined),
      };
    }
    const letters: DeadLetter[] = [];
    for (let after: number | undefined; ;) {
      const page = await store.listDead({ ...selector.filter, after, limit: 1000 });
      letters.push(...page);
      if (page.length < 1000) return { letters, missing: [] };
      after = page[page.length - 1]!.id;
    }
  }

  return {
    listDead: (page) => store.listDead(page),
    getDead: (id) => store.getDead(id),
    countDead: (filter) => store.countDead(filter),
    trace: (id, source) => store.trace(id, source),
    async redrive(selector) {
      const { letters, missing } = await select(selector);
      const statuses = await store.statusOf(letters.map((l) => l.key));
      const now = clock.now();
      const changes: DeliveryChange[] = [{ kind: 'remove-dead', ids: letters.map((l) => l.id) }];
      letters.forEach((l, i) => {
        if (statuses[i] === 'delivered') return;
        changes.push({
          kind: 'pending',
          delivery: { key: l.key, offset: l.offset, attempts: 0, nextAt: now, replayed: false },
        });
        const { source, id, rule, target } = l.key;
        const detail = { redriven: true, deadLetter: l.id };
        changes.push({
          kind: 'trace',
          entry: { source, id, rule, target, offset: l.offset, at: now, kind: 'retry-scheduled', detail },
        });
      });
      await store.apply(changes);
      const alreadyDelivered = statuses.filter((s) => s === 'delivered').length;
      return { redriven: letters.length - alreadyDelivered, alreadyDelivered, missing };
    },
    async purge(selector) {
      const { letters, missing } = await select(selector);
      await store.apply([{ kind: 'remove-dead', ids: letters.map((l) => l.id) }]);
      return { purged: letters.length, missing };
    },
  };
}

export interface DlqServer {
  readonly url: string;
  readonly store: DeliveryStore;
  readonly tokens: TokenStore;
  /** Issues a token with these scopes and returns its text. */
  token(scopes: readonly Scope[]): Promise<string>;
  stop(): Promise<void>;
}

export interface DlqServerOptions {
  readonly clock?: Clock;
  readonly authRequired?: boolean;
}

/** Starts the API with `deliveries` set, on 127.0.0.1 and a random port, in a temp data dir. */
export async function startDlqServer(options: DlqServerOptions = {}): Promise<DlqServer> {
  const clock = options.clock ?? systemClock;
  const dir = mkdtempSync(join(tmpdir(), 'homeostat-dlq-'));
  const backends = await openTestBackends(dir, clock);
  const { log } = backends;
  const schemas = await createSchemaRegistry(backends.stores.schemas);
  const tokens = backends.stores.tokens;
  const store = backends.stores.deliveries;
  const app = createApiServer({
    log,
    ingestor: createIngestor({ log, schemas, limits: { maxEventBytes: 262_144, maxPendingEvents: 10_000 } }),
    schemas,
    tokens,
    clock,
    logger: pino({ level: 'silent' }),
    authRequired: options.authRequired ?? false,
    maxRequestBytes: 1_048_576,
    maxDepth: 64,
    notReady: () => [],
    deliveries: createStoreAdmin(store, clock),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    tokens,
    async token(scopes) {
      const issued = issueToken(`test-${scopes.join('-')}`, scopes, clock.now());
      await tokens.add(issued.record);
      return issued.token;
    },
    async stop() {
      await app.close();
      await backends.close();
      await removeTestBackends(dir);
    },
  };
}

/** Sends a JSON request and parses the JSON answer. */
export async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] = 'application/json';
  }
  const res = await fetch(`${url}${path}`, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}
