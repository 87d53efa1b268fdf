/**
 * @module Action records as events on the log, and back: `homeostat.action.<outcome>` (one per
 * outcome), `homeostat.action.frozen` (a flap or loop refusal froze a resource) and
 * `homeostat.action.unfrozen` (someone lifted a freeze). The data of each is an ActionRecord.
 */
import type { CloudEvent } from '../../core/event.js';
import type { ActionOutcome, ActionRecord } from './types.js';

export const ACTION_EVENT_SOURCE = 'homeostat/actions';
export const ACTION_TYPE_PREFIX = 'homeostat.action.';
export const ACTION_OUTCOMES: readonly ActionOutcome[] = [
  'executed',
  'failed',
  'refused',
  'dry-run',
  'pending-approval',
  'rejected',
];
export const ACTION_OUTCOME_TYPES: readonly string[] = ACTION_OUTCOMES.map((o) => ACTION_TYPE_PREFIX + o);
export const ACTION_FROZEN_TYPE = 'homeostat.action.frozen';
export const ACTION_UNFROZEN_TYPE = 'homeostat.action.unfrozen';
/** The `action` of the record an unfreeze publishes. */
export const UNFREEZE_ACTION = 'unfreeze';

/**
 * The event of one record. Its id is the action id, except for `pending-approval`
 * (`<id>.pending`) and `frozen` (`<id>.frozen`): the log suppresses repeats of (source, id), and
 * the action's final outcome must get the action id.
 */
export function actionEvent(record: ActionRecord, type = ACTION_TYPE_PREFIX + record.outcome): CloudEvent {
  const suffix = type === ACTION_FROZEN_TYPE ? '.frozen' : record.outcome === 'pending-approval' ? '.pending' : '';
  const event: Record<string, unknown> = {
    specversion: '1.0',
    id: record.id + suffix,
    source: ACTION_EVENT_SOURCE,
    type,
    subject: record.resource,
    time: new Date(record.at).toISOString(),
    datacontenttype: 'application/json',
    partitionkey: record.resource,
    data: record,
  };
  if (record.cause !== undefined) event.causationid = record.cause;
  return event as unknown as CloudEvent;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const TEXT = ['id', 'policy', 'action', 'resource', 'reason'] as const;

/** The record an action event carries, or undefined when its data is not one (foreign or damaged). */
export function recordFromEvent(event: CloudEvent): ActionRecord | undefined {
  const d = (event as { data?: unknown }).data;
  if (!isObj(d) || event.source !== ACTION_EVENT_SOURCE) return undefined;
  if (!TEXT.every((k) => typeof d[k] === 'string')) return undefined;
  if (typeof d.at !== 'number' || !ACTION_OUTCOMES.includes(d.outcome as ActionOutcome) || !isObj(d.params)) {
    return undefined;
  }
  if (d.froze !== undefined && !(Array.isArray(d.froze) && d.froze.every((p) => typeof p === 'string')))
    return undefined;
  return d as unknown as ActionRecord;
}
