/**
 * @module Reads the action history back from the event log, so that the gate's rails state
 * (cooldowns, rate and blast-radius windows, flap counts, freezes) and pending approvals survive
 * a restart: `gate.restore(await loadActionHistory(log, now - window))`.
 */
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import {
  ACTION_EVENT_SOURCE,
  ACTION_FROZEN_TYPE,
  ACTION_OUTCOME_TYPES,
  ACTION_UNFROZEN_TYPE,
  recordFromEvent,
} from './action-events.js';
import type { ActionRecord } from './types.js';

const PAGE = 1_000;

/** A sensible `sinceMs` distance: a day covers every default window many times over. */
export const DEFAULT_HISTORY_MS = 86_400_000;

async function readAll(log: EventLog, types: readonly string[], since: number | undefined): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for (let after: number | undefined; ;) {
    const page = await log.query({
      types,
      sources: [ACTION_EVENT_SOURCE],
      ...(since === undefined ? {} : { since }),
      ...(after === undefined ? {} : { after }),
      order: 'asc',
      limit: PAGE,
    });
    out.push(...page);
    if (page.length < PAGE) return out;
    after = page[page.length - 1]!.offset;
  }
}

/**
 * The action records appended since `sinceMs` (append time, ms since the epoch), plus every
 * freeze and unfreeze the log still holds however old (a freeze lasts until someone lifts it), in
 * log order, each record once. Events whose data is not an action record are skipped.
 */
export async function loadActionHistory(log: EventLog, sinceMs: number): Promise<ActionRecord[]> {
  const [outcomes, freezes] = await Promise.all([
    readAll(log, ACTION_OUTCOME_TYPES, sinceMs),
    readAll(log, [ACTION_FROZEN_TYPE, ACTION_UNFROZEN_TYPE], undefined),
  ]);
  const seen = new Set<string>();
  const records: ActionRecord[] = [];
  for (const entry of [...outcomes, ...freezes].sort((a, b) => a.offset - b.offset)) {
    const record = recordFromEvent(entry.event);
    if (record === undefined) continue;
    const key = `${record.id}\u0000${record.outcome}`;
    if (seen.has(key)) continue;
    seen.add(key);
    records.push(record);
  }
  return records;
}
