/**
 * @module What a log event is as a node of the causal tree: its kind (action, condition,
 * resource, cost, incident, event), a one-line summary starting with that kind, and its detail.
 */
import type { CloudEvent } from '../../core/event.js';
import { CONDITION_FIRED_TYPE } from '../../core/rules/types.js';
import { describeFiring } from '../../core/why/condition-progress.js';
import type { WhyNodeKind } from '../../core/why/types.js';
import type { LogRecord } from '../../ports/event-log.js';
import { ACTION_EVENT_SOURCE, recordFromEvent } from '../automation/action-events.js';
import type { ActionRecord } from '../automation/types.js';
import { formatRate, summarize } from '../finops/attribution.js';

type Data = Record<string, unknown>;

const str = (v: unknown): string | undefined =>
  typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
const dataOf = (e: CloudEvent): Data =>
  typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) ? (e.data as Data) : {};

/** Largest `data` (as JSON) copied into a node's detail. */
const MAX_DATA_CHARS = 4_096;

/** The action's arguments in a few characters: ` 2→6`, ` →6`, ` by +2`, or the fields as JSON. */
function paramsText(record: ActionRecord): string {
  const p = record.params;
  if (p.from !== undefined && p.to !== undefined) return ` ${str(p.from)}→${str(p.to)}`;
  if (typeof p.to === 'number') return ` →${p.to}`;
  if (typeof p.by === 'number') return ` by ${p.by > 0 ? '+' : ''}${p.by}`;
  return '';
}

/** `action scale instancegroup/web 2→6 executed (ScalingPolicy/web: <reason>)`. */
export function actionSummary(record: ActionRecord, type: string): string {
  const head = `action ${record.action} ${record.resource}${paramsText(record)}`;
  const frozen = type.endsWith('.frozen')
    ? ' froze the resource'
    : type.endsWith('.unfrozen')
      ? ' lifted a freeze'
      : '';
  let outcome: string = record.outcome;
  if (frozen !== '') outcome = frozen.trim();
  else if (record.outcome === 'refused')
    outcome = `refused by the ${record.rail ?? 'safety'} rail: ${record.why ?? ''}`.trimEnd();
  else if (record.outcome === 'failed' || record.outcome === 'rejected')
    outcome = `${record.outcome}: ${record.why ?? 'no reason given'}`;
  else if (record.outcome === 'pending-approval' && record.approval !== undefined)
    outcome = `waiting for approval ${record.approval}`;
  return `${head} ${outcome} (${record.policy}: ${record.reason})`;
}

function resourceSummary(e: CloudEvent): string {
  const d = dataOf(e);
  const what = e.type.slice('infra.'.length);
  const subject = e.subject ?? '';
  switch (e.type) {
    case 'infra.reconcile.decided':
    case 'infra.group.scaled':
    case 'infra.resource.drifted':
      return `resource ${summarize(e)}`;
    case 'infra.resource.changed': {
      const changed = Array.isArray(d.changed) ? ` (${d.changed.map(String).join(', ')})` : '';
      const op = str(d.op) ? ` ${str(d.op)}` : '';
      return `resource ${subject} changed${op}${changed}`;
    }
    default: {
      if (what.startsWith('instance.')) {
        const reason = str(d.reason) ? ` (${str(d.reason)})` : '';
        return `resource ${subject} ${what.slice('instance.'.length)}${reason}`;
      }
      return `resource ${subject} ${what}`.trimEnd();
    }
  }
}

function costSummary(e: CloudEvent): string {
  const d = dataOf(e);
  if (e.type === 'cost.changed' && typeof d.deltaPerHour === 'number') {
    const group =
      typeof d.groupRatePerHour === 'number'
        ? `; group ${str(d.group)} now ${formatRate(d.groupRatePerHour).slice(1)}`
        : '';
    return `cost ${formatRate(d.deltaPerHour)} instance ${str(d.instance) ?? '?'} ${str(d.kind) ?? 'changed'}${group}`;
  }
  if (e.type === 'cost.anomaly') {
    const rate = typeof d.ratePerHour === 'number' ? formatRate(d.ratePerHour).slice(1) : '?';
    const base = typeof d.baselinePerHour === 'number' ? formatRate(d.baselinePerHour).slice(1) : '?';
    return `cost anomaly ${str(d.group) ?? str(d.scope) ?? ''}: rate ${rate} against a baseline of ${base}`;
  }
  if (e.type === 'budget.threshold.crossed') {
    const t = (d.threshold ?? {}) as Data;
    return `cost budget ${str(d.budget) ?? '?'} crossed ${str(t.percent) ?? '?'}% (${str(t.kind) ?? 'actual'})`;
  }
  return `cost ${e.type} ${e.subject ?? ''}`.trimEnd();
}

function conditionSummary(e: CloudEvent): string {
  const d = dataOf(e);
  const detail = (typeof d.detail === 'object' && d.detail !== null ? d.detail : {}) as Data;
  const group = str(d.group) ? ` for ${str(d.group)}` : '';
  return `condition of rule ${str(d.rule) ?? '?'} fired${group}: ${describeFiring(detail)}`;
}

function incidentSummary(e: CloudEvent): string {
  const d = dataOf(e);
  const what = e.type.slice('homeostat.incident.'.length);
  return `incident ${str(d.id) ?? e.subject ?? ''} ${what}: ${str(d.title) ?? ''} (${str(d.severity) ?? '?'})`.trimEnd();
}

/** The kind of node a log event becomes. */
export function kindOf(e: CloudEvent): WhyNodeKind {
  if (e.source === ACTION_EVENT_SOURCE && e.type.startsWith('homeostat.action.')) return 'action';
  if (e.type === CONDITION_FIRED_TYPE) return 'condition';
  // Metrics are observations, not changes: plain events.
  if (e.type.startsWith('infra.') && e.type !== 'infra.metrics') return 'resource';
  if (e.type.startsWith('cost.') || e.type.startsWith('budget.')) return 'cost';
  if (e.type.startsWith('homeostat.incident.')) return 'incident';
  return 'event';
}

/** The facts of a log event a node carries: type, source, subject, offset, causation, data (when small). */
export function eventDetail(rec: LogRecord): Record<string, unknown> {
  const e = rec.event;
  const detail: Record<string, unknown> = {
    type: e.type,
    source: e.source,
    offset: rec.offset,
    ...(e.subject === undefined ? {} : { subject: e.subject }),
    ...(e.time === undefined ? {} : { time: e.time }),
    ...(e.causationid === undefined ? {} : { causationid: e.causationid }),
  };
  if (e.data !== undefined) {
    const text = JSON.stringify(e.data);
    if (text !== undefined && text.length <= MAX_DATA_CHARS) detail.data = e.data;
    else detail.dataTruncated = true;
  }
  return detail;
}

export interface EventNodeFacts {
  readonly kind: WhyNodeKind;
  readonly summary: string;
  readonly detail: Record<string, unknown>;
  /** The action record, for action nodes. */
  readonly action?: ActionRecord;
}

/** Kind, summary and detail of a log event. */
export function describeEvent(rec: LogRecord): EventNodeFacts {
  const e = rec.event;
  const kind = kindOf(e);
  const detail = eventDetail(rec);
  switch (kind) {
    case 'action': {
      const record = recordFromEvent(e);
      if (record === undefined) break;
      const { data: _data, ...rest } = detail;
      return { kind, summary: actionSummary(record, e.type), detail: { ...rest, record }, action: record };
    }
    case 'condition':
      return { kind, summary: conditionSummary(e), detail };
    case 'resource':
      return { kind, summary: resourceSummary(e), detail };
    case 'cost':
      return { kind, summary: costSummary(e), detail };
    case 'incident':
      return { kind, summary: incidentSummary(e), detail };
    default:
      break;
  }
  if (e.type === 'infra.metrics') return { kind: 'event', summary: `${summarize(e)} (${e.id})`, detail };
  const subject = e.subject === undefined ? '' : ` ${e.subject}`;
  return { kind: 'event', summary: `event ${e.type}${subject} (${e.id} from ${e.source})`, detail };
}
