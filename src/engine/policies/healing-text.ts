/** @module The sentences a HealingPolicy writes on incident timelines. */
import type { CloudEvent } from '../../core/event.js';
import type { FailureKind, TimelineEntry } from '../../core/healing/types.js';
import type { ActionRecord } from '../automation/types.js';

const PHRASES: Readonly<Record<FailureKind, string>> = {
  crashed: 'crashed',
  hung: 'hung (health checks time out)',
  unhealthy: 'failed its health checks',
  'not-ready': 'was not ready in time',
};

/** `crashed`, `hung (health checks time out)`, ... */
export function failurePhrase(kind: FailureKind): string {
  return PHRASES[kind];
}

/** The timeline entry of a failure, with what its event says (exit code, signal, reason). */
export function failureEntry(instance: string, kind: FailureKind, at: number, e?: CloudEvent): TimelineEntry {
  const data = (e?.data ?? {}) as { exitCode?: unknown; signal?: unknown; reason?: unknown };
  const facts: string[] = [];
  if (typeof data.signal === 'string') facts.push(`signal ${data.signal}`);
  else if (typeof data.exitCode === 'number') facts.push(`exit code ${data.exitCode}`);
  if (typeof data.reason === 'string') facts.push(data.reason);
  const detail = facts.length > 0 ? `: ${facts.join(', ')}` : '';
  return { at, kind: 'event', summary: `${instance} ${failurePhrase(kind)}${detail}`, ...(e ? { ref: e.id } : {}) };
}

/** The timeline entry of an action, by its outcome: `what` is the sentence when it was executed. */
export function actionEntry(record: ActionRecord, what: string): TimelineEntry {
  const text: Record<ActionRecord['outcome'], string> = {
    executed: what,
    'dry-run': `dry-run, not done: ${what}`,
    'pending-approval': `waits for approval ${record.approval ?? ''} (homeostat approve): ${what}`,
    refused: `refused by the ${record.rail ?? 'safety'} rail (${record.why ?? 'no reason given'}): ${what}`,
    failed: `failed (${record.why ?? 'no reason given'}): ${what}`,
    rejected: `rejected (${record.why ?? 'no reason given'}): ${what}`,
  };
  return { at: record.at, kind: 'action', summary: text[record.outcome], ref: record.id };
}
