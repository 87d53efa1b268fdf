/**
 * @module Activity: follows the log from the end for what automation did (actions, workflow runs,
 * incidents, condition firings) and hands each record to observers: the process log (one line
 * each, with event, causation, correlation and trace ids) and the Prometheus metrics. Reading
 * the log instead of hooking each component counts exactly what is recorded, and nothing on the
 * hot paths changes.
 */
import type { Logger } from 'pino';
import { CONDITION_FIRED_TYPE } from '../core/rules/types.js';
import type { CloudEvent } from '../core/event.js';
import type { EventLog, LogRecord } from '../ports/event-log.js';

const OUTCOMES = ['executed', 'failed', 'refused', 'dry-run', 'pending-approval', 'rejected', 'frozen'];
const WORKFLOW = ['started', 'completed', 'failed', 'cancelled', 'step.completed', 'step.failed', 'waiting-approval'];
const INCIDENT = ['opened', 'updated', 'acknowledged', 'resolved'];

/** The event types the activity follower reads. */
export const ACTIVITY_TYPES: readonly string[] = [
  ...OUTCOMES.map((o) => `homeostat.action.${o}`),
  ...WORKFLOW.map((w) => `homeostat.workflow.${w}`),
  ...INCIDENT.map((i) => `homeostat.incident.${i}`),
  CONDITION_FIRED_TYPE,
];

export type ActivityObserver = (record: LogRecord) => void;

export interface Activity {
  start(): Promise<void>;
  close(): Promise<void>;
}

export function followActivity(
  log: EventLog,
  observers: readonly ActivityObserver[],
  onError: (err: unknown) => void,
): Activity {
  const abort = new AbortController();
  let loop: Promise<void> | undefined;
  return {
    async start() {
      const from = (await log.stats()).nextOffset;
      loop = (async () => {
        try {
          for await (const rec of log.follow({ from, types: ACTIVITY_TYPES, signal: abort.signal })) {
            for (const observe of observers) {
              try {
                observe(rec);
              } catch (err) {
                onError(err);
              }
            }
          }
        } catch (err) {
          if (!abort.signal.aborted) onError(err);
        }
      })();
    },
    async close() {
      abort.abort();
      await loop;
    },
  };
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** The ids that tie a log line to the causal record and to a trace. */
export function eventIds(e: CloudEvent): Record<string, string> {
  const ids: Record<string, string> = { eventId: e.id };
  const causation = str(e.causationid);
  const correlation = str(e.correlationid);
  const traceId = str(e.traceparent)?.split('-')[1];
  if (causation) ids.causationId = causation;
  if (correlation) ids.correlationId = correlation;
  if (traceId) ids.traceId = traceId;
  return ids;
}

/** One log line per activity event: info for what happened, warn for failures and refusals. */
export function activityLogger(logger: Logger): ActivityObserver {
  return ({ event }) => {
    const d = (event.data ?? {}) as Record<string, unknown>;
    const ids = eventIds(event);
    const type = event.type;
    if (type.startsWith('homeostat.action.')) {
      const outcome = type.slice('homeostat.action.'.length);
      const params = d.params && Object.keys(d.params).length > 0 ? ` ${JSON.stringify(d.params)}` : '';
      // A refusal or failure says why; anything else, the decision's reason.
      const because = str(d.why) ?? str(d.reason);
      const why = because ? `: ${because}` : '';
      const line = `${str(d.policy)} ${str(d.action)} ${str(d.resource)}${params} ${outcome}${why}`;
      const bad = outcome === 'failed' || outcome === 'refused' || outcome === 'frozen';
      const fields = { ...ids, actionId: d.id, policy: d.policy, action: d.action, outcome, rail: d.rail };
      if (bad) logger.warn(fields, line);
      else logger.info(fields, line);
    } else if (type.startsWith('homeostat.workflow.')) {
      const what = type.slice('homeostat.workflow.'.length);
      const fields = { ...ids, run: d.run, workflow: d.workflow, step: d.step };
      const line = `workflow ${str(d.workflow)} run ${str(d.run)} ${what}${str(d.step) ? ` (${str(d.step)})` : ''}`;
      if (what.endsWith('failed')) logger.warn(fields, line);
      else if (what.startsWith('step.')) logger.debug(fields, line);
      else logger.info(fields, line);
    } else if (type.startsWith('homeostat.incident.')) {
      const what = type.slice('homeostat.incident.'.length);
      const fields = { ...ids, incident: d.id, severity: d.severity, resource: d.resource };
      logger.warn(fields, `incident ${str(d.id)} ${what}: ${str(d.title) ?? ''}`);
    } else if (type === CONDITION_FIRED_TYPE) {
      // Frequent (a scaling rule fires each window): debug, with what made it fire.
      logger.debug({ ...ids, rule: d.rule, group: d.group, detail: d.detail }, `rule ${str(d.rule)} fired`);
    }
  };
}
