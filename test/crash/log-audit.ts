/** @module Reads back what a data dir holds: through the HTTP API, and straight from events.db. */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { eventKey } from './ingest-client.js';

export interface LoggedEvent {
  readonly offset: number;
  readonly key: string;
}

interface EventsPage {
  readonly events: readonly {
    readonly offset: number;
    readonly event: { readonly source: string; readonly id: string };
  }[];
  readonly next: number | null;
}

export interface LogStats {
  readonly firstOffset: number;
  readonly nextOffset: number;
  readonly count: number;
}

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(20_000) });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Pages through GET /v1/events (1000 a page) from the start to the end. */
export async function readWholeLog(url: string): Promise<LoggedEvent[]> {
  const out: LoggedEvent[] = [];
  let after: number | null | undefined;
  while (after !== null) {
    const cursor = after === undefined ? '' : `&after=${after}`;
    const page: EventsPage = await getJson(`${url}/v1/events?limit=1000${cursor}`);
    for (const rec of page.events) out.push({ offset: rec.offset, key: eventKey(rec.event) });
    if (page.events.length === 0) break;
    after = page.next;
  }
  return out;
}

export function readStats(url: string): Promise<LogStats> {
  return getJson(`${url}/v1/log`);
}

/** Offsets where `offsets[i] <= offsets[i - 1]` (empty when strictly increasing). */
export function orderViolations(offsets: readonly number[]): string[] {
  const bad: string[] = [];
  for (let i = 1; i < offsets.length; i++) {
    if (offsets[i]! <= offsets[i - 1]!) bad.push(`${offsets[i - 1]} then ${offsets[i]}`);
  }
  return bad;
}

/** Every key with the offsets it appears at. */
export function offsetsByKey(events: readonly LoggedEvent[]): Map<string, number[]> {
  const byKey = new Map<string, number[]>();
  for (const e of events) {
    const list = byKey.get(e.key);
    if (list) list.push(e.offset);
    else byKey.set(e.key, [e.offset]);
  }
  return byKey;
}

export interface DatabaseAudit {
  readonly integrity: string;
  readonly rows: number;
  /** Keys stored more than once, with their count. */
  readonly repeated: readonly { readonly key: string; readonly n: number }[];
  readonly keys: ReadonlySet<string>;
  /** Offsets in physical (chunk rowid, then position) order. */
  readonly offsets: readonly number[];
}

/** Opens `<dataDir>/events.db` read-only (the server must be stopped) and checks it. */
export function auditDatabase(dataDir: string): DatabaseAudit {
  const db = new Database(join(dataDir, 'events.db'), { readonly: true, fileMustExist: true });
  try {
    const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
      .map((r) => r.integrity_check)
      .join('; ');
    // The log stores one chunk row per commit: a JSON array of events from first_offset on.
    const all = db
      .prepare(
        `SELECT c.first_offset + CAST(e.key AS INTEGER) AS o, json_extract(e.value, '$.source') AS source,
                json_extract(e.value, '$.id') AS id
         FROM chunks c, json_each(c.body) e ORDER BY c.rowid, CAST(e.key AS INTEGER)`,
      )
      .all() as { o: number; source: string; id: string }[];
    const counts = new Map<string, number>();
    for (const r of all) counts.set(eventKey(r), (counts.get(eventKey(r)) ?? 0) + 1);
    const repeated = [...counts].filter(([, n]) => n > 1).map(([key, n]) => ({ key, n }));
    return {
      integrity,
      rows: all.length,
      repeated,
      keys: new Set(all.map((r) => eventKey(r))),
      offsets: all.map((r) => r.o),
    };
  } finally {
    db.close();
  }
}
