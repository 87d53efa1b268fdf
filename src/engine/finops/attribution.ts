/**
 * @module Attribution of cost changes: one-line summaries of the events that can cause one
 * (reconcile decisions, group scalings, actions, condition firings, schedule fires, metrics) and
 * the walk up the causation chain from a change to its root.
 */
import type { CloudEvent } from '../../core/event.js';
import type { CauseRecord, CostChange, CostLedger } from '../../ports/cost-ledger.js';

/** Event types kept as causes (stored as they arrive). */
export const CAUSE_TYPES: readonly string[] = [
  'infra.reconcile.decided',
  'infra.group.scaled',
  'infra.resource.changed',
  'infra.resource.drifted',
  'infra.instance.unhealthy',
  'infra.instance.crashed',
  'homeostat.action.executed',
  'homeostat.action.failed',
  'homeostat.action.dry-run',
  'homeostat.action.refused',
  'homeostat.action.pending-approval',
  'homeostat.action.rejected',
  'homeostat.condition.fired',
  'schedule.fired',
];

/** Frequent event types kept only in memory, and stored when a kept cause points at one. */
export const TRIGGER_TYPES: readonly string[] = ['infra.metrics'];

/** How far up a chain `explain` walks. */
export const MAX_CHAIN = 8;

type Data = Record<string, unknown>;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
const refName = (subject: string | undefined): string | undefined => subject?.slice(subject.indexOf('/') + 1);

function fromTo(params: unknown): string {
  const p = (params ?? {}) as Data;
  return p.from !== undefined && p.to !== undefined ? ` ${str(p.from)}→${str(p.to)}` : '';
}

function actionSummary(e: CloudEvent, d: Data): string {
  const outcome = e.type.slice('homeostat.action.'.length);
  const resource = str(d.resource) ?? e.subject ?? '';
  const group = /^instancegroup\//.test(resource) ? refName(resource) : resource;
  const what = [str(d.policy), str(d.action), group].filter((x) => x !== undefined && x !== '').join(' ');
  const tail = outcome === 'executed' ? '' : ` ${outcome}`;
  return `action ${e.id} (${what}${fromTo(d.params)})${tail}`;
}

function metricsSummary(e: CloudEvent, d: Data): string {
  const parts = ['rps', 'instances', 'errorRate']
    .filter((k) => typeof d[k] === 'number')
    .map((k) => `${k}=${Math.round((d[k] as number) * 100) / 100}`);
  return `event infra.metrics ${e.subject ?? ''}${parts.length > 0 ? ` (${parts.join(', ')})` : ''}`.trim();
}

/** A line for humans saying what the event is, as a link in a cost change's chain. */
export function summarize(e: CloudEvent): string {
  const d = (typeof e.data === 'object' && e.data !== null ? e.data : {}) as Data;
  switch (e.type) {
    case 'infra.reconcile.decided': {
      const target = str(d.instance) ? ` ${str(d.instance)}` : '';
      return `reconcile ${str(d.group) ?? refName(e.subject) ?? ''}: ${str(d.op) ?? 'decision'}${target} (${str(d.reason) ?? 'no reason given'})`;
    }
    case 'infra.group.scaled':
      return `group ${refName(e.subject) ?? str(d.group) ?? ''} scaled ${str(d.from) ?? '?'}→${str(d.to) ?? '?'}`;
    case 'homeostat.condition.fired':
      return `condition of rule ${str(d.rule) ?? '?'} held${str(d.group) ? ` for ${str(d.group)}` : ''}`;
    case 'schedule.fired':
      return `schedule ${str(d.schedule) ?? '?'} ${str(d.action) ?? 'fired'} (${str(d.cron) ?? ''} ${str(d.timezone) ?? ''})`.replace(
        ' )',
        ')',
      );
    case 'infra.metrics':
      return metricsSummary(e, d);
    default:
      if (e.type.startsWith('homeostat.action.')) return actionSummary(e, d);
      return `event ${e.type} ${e.subject ?? ''}`.trim();
  }
}

/** The cause record kept for an event. */
export function causeRecord(e: CloudEvent, at: number): CauseRecord {
  return {
    id: e.id,
    type: e.type,
    ...(e.subject === undefined ? {} : { subject: e.subject }),
    ...(typeof e.causationid === 'string' ? { causationId: e.causationid } : {}),
    summary: summarize(e),
    at,
  };
}

/** One link of an explained change: a recorded event, or an id nothing was recorded for. */
export interface ChainLink {
  readonly id: string;
  readonly type?: string;
  readonly summary: string;
}

/** A cost change with the chain of causes above it (nearest first). */
export interface AttributedChange extends CostChange {
  readonly chain: readonly ChainLink[];
  /** `instance web-4 started +$0.0208/h ← action ... ← event infra.metrics ...` */
  readonly text: string;
}

export function formatRate(perHour: number): string {
  const sign = perHour < 0 ? '-' : '+';
  const abs = Math.abs(perHour);
  return `${sign}$${abs >= 1 ? abs.toFixed(2) : abs.toFixed(4)}/h`;
}

function changeHead(c: CostChange): string {
  const verb = c.kind === 'observed' ? 'running when tracking started' : c.kind;
  return `instance ${c.instance} ${verb} ${formatRate(c.deltaPerHour)}`;
}

/** Resolves each change's causation chain from the ledger's recorded causes (a few queries, not one per link). */
export async function explain(ledger: CostLedger, changes: readonly CostChange[]): Promise<AttributedChange[]> {
  const known = new Map<string, CauseRecord>();
  let frontier = [...new Set(changes.map((c) => c.causeId).filter((id): id is string => id !== undefined))];
  for (let depth = 0; depth < MAX_CHAIN && frontier.length > 0; depth++) {
    const found = await ledger.causes(frontier.filter((id) => !known.has(id)));
    for (const [id, r] of found) known.set(id, r);
    frontier = [...found.values()]
      .map((r) => r.causationId)
      .filter((id): id is string => id !== undefined && !known.has(id));
  }
  return changes.map((c) => {
    const chain: ChainLink[] = [];
    const seen = new Set<string>();
    for (let id = c.causeId; id !== undefined && chain.length < MAX_CHAIN && !seen.has(id);) {
      seen.add(id);
      const r = known.get(id);
      chain.push(r ? { id, type: r.type, summary: r.summary } : { id, summary: id });
      id = r?.causationId;
    }
    const text = [changeHead(c), ...chain.map((l) => l.summary)].join(' ← ');
    return { ...c, chain, text };
  });
}
