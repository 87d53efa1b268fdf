/**
 * @module WhyService: `why` (the causal tree of an event, action, workflow run or incident) and
 * `why-not` (why a rule did not fire for an event), computed on demand from what is stored: the
 * event log, the delivery trace, the workflow store, the incidents and the action gate's memory.
 * Nothing is recorded for it ahead of time.
 *
 * Contract:
 * - `why(id)` resolves the id (an event, an action, a run, an incident), walks `causationid`
 *   up to the root, then reads the log forward from the root over a bounded window
 *   (`maxEvents`, `windowMs`) for everything caused by it, and shapes the tree (build.ts). The
 *   answer says when the window cut the scan short (`scan.truncated`). E_NOT_FOUND when the id
 *   is none of these within the search bound.
 * - `whyNot(rule, event)` explains, in order: rule, pattern, routing, condition, deliveries and
 *   actions (why-not.ts). E_NOT_FOUND for an unknown event, or a rule that neither exists nor
 *   appears in the event's trace.
 * - Read-only and safe to call concurrently; the cost is bounded by the options.
 */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import type { RuleRecord } from '../../core/rules/types.js';
import type { WhyNodeKind, WhyNotResult, WhyResolvedKind, WhyTree } from '../../core/why/types.js';
import type { TraceEntry } from '../../ports/delivery-store.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import { ACTION_EVENT_SOURCE } from '../automation/action-events.js';
import type { ActionGate } from '../automation/types.js';
import { WorkflowEventType } from '../workflow/events.js';
import { type BuildResult, createTreeBuilder, markFocus, toWire, totalsOf } from './build.js';
import { collectDescendants } from './collect.js';
import { createLocator } from './locate.js';
import { resolveWhyOptions, type WhyOptions } from './options.js';
import { explainWhyNot } from './why-not.js';

export type { WhyOptions } from './options.js';

export interface WhyServiceDeps {
  readonly log: EventLog;
  /** The delivery trace (DeliveryAdmin.trace). Without it no rule or attempt appears. */
  readonly deliveries?: { trace(id: string, source?: string): Promise<TraceEntry[]> };
  readonly rules?: {
    get(name: string): Promise<RuleRecord | undefined>;
    list(): Promise<RuleRecord[]>;
  };
  /** Workflow runs with their steps (WorkflowService.run). */
  readonly workflows?: { run(id: string): Promise<Record<string, unknown> | undefined> };
  readonly incidents?: { get(id: string): Promise<{ readonly id: string; readonly openedAt: number } | undefined> };
  /** The action gate, for the times of recent actions. */
  readonly actions?: Pick<ActionGate, 'recent'>;
  /** Defaults for every call (a request's own options win). */
  readonly defaults?: WhyOptions;
}

export interface WhyService {
  why(id: string, options?: WhyOptions): Promise<WhyTree>;
  whyNot(rule: string, event: string, options?: WhyOptions): Promise<WhyNotResult>;
}

/** Longest causation chain walked up to the root. */
const MAX_CHAIN = 64;
/** A root that is an action: its infrastructure events may be appended just before it. */
const ACTION_LOOKBEHIND_MS = 10_000;
/** The descendant scan always reaches this far past the asked event. */
const FOCUS_MARGIN_MS = 60_000;
const WORKFLOW_SOURCE_PREFIX = 'homeostat/workflows/';

const EVENT_KINDS: readonly WhyNodeKind[] = ['event', 'action', 'condition', 'resource', 'cost', 'incident'];

function runOf(rec: LogRecord): string | undefined {
  const d = rec.event.data as { run?: unknown } | undefined;
  return rec.event.source.startsWith(WORKFLOW_SOURCE_PREFIX) && typeof d?.run === 'string' ? d.run : undefined;
}

export function createWhyService(deps: WhyServiceDeps): WhyService {
  const trace = deps.deliveries ? (id: string, source?: string) => deps.deliveries!.trace(id, source) : undefined;
  const actionAt = (id: string): number | undefined =>
    deps.actions?.recent({ limit: 1_000 }).find((r) => r.id === id)?.at;
  const options = (o?: WhyOptions) => resolveWhyOptions({ ...deps.defaults, ...o });

  async function why(id: string, opts?: WhyOptions): Promise<WhyTree> {
    const o = options(opts);
    const locator = createLocator({ log: deps.log, ...(trace ? { trace } : {}), actionAt }, o.maxSearch);
    const source = o.source === undefined ? {} : { source: o.source };

    // What the id is: cheap lookups first (trace, run, incident, action memory), then the log.
    let kind: WhyResolvedKind = 'event';
    let focus: LogRecord | undefined;
    if (trace && (await trace(id, o.source)).length > 0) focus = await locator.find(id, source);
    if (!focus && o.source === undefined) {
      const run = await deps.workflows?.run(id);
      const incident = run ? undefined : await deps.incidents?.get(id);
      if (run) {
        kind = 'workflow';
        const at = typeof run.startedAt === 'string' ? Date.parse(run.startedAt) : undefined;
        focus = await locator.find(`${id}/started`, {
          types: [WorkflowEventType.started],
          ...(at === undefined ? {} : { at }),
        });
      } else if (incident) {
        kind = 'incident';
        focus = await locator.find(`${id}.opened`, { types: ['homeostat.incident.opened'], at: incident.openedAt });
      }
    }
    if (!focus && kind === 'event') focus = await locator.find(id, source);
    // An action still waiting for approval has only its `<id>.pending` event.
    if (!focus && kind === 'event' && id.startsWith('act-')) focus = await locator.find(`${id}.pending`, source);
    if (!focus) {
      const what =
        kind === 'event'
          ? 'no event, action, workflow run or incident has this id'
          : `the ${kind}'s first event is not in the log`;
      throw new HomeostatError(
        ErrorCode.NOT_FOUND,
        `nothing to explain for '${id}': ${what} (searched ${locator.read} events of the log, newest first, up to ${o.maxSearch}); check the id, or search further back with ?maxEvents=`,
        { details: { id, searched: locator.read } },
      );
    }
    if (
      kind === 'event' &&
      focus.event.source === ACTION_EVENT_SOURCE &&
      focus.event.type.startsWith('homeostat.action.')
    )
      kind = 'action';

    // Up the causation chain to the root.
    const notes: string[] = [];
    let root = focus;
    const seen = new Set([focus.event.id]);
    for (let i = 0; i < MAX_CHAIN; i++) {
      const cause = root.event.causationid;
      if (cause === undefined || cause === '' || seen.has(cause)) break;
      const parent = await locator.find(cause, { near: root });
      if (!parent) {
        notes.push(
          `${root.event.id} was caused by '${cause}', which is not in the log (removed by retention, or beyond the search bound): the tree starts at ${root.event.id}`,
        );
        break;
      }
      seen.add(cause);
      root = parent;
    }

    const isAction = root.event.source === ACTION_EVENT_SOURCE;
    // The window always reaches past the asked event, so a long chain does not hide it.
    const windowMs =
      focus === root ? o.windowMs : Math.max(o.windowMs, focus.appendedAt - root.appendedAt + FOCUS_MARGIN_MS);
    const desc = await collectDescendants(deps.log, root, {
      maxEvents: o.maxEvents,
      windowMs,
      ...(isAction ? { lookbehindMs: ACTION_LOOKBEHIND_MS } : {}),
    });
    const builder = createTreeBuilder(
      {
        ...(trace ? { trace } : {}),
        ...(deps.rules ? { rule: async (name: string) => (await deps.rules!.get(name))?.spec } : {}),
        ...(deps.workflows ? { run: (runId: string) => deps.workflows!.run(runId) } : {}),
      },
      desc,
      o.maxNodes,
    );
    const rootRun = runOf(root);
    const built: BuildResult =
      rootRun === undefined ? await builder.build(root) : await builder.buildRun(rootRun, [root]);
    notes.push(...built.notes);
    // A workflow's own events are folded into its run's node: the run is the focus then.
    const focusRun = kind === 'workflow' ? id : runOf(focus);
    const path =
      focusRun === undefined
        ? markFocus(built.root, focus.event.id, EVENT_KINDS)
        : markFocus(built.root, focusRun, ['workflow']);
    if (path.length === 0) {
      notes.push(
        `the asked ${kind} is not in the tree: the scan or the node budget stopped before it (raise maxEvents, window or maxNodes)`,
      );
    }
    return {
      id,
      resolved: { kind, event: focus.event.id },
      root: toWire(built.root, built.root.at),
      path,
      totals: totalsOf(built.root),
      scan: {
        fromOffset: desc.fromOffset,
        toOffset: desc.toOffset,
        scanned: desc.scanned,
        located: locator.read,
        truncated: desc.truncated,
        ...(desc.reason === undefined ? {} : { reason: desc.reason }),
        maxEvents: o.maxEvents,
        windowMs,
        nodes: built.nodes,
        nodesTruncated: built.truncated,
      },
      notes,
    };
  }

  return {
    why,
    async whyNot(rule, event, opts) {
      const o = options(opts);
      const locator = createLocator({ log: deps.log, ...(trace ? { trace } : {}), actionAt }, o.maxSearch);
      return explainWhyNot(
        { log: deps.log, ...(trace ? { trace } : {}), ...(deps.rules ? { rules: deps.rules } : {}) },
        locator,
        o,
        rule,
        event,
      );
    },
  };
}
