/**
 * @module Finding an event on the log by id, which the EventLog port cannot do directly: first
 * the cheap ways (the delivery trace knows the offset of every event that matched a rule; the
 * action gate knows when each recent action happened; a caller may know a nearby record), then
 * bounded scans with the event types the id's shape suggests (`act-…` actions, `hsc1-…` condition
 * firings, `run-…/…` workflow events, ...), newest first. Every scan is bounded; `read` counts
 * the events examined.
 */
import type { CloudEvent } from '../../core/event.js';
import { CONDITION_FIRED_TYPE } from '../../core/rules/types.js';
import type { TraceEntry } from '../../ports/delivery-store.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import { ACTION_FROZEN_TYPE, ACTION_OUTCOME_TYPES, ACTION_UNFROZEN_TYPE } from '../automation/action-events.js';
import { CostEventType } from '../finops/cost-events.js';
import { WorkflowEventType } from '../workflow/events.js';

export interface LocateDeps {
  readonly log: EventLog;
  /** The delivery trace of an event (every source with that id when `source` is omitted). */
  readonly trace?: (id: string, source?: string) => Promise<readonly TraceEntry[]>;
  /** When the action with this id happened, if the action gate still remembers it. */
  readonly actionAt?: (id: string) => number | undefined;
}

export interface FindOptions {
  readonly source?: string;
  /** A record near the one looked for (its effect or its cause): searched around first. */
  readonly near?: LogRecord;
  /** About when it was appended (ms), if known: searched from a little before. */
  readonly at?: number;
  /** Search only these types (default: the types the id's shape suggests, then all). */
  readonly types?: readonly string[];
}

export interface Locator {
  find(id: string, options?: FindOptions): Promise<LogRecord | undefined>;
  /** Events examined so far. */
  readonly read: number;
}

const PAGE = 1_000;
/** Events examined around a known record or time before falling back to a search from the end. */
const NEAR_BUDGET = 10_000;
/** A time hint may be a little late (an action's record time is before its event's append). */
const AT_SLACK_MS = 5_000;

const INCIDENT_TYPES = ['opened', 'escalated', 'acknowledged', 'resolved'].map((w) => `homeostat.incident.${w}`);

/** The event types an id of this shape is likely to have (Homeostat's own ids), or undefined. */
export function typesForId(id: string): readonly string[] | undefined {
  if (id.startsWith('act-')) return [...ACTION_OUTCOME_TYPES, ACTION_FROZEN_TYPE, ACTION_UNFROZEN_TYPE];
  if (id.startsWith('hsc1-')) return [CONDITION_FIRED_TYPE];
  if (id.startsWith('reconcile-')) return ['infra.reconcile.decided'];
  if (id.startsWith('cost-anomaly-')) return [CostEventType.anomaly];
  if (id.startsWith('cost-')) return [CostEventType.changed];
  if (id.startsWith('budget-')) return [CostEventType.budgetCrossed];
  if (/^run-[^/]+\//.test(id)) return Object.values(WorkflowEventType);
  if (/^inc-.+\.(opened|escalated|acknowledged|resolved)/.test(id)) return INCIDENT_TYPES;
  return undefined;
}

const matches = (e: CloudEvent, id: string, source: string | undefined): boolean =>
  e.id === id && (source === undefined || e.source === source);

export function createLocator(deps: LocateDeps, maxEvents: number): Locator {
  const { log } = deps;
  let read = 0;

  /** Scans from an offset (exclusive) or a time, in one direction, up to `budget` events. */
  async function scan(
    id: string,
    source: string | undefined,
    o: {
      order: 'asc' | 'desc';
      after?: number;
      since?: number;
      types?: readonly string[];
      budget: number;
    },
  ): Promise<LogRecord | undefined> {
    let after = o.after;
    let seen = 0;
    while (seen < o.budget) {
      const limit = Math.min(PAGE, o.budget - seen);
      const page = await log.query({
        order: o.order,
        limit,
        ...(after === undefined ? {} : { after }),
        ...(o.since === undefined ? {} : { since: o.since }),
        ...(o.types === undefined ? {} : { types: o.types }),
      });
      seen += page.length;
      read += page.length;
      const hit = page.find((r) => matches(r.event, id, source));
      if (hit) return hit;
      if (page.length < limit) return undefined;
      after = page[page.length - 1]!.offset;
    }
    return undefined;
  }

  async function fromTrace(id: string, source: string | undefined): Promise<LogRecord | undefined> {
    if (!deps.trace) return undefined;
    const offsets = new Set((await deps.trace(id, source)).map((e) => e.offset).filter((o) => o >= 0));
    for (const offset of offsets) {
      const [rec] = await log.read({ from: offset, limit: 1 });
      read += rec === undefined ? 0 : 1;
      if (rec && rec.offset === offset && matches(rec.event, id, source)) return rec;
    }
    return undefined;
  }

  return {
    get read() {
      return read;
    },
    async find(id, options = {}) {
      const { source, near } = options;
      const traced = await fromTrace(id, source);
      if (traced) return traced;
      const hinted = options.types ?? typesForId(id);
      const near_ = Math.min(NEAR_BUDGET, maxEvents);
      const at = options.at ?? deps.actionAt?.(id.replace(/\.(pending|frozen)$/, ''));
      if (at !== undefined) {
        const hit = await scan(id, source, { order: 'asc', since: at - AT_SLACK_MS, types: hinted, budget: near_ });
        if (hit) return hit;
      }
      if (near !== undefined) {
        // A cause is usually just before its effect; an action's event is appended after the
        // infrastructure events its `perform` caused, so look a little after too.
        const before = await scan(id, source, { order: 'desc', after: near.offset, types: hinted, budget: near_ });
        if (before) return before;
        const after = await scan(id, source, { order: 'asc', after: near.offset, types: hinted, budget: near_ });
        if (after) return after;
      }
      const typed = await scan(id, source, { order: 'desc', types: hinted, budget: maxEvents });
      if (typed || hinted === undefined || options.types !== undefined) return typed;
      return scan(id, source, { order: 'desc', budget: maxEvents });
    },
  };
}
