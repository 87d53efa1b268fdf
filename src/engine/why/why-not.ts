/**
 * @module why-not: why a rule did not fire for an event, computed on demand from what is stored.
 * In order: the rule (unknown, disabled, newer than the event, changed since), the pattern (the
 * failing field, from core/pattern/explain.ts), the router (not routed yet), the `when` condition
 * (re-evaluated read-only at the event: its progress), the deliveries (trace: pending, retrying,
 * dead-lettered) and the actions they asked for (a safety rail that refused, a dry run, an
 * approval). When it did fire, it says so and points to `why`.
 */
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { explainPattern } from '../../core/pattern/index.js';
import { CONDITION_FIRED_TYPE, type RuleRecord } from '../../core/rules/types.js';
import { describeFiring } from '../../core/why/condition-progress.js';
import { formatDuration } from '../../core/why/format.js';
import type { WhyNotReason, WhyNotResult, WhyNotVerdict } from '../../core/why/types.js';
import type { TraceEntry } from '../../ports/delivery-store.js';
import type { EventLog, LogRecord } from '../../ports/event-log.js';
import { recordFromEvent } from '../automation/action-events.js';
import type { ActionRecord } from '../automation/types.js';
import { firedRuleOf } from '../condition-rule.js';
import { ROUTER_CONSUMER } from '../router.js';
import { collectDescendants } from './collect.js';
import { replayCondition } from './condition-replay.js';
import type { Locator } from './locate.js';
import type { ResolvedWhyOptions } from './options.js';
import { actionSummary } from './summaries.js';

export interface WhyNotDeps {
  readonly log: EventLog;
  readonly trace?: (id: string, source?: string) => Promise<readonly TraceEntry[]>;
  readonly rules?: {
    get(name: string): Promise<RuleRecord | undefined>;
    list(): Promise<RuleRecord[]>;
  };
}

type Data = Record<string, unknown>;
const isObj = (v: unknown): v is Data => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const iso = (ms: number): string => new Date(ms).toISOString();

/** The delivery to one target, as the trace tells it. */
interface DeliveryView {
  readonly target: string;
  readonly status: 'delivered' | 'dead' | 'retrying' | 'skipped' | 'in-flight';
  readonly attempts: number;
  readonly outcome?: Data;
  readonly error?: Data;
  readonly reason?: string;
  readonly deadLetter?: number;
}

function deliveriesOf(entries: readonly TraceEntry[]): DeliveryView[] {
  const byTarget = new Map<string, TraceEntry[]>();
  for (const e of entries) {
    if (e.target === undefined) continue;
    const list = byTarget.get(e.target);
    if (list) list.push(e);
    else byTarget.set(e.target, [e]);
  }
  return [...byTarget].map(([target, list]) => {
    const attempts = list.filter((e) => e.kind === 'attempt');
    const last = [...list].reverse().find((e) => e.kind !== 'attempt' && e.kind !== 'emitted' && e.kind !== 'matched');
    const lastAttempt = attempts[attempts.length - 1];
    const error = isObj(lastAttempt?.detail?.error) ? lastAttempt.detail.error : undefined;
    const outcome = isObj(lastAttempt?.detail?.outcome) ? lastAttempt.detail.outcome : undefined;
    const status: DeliveryView['status'] =
      last?.kind === 'delivered'
        ? 'delivered'
        : last?.kind === 'dead-lettered'
          ? 'dead'
          : last?.kind === 'retry-scheduled'
            ? 'retrying'
            : last?.kind === 'skipped'
              ? 'skipped'
              : 'in-flight';
    return {
      target,
      status,
      attempts: attempts.length,
      ...(outcome === undefined ? {} : { outcome }),
      ...(error === undefined ? {} : { error }),
      ...(str(last?.detail?.reason) ? { reason: last!.detail!.reason as string } : {}),
      ...(typeof last?.detail?.deadLetter === 'number' ? { deadLetter: last.detail.deadLetter } : {}),
    };
  });
}

/** Why a delivered target did not act, when its outcome says so (a policy's decision, a skip). */
function declined(outcome: Data | undefined): string | undefined {
  if (outcome === undefined) return undefined;
  if (str(outcome.skipped)) return `skipped: ${outcome.skipped as string}`;
  if (outcome.submitted === false)
    return `decided ${str(outcome.decision) ?? 'a change'} but did not submit it: ${str(outcome.why) ?? '?'}`;
  if (outcome.decision === 'none') return `decided no change: ${str(outcome.reason) ?? 'no reason given'}`;
  return undefined;
}

function eventView(rec: LogRecord): WhyNotResult['event'] {
  const e = rec.event;
  return {
    id: e.id,
    source: e.source,
    type: e.type,
    ...(e.subject === undefined ? {} : { subject: e.subject }),
    offset: rec.offset,
    at: iso(rec.appendedAt),
  };
}

/** The rule by name, or the one rule a policy (`ScalingPolicy/web`) compiles to that fits the event. */
async function findRule(
  deps: WhyNotDeps,
  name: string,
  rec: LogRecord,
): Promise<{ record?: RuleRecord; note?: string }> {
  const direct = await deps.rules?.get(name);
  if (direct) return { record: direct };
  if (!name.includes('/') || !deps.rules) return {};
  const owned = (await deps.rules.list()).filter((r) => r.managedBy?.toLowerCase() === name.toLowerCase());
  if (owned.length === 0) return {};
  const record = owned.find((r) => explainPattern(r.spec.match, rec.event).matched) ?? owned[0]!;
  return { record, note: `${name} acts through its generated rule ${record.spec.name}` };
}

export async function explainWhyNot(
  deps: WhyNotDeps,
  locator: Locator,
  o: ResolvedWhyOptions,
  ruleName: string,
  eventId: string,
): Promise<WhyNotResult> {
  const rec = await locator.find(eventId, { ...(o.source === undefined ? {} : { source: o.source }) });
  if (rec === undefined) {
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      `no event '${eventId}'${o.source === undefined ? '' : ` from source '${o.source}'`} in the log (searched ${locator.read} events, newest first, up to ${o.maxSearch}); check the id with GET /v1/events or homeostat events`,
      { details: { event: eventId, searched: locator.read } },
    );
  }
  const found = await findRule(deps, ruleName, rec);
  const record = found.record;
  const name = record?.spec.name ?? ruleName;
  const traceAll = deps.trace ? await deps.trace(rec.event.id, rec.event.source) : [];
  const entries = traceAll.filter((e) => e.rule === name);
  if (record === undefined && entries.length === 0) {
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      `no rule named '${ruleName}' (list the rules with \`homeostat get rules\` or GET /v1/rules), and the trace of event '${eventId}' does not mention one`,
      { details: { rule: ruleName } },
    );
  }

  const reasons: WhyNotReason[] = [];
  if (found.note) reasons.push({ kind: 'rule', message: found.note });
  if (record === undefined)
    reasons.push({ kind: 'rule', message: `rule ${name} no longer exists; this answer comes from the trace alone` });
  const explanation = record ? explainPattern(record.spec.match, rec.event) : undefined;
  const pattern = explanation && {
    matched: explanation.matched,
    failures: explanation.failures.map((f) => ({ pointer: f.pointer, path: f.path, reason: f.reason })),
  };
  const base = {
    rule: name,
    event: eventView(rec),
    ...(pattern ? { pattern } : {}),
    hint: `homeostat why ${rec.event.id}`,
  };
  const answer = (
    fired: boolean,
    verdict: WhyNotVerdict,
    summary: string,
    extra: Partial<WhyNotResult> = {},
  ): WhyNotResult => ({
    ...base,
    fired,
    verdict,
    summary,
    reasons,
    ...extra,
  });

  if (!entries.some((e) => e.kind === 'matched')) {
    return notMatched(deps, rec, record, name, pattern, reasons, answer);
  }

  // Matched. A rule with `when` fed its condition; its firing (a new event) went to the targets.
  let delivery = rec;
  const firing = firedRuleOf(rec.event) === name;
  const conditional =
    !firing && (record?.spec.when !== undefined || entries.some((e) => e.kind === 'emitted' && e.target === undefined));
  let condition: Data | undefined;
  if (conditional) {
    const firedIds = entries
      .filter((e) => e.kind === 'emitted' && e.target === undefined)
      .flatMap((e) => ((e.detail?.events as { id?: string }[] | undefined) ?? []).map((x) => x.id))
      .filter((id): id is string => id !== undefined);
    if (firedIds.length === 0) {
      reasons.push({
        kind: 'rule',
        message: `rule ${name} matched the event at ${iso(entries.find((e) => e.kind === 'matched')!.at)} and fed it to its condition`,
      });
      if (!record?.spec.when) {
        return answer(
          false,
          'condition-not-met',
          `rule ${name} matched the event, but its condition did not fire on it`,
        );
      }
      const replay = await replayCondition(deps.log, record.spec, rec, {
        maxEvents: o.maxEvents,
        notBefore: record.createdAt,
      });
      const group =
        replay.group === undefined
          ? ' (the event has no value at groupBy, so it is in no group)'
          : replay.group === ''
            ? ''
            : ` for group '${replay.group}'`;
      let message = `${replay.progress}${group}`;
      if (replay.wouldFire) {
        const fired =
          replay.lastFiredAt === undefined ? '' : `; it last fired for this group at ${iso(replay.lastFiredAt)}`;
        message = `re-evaluated from the log, the condition would fire on this event (${replay.progress}), but no firing was recorded: its state may have started after events it counts here (rule created ${iso(record.createdAt)}, changed ${iso(record.updatedAt)}), or it fired before while the condition kept holding${fired}`;
      } else if (replay.lastFiredAt !== undefined)
        message += `; it last fired for this group at ${iso(replay.lastFiredAt)}`;
      if (replay.truncated)
        message += ` (re-evaluated over the newest ${replay.scanned} events only: raise maxEvents to cover the whole window)`;
      reasons.push({ kind: 'condition', message, detail: { ...replay.detail } });
      condition = {
        kind: replay.kind,
        ...(replay.group === undefined ? {} : { group: replay.group }),
        holds: replay.holds,
        wouldFire: replay.wouldFire,
        progress: replay.progress,
        detail: replay.detail,
        ...(replay.lastFiredAt === undefined ? {} : { lastFiredAt: iso(replay.lastFiredAt) }),
        evaluated: { since: iso(replay.since), fed: replay.fed, scanned: replay.scanned, truncated: replay.truncated },
      };
      return answer(
        false,
        'condition-not-met',
        `rule ${name} matched the event, but its ${replay.kind} condition did not fire: ${message}`,
        { condition },
      );
    }
    const fired = await locator.find(firedIds[0]!, { near: rec, types: [CONDITION_FIRED_TYPE] });
    const detail = isObj((fired?.event.data as Data | undefined)?.detail)
      ? ((fired!.event.data as Data).detail as Data)
      : {};
    reasons.push({
      kind: 'condition',
      message: `its condition fired on this event (${describeFiring(detail)}): event ${firedIds[0]!}`,
    });
    condition = { fired: firedIds[0], detail };
    if (fired) delivery = fired;
    else
      reasons.push({
        kind: 'trace',
        message: `the firing ${firedIds[0]!} is not in the log any more; its deliveries are not shown`,
      });
  }

  const deliveryEntries =
    delivery === rec
      ? entries
      : (deps.trace ? await deps.trace(delivery.event.id, delivery.event.source) : []).filter((e) => e.rule === name);
  const deliveries = deliveriesOf(deliveryEntries);
  const actions = await actionsOf(deps.log, delivery, deliveryEntries, name, record, o);
  const extra = {
    ...(condition ? { condition } : {}),
    deliveries: deliveries.map((d) => ({ ...d })),
    actions: actions.map(actionView),
  };
  const what = conditional ? 'its condition fired and ' : '';
  if (deliveries.length === 0) {
    reasons.push({
      kind: 'delivery',
      message: 'no delivery to its targets is recorded yet (queued, or the first attempt is running)',
    });
    return answer(
      true,
      'delivery-pending',
      `rule ${name} matched the event and ${what}its targets have not been delivered yet`,
      extra,
    );
  }
  for (const d of deliveries) reasons.push({ kind: 'delivery', message: deliveryText(d) });
  for (const a of actions)
    reasons.push({ kind: 'action', message: actionSummary(a, `homeostat.action.${a.outcome}`), detail: { id: a.id } });
  const dead = deliveries.find((d) => d.status === 'dead');
  if (dead)
    return answer(
      true,
      'delivery-failed',
      `rule ${name} fired, but ${what}the delivery to ${dead.target} was dead-lettered: ${deliveryText(dead)}`,
      extra,
    );
  const pending = deliveries.find((d) => d.status === 'retrying' || d.status === 'in-flight');
  if (pending)
    return answer(
      true,
      'delivery-pending',
      `rule ${name} fired, but ${what}the delivery to ${pending.target} is not done: ${deliveryText(pending)}`,
      extra,
    );
  const notExecuted = actions.find((a) => a.outcome !== 'executed');
  if (notExecuted) {
    const how =
      notExecuted.outcome === 'refused'
        ? `the ${notExecuted.rail ?? 'safety'} rail refused its action: ${notExecuted.why ?? ''}`
        : `its action was ${notExecuted.outcome}${notExecuted.why ? `: ${notExecuted.why}` : ''}`;
    return answer(true, 'action-not-executed', `rule ${name} fired, but ${how}`.trimEnd(), extra);
  }
  const decline = deliveries.map((d) => [d, declined(d.outcome)] as const).find(([, why]) => why !== undefined);
  if (decline)
    return answer(
      true,
      'target-declined',
      `rule ${name} fired; target ${decline[0].target} was delivered but ${decline[1]!}`,
      extra,
    );
  return answer(
    true,
    'fired',
    `rule ${name} did fire for event ${rec.event.id}: ${what}${deliveries.length} target(s) delivered; see \`homeostat why ${rec.event.id}\``,
    extra,
  );
}

function deliveryText(d: DeliveryView): string {
  const attempts = `${d.attempts} attempt${d.attempts === 1 ? '' : 's'}`;
  const error = d.error ? `: ${str(d.error.code) ?? ''} ${str(d.error.message) ?? ''}`.trimEnd() : '';
  switch (d.status) {
    case 'delivered':
      return `target ${d.target} delivered after ${attempts}`;
    case 'dead':
      return `target ${d.target} dead-lettered after ${attempts} (${d.reason ?? '?'})${error}${d.deadLetter === undefined ? '' : `; see homeostat dlq get ${d.deadLetter}`}`;
    case 'retrying':
      return `target ${d.target} failed ${attempts} and waits for a retry${error}`;
    case 'skipped':
      return `target ${d.target} skipped (${d.reason ?? 'already delivered'})`;
    default:
      return `target ${d.target} is being delivered (${attempts} so far)`;
  }
}

function actionView(a: ActionRecord): Data {
  return {
    id: a.id,
    action: a.action,
    resource: a.resource,
    policy: a.policy,
    outcome: a.outcome,
    ...(a.rail === undefined ? {} : { rail: a.rail }),
    ...(a.why === undefined ? {} : { why: a.why }),
    reason: a.reason,
    at: iso(a.at),
    summary: actionSummary(a, `homeostat.action.${a.outcome}`),
  };
}

/** The actions the delivery asked for: referenced by its attempts, or caused by the event on the rule's behalf. */
async function actionsOf(
  log: EventLog,
  delivery: LogRecord,
  entries: readonly TraceEntry[],
  rule: string,
  record: RuleRecord | undefined,
  o: ResolvedWhyOptions,
): Promise<ActionRecord[]> {
  const referenced = new Set<string>();
  for (const e of entries) {
    const out = e.detail?.outcome;
    if (isObj(out)) for (const k of ['actionId', 'action']) if (str(out[k])) referenced.add(out[k] as string);
  }
  const policies = new Set([`Rule/${rule}`, ...(record?.managedBy ? [record.managedBy] : [])]);
  const desc = await collectDescendants(log, delivery, {
    maxEvents: Math.min(o.maxEvents, 20_000),
    windowMs: Math.min(o.windowMs, 600_000),
  });
  const byId = new Map<string, ActionRecord>();
  for (const child of desc.children(delivery.event.id)) {
    const a = recordFromEvent(child.event);
    if (a === undefined || child.event.type.endsWith('.frozen')) continue;
    if (!referenced.has(a.id) && !policies.has(a.policy)) continue;
    // The final outcome replaces a pending-approval record of the same action.
    const seen = byId.get(a.id);
    if (!seen || seen.outcome === 'pending-approval') byId.set(a.id, a);
  }
  return [...byId.values()];
}

async function notMatched(
  deps: WhyNotDeps,
  rec: LogRecord,
  record: RuleRecord | undefined,
  name: string,
  pattern: WhyNotResult['pattern'],
  reasons: WhyNotReason[],
  answer: (fired: boolean, verdict: WhyNotVerdict, summary: string, extra?: Partial<WhyNotResult>) => WhyNotResult,
): Promise<WhyNotResult> {
  if (pattern && !pattern.matched) {
    for (const f of pattern.failures)
      reasons.push({ kind: 'pattern', message: `${f.pointer}: ${f.reason}`, detail: { path: f.path } });
    const first = pattern.failures[0]?.reason ?? 'no branch matches';
    const branches =
      pattern.failures.length > 1
        ? ` (and ${pattern.failures.length - 1} more $or branch${pattern.failures.length > 2 ? 'es' : ''})`
        : '';
    return answer(false, 'not-matched', `rule ${name}'s pattern does not match the event: ${first}${branches}`);
  }
  if (record === undefined) {
    reasons.push({ kind: 'trace', message: `the trace of the event mentions rule ${name} but records no match` });
    return answer(
      false,
      'no-trace',
      `rule ${name} no longer exists and the trace records no match of it for the event`,
    );
  }
  reasons.push({ kind: 'pattern', message: `the rule's pattern matches the event as the rule is now` });
  const appended = rec.appendedAt;
  if (!record.spec.enabled) {
    reasons.push({ kind: 'rule', message: `rule ${name} is disabled (last changed at ${iso(record.updatedAt)})` });
    return answer(
      false,
      'rule-disabled',
      `rule ${name} is disabled: enable it with \`homeostat rules enable ${name}\`; replay the event to act on it now`,
    );
  }
  // A policy's rules are generated again at every start: their times say nothing about the past.
  if (record.managedBy === undefined && appended < record.createdAt) {
    reasons.push({
      kind: 'timing',
      message: `the event was appended at ${iso(appended)}, ${formatDuration(record.createdAt - appended)} before rule ${name} was created at ${iso(record.createdAt)}`,
    });
    return answer(
      false,
      'rule-newer',
      `the event is older than rule ${name}: rules act on events appended after they exist; replay it with \`homeostat replay --rule ${name} --since ${iso(appended)}\``,
    );
  }
  if (record.managedBy === undefined && appended < record.updatedAt) {
    reasons.push({
      kind: 'timing',
      message: `rule ${name} was changed at ${iso(record.updatedAt)} (generation ${record.generation}), after the event was appended at ${iso(appended)}`,
    });
    return answer(
      false,
      'rule-changed',
      `rule ${name} was changed after the event; the version in force then did not match it (or was disabled); the current version would`,
    );
  }
  const committed = await deps.log.committedOffset(ROUTER_CONSUMER);
  if (committed === undefined || committed <= rec.offset) {
    reasons.push({
      kind: 'timing',
      message: `the router's committed position is ${committed ?? 'unset'}, at or before the event's offset ${rec.offset}`,
    });
    return answer(
      false,
      'not-routed',
      `the router has not finished with the event yet (offset ${rec.offset}); ask again in a moment`,
    );
  }
  reasons.push({
    kind: 'trace',
    message: 'the rule existed and was enabled, and the pattern matches, yet the trace holds no match',
  });
  return answer(
    false,
    'no-trace',
    `the pattern matches and rule ${name} existed, but the trace records no match: the trace may have been pruned (it is kept 7 days), or the rule was disabled at the time`,
  );
}
