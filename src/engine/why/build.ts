/**
 * @module Shapes the causal tree below a root event: for each event, the rules that matched it
 * (delivery trace), their attempts, and the events caused by it placed under what caused them
 * (an action under the attempt that asked for it, an emitted event under its delivery, a
 * condition's firing under the rule, a workflow's steps and their actions under the run), the
 * rest directly under the event. Bounded by a node budget and a depth limit.
 */
import { whenKind } from '../../core/conditions/types.js';
import { conditionSource, type RuleSpec } from '../../core/rules/types.js';
import { formatDuration } from '../../core/why/format.js';
import type { WhyNode, WhyNodeKind, WhyTotals } from '../../core/why/types.js';
import type { TraceEntry } from '../../ports/delivery-store.js';
import type { LogRecord } from '../../ports/event-log.js';
import type { Descendants } from './collect.js';
import { describeEvent } from './summaries.js';

/** A node while the tree is built: times in ms, children mutable. */
export interface BuildNode {
  kind: WhyNodeKind;
  id: string;
  at: number;
  summary: string;
  detail?: Record<string, unknown>;
  focus?: boolean;
  children: BuildNode[];
}

export interface BuildDeps {
  readonly trace?: (id: string, source?: string) => Promise<readonly TraceEntry[]>;
  /** A rule as it is now (for its targets' actions and its condition), if it exists. */
  readonly rule?: (name: string) => Promise<RuleSpec | undefined>;
  /** A workflow run with its steps (the API's run detail: times as RFC 3339), if stored. */
  readonly run?: (id: string) => Promise<Record<string, unknown> | undefined>;
}

export interface BuildResult {
  readonly root: BuildNode;
  readonly nodes: number;
  readonly truncated: boolean;
  readonly notes: readonly string[];
}

/** Deepest chain followed (a rule whose emitted events match itself would otherwise go on). */
const MAX_DEPTH = 200;
const WORKFLOW_SOURCE_PREFIX = 'homeostat/workflows/';

type Data = Record<string, unknown>;
const isObj = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

/** Ids an action's reported outcome refers to: an action, a run, an emitted event. */
function referencedIds(detail: unknown): string[] {
  if (!isObj(detail)) return [];
  const ids = ['actionId', 'action', 'run', 'id'].map((k) => str(detail[k])).filter((v): v is string => !!v);
  if (Array.isArray(detail.emitted)) {
    for (const e of detail.emitted) if (isObj(e) && str(e.id)) ids.push(e.id as string);
  }
  return ids;
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = out.get(k);
    if (list) list.push(item);
    else out.set(k, [item]);
  }
  return out;
}

/** `ok (action executed)`, `failed E_HTTP_STATUS: 503 Service Unavailable`. */
function attemptOutcome(detail: Data | undefined): { ok: boolean; text: string } {
  const error = isObj(detail?.error) ? detail.error : undefined;
  if (error) return { ok: false, text: `failed ${str(error.code) ?? 'E_?'}: ${str(error.message) ?? ''}`.trimEnd() };
  const o = isObj(detail?.outcome) ? detail.outcome : {};
  const parts: string[] = [];
  if (str(o.outcome)) parts.push(`action ${o.outcome as string}`);
  if (str(o.decision)) parts.push(`decision ${o.decision as string}`);
  if (o.status !== undefined) parts.push(`status ${String(o.status)}`);
  if (str(o.run)) parts.push(`run ${o.run as string}`);
  if (str(o.skipped)) parts.push(`skipped: ${o.skipped as string}`);
  if (o.submitted === false && str(o.why)) parts.push(`not submitted: ${o.why as string}`);
  else if (str(o.reason) && o.decision === 'none') parts.push(o.reason as string);
  return { ok: true, text: parts.length === 0 ? 'ok' : `ok (${parts.join('; ')})` };
}

export function createTreeBuilder(deps: BuildDeps, desc: Descendants, maxNodes: number) {
  let nodes = 0;
  let truncated = false;
  const notes: string[] = [];
  const visited = new Set<number>();
  const rules = new Map<string, Promise<RuleSpec | undefined>>();
  const ruleOf = (name: string): Promise<RuleSpec | undefined> => {
    let p = rules.get(name);
    if (!p) rules.set(name, (p = deps.rule ? deps.rule(name).catch(() => undefined) : Promise.resolve(undefined)));
    return p;
  };

  const take = (): boolean => {
    if (nodes >= maxNodes) {
      truncated = true;
      return false;
    }
    nodes++;
    return true;
  };

  /** Rule nodes of an event from its trace entries; `claims` learns which node caused which id. */
  async function ruleNodes(
    rec: LogRecord,
    entries: readonly TraceEntry[],
    claims: Map<string, BuildNode>,
  ): Promise<BuildNode[]> {
    const out: BuildNode[] = [];
    for (const [rule, list] of groupBy(
      entries.filter((e) => e.rule !== undefined),
      (e) => e.rule!,
    )) {
      if (!take()) break;
      const spec = await ruleOf(rule);
      const matched = list.find((e) => e.kind === 'matched');
      const conditionKind = spec?.when ? whenKind(spec.when) : undefined;
      const fired = list.filter((e) => e.kind === 'emitted' && e.target === undefined);
      const targeted = list.filter((e) => e.target !== undefined);
      // A rule with `when` receives its own firing (a new event) and hands it to its targets.
      const ownFiring = rec.event.source === conditionSource(rule);
      let summary = ownFiring ? `rule ${rule} hands its firing to its targets` : `rule ${rule} matched`;
      if (conditionKind !== undefined && !ownFiring && targeted.length === 0) {
        summary +=
          fired.length > 0
            ? ` and its ${conditionKind} condition fired`
            : `; its ${conditionKind} condition did not fire on this event`;
      }
      if (list.some((e) => e.detail?.replayed === true)) summary += ' (replayed)';
      const node: BuildNode = {
        kind: 'rule',
        id: rule,
        at: (matched ?? list[0]!).at,
        summary,
        detail: {
          rule,
          ...(spec === undefined ? { exists: false } : {}),
          ...(conditionKind === undefined ? {} : { condition: conditionKind }),
          targets: [...new Set(targeted.map((e) => e.target!))],
        },
        children: [],
      };
      out.push(node);
      for (const e of fired) {
        for (const ev of (e.detail?.events as { id?: string }[] | undefined) ?? []) if (ev.id) claims.set(ev.id, node);
      }
      for (const [target, tEntries] of groupBy(targeted, (e) => e.target!)) {
        const action = spec?.targets.find((t) => t.id === target)?.action;
        const label = `${target}${action === undefined || action === target ? '' : ` (${action})`}`;
        let last: BuildNode | undefined;
        for (const e of tEntries) {
          if (e.kind === 'attempt') {
            if (!take()) break;
            const { text } = attemptOutcome(e.detail);
            last = {
              kind: 'attempt',
              id: `${rule}/${target}#${e.attempt ?? '?'}`,
              at: e.at,
              summary: `attempt ${e.attempt ?? '?'} → ${label}: ${text}`,
              detail: { rule, target, ...(action === undefined ? {} : { action }), ...(e.detail ?? {}) },
              children: [],
            };
            node.children.push(last);
            const outcome = isObj(e.detail?.outcome) ? e.detail.outcome : undefined;
            for (const id of referencedIds(outcome)) claims.set(id, last);
          } else if (e.kind === 'retry-scheduled' && last) {
            const delay = typeof e.detail?.delayMs === 'number' ? formatDuration(e.detail.delayMs) : '?';
            last.summary += `; retry in ${delay}`;
          } else if (e.kind === 'dead-lettered' || e.kind === 'skipped') {
            const reason = str(e.detail?.reason) ?? e.kind;
            const dead = typeof e.detail?.deadLetter === 'number' ? ` (dead letter ${e.detail.deadLetter})` : '';
            const what = e.kind === 'dead-lettered' ? `dead-lettered: ${reason}${dead}` : `skipped: ${reason}`;
            if (last && e.kind === 'dead-lettered') last.summary += `; ${what}`;
            else if (take()) {
              last = {
                kind: 'attempt',
                id: `${rule}/${target}#${e.kind}`,
                at: e.at,
                summary: `delivery → ${label} ${what}`,
                detail: { rule, target, ...(e.detail ?? {}) },
                children: [],
              };
              node.children.push(last);
            }
          } else if (e.kind === 'emitted') {
            for (const ev of (e.detail?.events as { id?: string }[] | undefined) ?? []) {
              if (ev.id) claims.set(ev.id, last ?? node);
            }
          }
        }
      }
    }
    return out;
  }

  /** Places the events caused by a node's event: under what claimed them, runs grouped into workflow nodes. */
  async function attach(parent: BuildNode, kids: readonly LogRecord[], claims: Map<string, BuildNode>, depth: number) {
    const runs = new Map<string, LogRecord[]>();
    for (const kid of kids) {
      if (visited.has(kid.offset)) continue;
      const d = kid.event.data;
      const run = kid.event.source.startsWith(WORKFLOW_SOURCE_PREFIX) && isObj(d) ? str(d.run) : undefined;
      if (run !== undefined) {
        visited.add(kid.offset);
        const list = runs.get(run);
        if (list) list.push(kid);
        else runs.set(run, [kid]);
        continue;
      }
      const child = await eventNode(kid, depth + 1);
      if (child) (claims.get(kid.event.id) ?? parent).children.push(child);
    }
    for (const [run, records] of runs) {
      const child = await workflowNode(run, records, depth + 1);
      if (child) (claims.get(run) ?? claims.get(records[0]!.event.id) ?? parent).children.push(child);
    }
  }

  async function workflowNode(
    runId: string,
    records: readonly LogRecord[],
    depth: number,
  ): Promise<BuildNode | undefined> {
    if (!take()) return undefined;
    const run = deps.run ? await deps.run(runId).catch(() => undefined) : undefined;
    const first = records[0]!;
    const workflow = str(run?.workflow) ?? str((first.event.data as Data | undefined)?.workflow) ?? '?';
    const status = str(run?.status) ?? first.event.type.slice('homeostat.workflow.'.length);
    const took = typeof run?.durationMs === 'number' ? ` in ${formatDuration(run.durationMs)}` : '';
    const error = isObj(run?.error) && str(run.error.message) ? `: ${run.error.message as string}` : '';
    const { steps, ...summary } = run ?? {};
    const node: BuildNode = {
      kind: 'workflow',
      id: runId,
      at: first.appendedAt,
      summary: `workflow ${workflow} run ${runId} ${status}${took}${error}`,
      detail: { ...summary, events: records.map((r) => ({ id: r.event.id, type: r.event.type, offset: r.offset })) },
      children: [],
    };
    if (run === undefined) notes.push(`workflow run ${runId} is not in the workflow store; its steps are not shown`);
    const claims = new Map<string, BuildNode>();
    for (const step of Array.isArray(steps) ? steps : []) {
      if (!isObj(step) || !take()) continue;
      const attempts = typeof step.attempts === 'number' && step.attempts > 1 ? ` after ${step.attempts} attempts` : '';
      const stepError = isObj(step.error) && str(step.error.message) ? `: ${step.error.message as string}` : '';
      const started = typeof step.startedAt === 'string' ? Date.parse(step.startedAt) : first.appendedAt;
      const stepNode: BuildNode = {
        kind: 'step',
        id: `${runId}/${str(step.path) ?? '?'}`,
        at: started,
        summary: `step ${str(step.path) ?? '?'} (${str(step.kind) ?? '?'}) ${str(step.status) ?? '?'}${attempts}${stepError}`,
        detail: step,
        children: [],
      };
      node.children.push(stepNode);
      for (const id of referencedIds(step.output)) claims.set(id, stepNode);
    }
    if (depth > MAX_DEPTH) return node;
    for (const r of records) await attach(node, desc.children(r.event.id), claims, depth);
    return node;
  }

  async function eventNode(rec: LogRecord, depth: number): Promise<BuildNode | undefined> {
    if (!take()) return undefined;
    visited.add(rec.offset);
    const facts = describeEvent(rec);
    const node: BuildNode = {
      kind: facts.kind,
      id: rec.event.id,
      at: rec.appendedAt,
      summary: facts.summary,
      detail: facts.detail,
      children: [],
    };
    if (depth > MAX_DEPTH) {
      notes.push(`the chain below ${rec.event.id} is deeper than ${MAX_DEPTH} levels and was cut there`);
      return node;
    }
    const claims = new Map<string, BuildNode>();
    const entries = deps.trace ? await deps.trace(rec.event.id, rec.event.source) : [];
    node.children.push(...(await ruleNodes(rec, entries, claims)));
    await attach(node, desc.children(rec.event.id), claims, depth);
    return node;
  }

  return {
    async build(root: LogRecord): Promise<BuildResult> {
      const node = (await eventNode(root, 0))!;
      return { root: node, nodes, truncated, notes };
    },
    /** A workflow run as the root (a run started without a triggering event). */
    async buildRun(runId: string, records: readonly LogRecord[]): Promise<BuildResult> {
      for (const r of records) visited.add(r.offset);
      const node = (await workflowNode(runId, records, 0))!;
      return { root: node, nodes, truncated, notes };
    },
  };
}

/** Marks the focus node (by id, of one of the kinds given) and returns the ids from the root to it. */
export function markFocus(root: BuildNode, id: string, kinds: readonly WhyNodeKind[]): string[] {
  const path: string[] = [];
  const walk = (n: BuildNode): boolean => {
    path.push(n.id);
    if (n.id === id && kinds.includes(n.kind)) {
      n.focus = true;
      return true;
    }
    for (const c of n.children) if (walk(c)) return true;
    path.pop();
    return false;
  };
  return walk(root) ? path : [];
}

/** Figures over a tree: events, actions by outcome, resource changes, cost delta. */
export function totalsOf(root: BuildNode): WhyTotals {
  let events = 0;
  let resourceChanges = 0;
  let costDeltaPerHour = 0;
  let costChanges = 0;
  const actions: Record<string, number> = {};
  const walk = (n: BuildNode): void => {
    const detail = n.detail ?? {};
    if (typeof detail.offset === 'number') events++;
    if (n.kind === 'resource') resourceChanges++;
    if (n.kind === 'action' && isObj(detail.record) && detail.type !== 'homeostat.action.frozen') {
      const outcome = String(detail.record.outcome);
      actions[outcome] = (actions[outcome] ?? 0) + 1;
    }
    if (n.kind === 'cost' && detail.type === 'cost.changed' && isObj(detail.data)) {
      const delta = detail.data.deltaPerHour;
      if (typeof delta === 'number') {
        costDeltaPerHour += delta;
        costChanges++;
      }
    }
    for (const c of n.children) walk(c);
  };
  walk(root);
  return { events, actions, resourceChanges, costDeltaPerHour: Math.round(costDeltaPerHour * 1e6) / 1e6, costChanges };
}

/** The wire form: times as RFC 3339 and relative to the root, children in time order. */
export function toWire(n: BuildNode, rootAt: number): WhyNode {
  const children = n.children
    .map((c, i) => [c, i] as const)
    .sort(([a, i], [b, j]) => a.at - b.at || i - j)
    .map(([c]) => toWire(c, rootAt));
  return {
    kind: n.kind,
    id: n.id,
    at: new Date(n.at).toISOString(),
    t: n.at - rootAt,
    summary: n.summary,
    ...(n.detail === undefined ? {} : { detail: n.detail }),
    ...(n.focus ? { focus: true as const } : {}),
    children,
  };
}
