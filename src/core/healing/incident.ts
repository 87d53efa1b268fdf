/**
 * @module The incident record as values: open, append to the timeline (bounded), escalate,
 * resolve, and the recovery figures. Every function returns a new frozen incident. Pure.
 */
import { ErrorCode, HomeostatError } from '../errors.js';
import {
  INCIDENT_SEVERITIES,
  type Incident,
  type IncidentSeverity,
  MAX_TIMELINE,
  type TimelineEntry,
} from './types.js';

/** Timeline entries always kept from the start of an incident when the cap drops older ones. */
const KEEP_FIRST = 10;

/** A short unique id: `inc-<time base 36>-<4 random base-36 characters>`. */
export function newIncidentId(now: number, random: () => number): string {
  const tail = Math.floor(random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `inc-${now.toString(36)}-${tail}`;
}

export interface OpenIncidentInput {
  readonly id: string;
  readonly title: string;
  readonly severity: IncidentSeverity;
  readonly resource: string;
  readonly group?: string;
  readonly policy: string;
  readonly at: number;
  readonly details?: Readonly<Record<string, unknown>>;
  readonly timeline?: readonly TimelineEntry[];
}

export function openIncident(input: OpenIncidentInput): Incident {
  const incident: Incident = {
    id: input.id,
    title: input.title,
    severity: input.severity,
    status: 'open',
    resource: input.resource,
    ...(input.group === undefined ? {} : { group: input.group }),
    policy: input.policy,
    openedAt: input.at,
    details: input.details ?? {},
    timeline: [],
  };
  return appendTimeline(incident, input.timeline ?? []);
}

/**
 * Appends entries in time order (an entry older than the last one is inserted where it belongs, so
 * an event that arrives late still reads right). Past {@link MAX_TIMELINE} entries, the oldest ones
 * after the first ten are dropped and counted in `details.droppedEntries`.
 */
export function appendTimeline(incident: Incident, entries: readonly TimelineEntry[]): Incident {
  const timeline = [...incident.timeline];
  for (const e of entries) {
    let i = timeline.length;
    while (i > 0 && timeline[i - 1]!.at > e.at) i--;
    timeline.splice(i, 0, Object.freeze({ ...e }));
  }
  const over = timeline.length - MAX_TIMELINE;
  let details = incident.details;
  if (over > 0) {
    timeline.splice(KEEP_FIRST, over);
    details = { ...details, droppedEntries: ((details.droppedEntries as number | undefined) ?? 0) + over };
  }
  return freeze({ ...incident, details, timeline });
}

/** Raises the severity (never lowers it); the timeline says why. */
export function escalate(incident: Incident, severity: IncidentSeverity, entry: TimelineEntry): Incident {
  const raised = INCIDENT_SEVERITIES.indexOf(severity) > INCIDENT_SEVERITIES.indexOf(incident.severity);
  return appendTimeline(raised ? { ...incident, severity } : incident, [entry]);
}

/** Merges figures and flags into `details` (a key set to undefined is removed). */
export function withDetails(incident: Incident, patch: Readonly<Record<string, unknown>>): Incident {
  const details: Record<string, unknown> = { ...incident.details };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) delete details[k];
    else details[k] = v;
  }
  return freeze({ ...incident, details });
}

/**
 * Resolves an open incident at `at` by `by`, with a closing note. E_CONFLICT when it is already
 * resolved. `details.toResolvedMs` is the time from opening.
 */
export function resolveIncident(incident: Incident, at: number, by: string, summary: string): Incident {
  if (incident.status === 'resolved') {
    throw new HomeostatError(
      ErrorCode.CONFLICT,
      `incident ${incident.id} was already resolved at ${new Date(incident.resolvedAt ?? 0).toISOString()} by ${incident.resolvedBy ?? 'unknown'}`,
    );
  }
  const resolved: Incident = {
    ...withDetails(incident, { toResolvedMs: Math.max(0, at - incident.openedAt) }),
    status: 'resolved',
    resolvedAt: at,
    resolvedBy: by,
  };
  return appendTimeline(resolved, [{ at, kind: 'note', summary }]);
}

function freeze(incident: Incident): Incident {
  return Object.freeze({
    ...incident,
    details: Object.freeze({ ...incident.details }),
    timeline: Object.freeze(incident.timeline),
  });
}
