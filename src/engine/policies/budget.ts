/**
 * @module `kind: Budget`: an amount per period (day, week, month; UTC) for a scope (stack, group,
 * tags, or everything), with thresholds on actual spend (`actual: 80%`) and on the forecast to the
 * period's end (`forecast: 100%`). Each threshold alerts once per period as a
 * `budget.threshold.crossed` event; with `notify.url` the policy's rule sends that event to the
 * webhook (signed, retried).
 *
 * ```yaml
 * apiVersion: homeostat/v1
 * kind: Budget
 * metadata: { name: monthly }
 * spec: { scope: { stack: web }, amount: 500, period: month, thresholds: [{ actual: 80% }, { forecast: 100% }] }
 * ```
 */
import type { CloudEvent } from '../../core/event.js';
import { CostPeriod } from '../../core/cost/types.js';
import type { BudgetHandle, BudgetRegistry, BudgetSpec, BudgetThreshold } from '../finops/budgets.js';
import { CostEventType } from '../finops/cost-events.js';
import { finish, readPercent, readPolicyHeader, readScope } from '../finops/manifest.js';
import type { CompiledRule, PolicyContext, PolicyInstance, PolicyKind } from './types.js';

const KIND = 'Budget';
const PERIODS = Object.values(CostPeriod) as string[];
const DEFAULT_THRESHOLDS: readonly BudgetThreshold[] = Object.freeze([
  { kind: 'actual', percent: 80 },
  { kind: 'actual', percent: 100 },
  { kind: 'forecast', percent: 100 },
]);

export function parseBudget(manifest: Readonly<Record<string, unknown>>): BudgetSpec {
  const h = readPolicyHeader(manifest, KIND, ['scope', 'amount', 'currency', 'period', 'thresholds', 'notify']);
  const { r, spec } = h;
  const scope = readScope(r, spec.scope, '/spec/scope', false);
  const amount = spec.amount;
  if (typeof amount !== 'number' || !Number.isFinite(amount) || amount <= 0)
    r.add(
      '/spec/amount',
      `required: the budget per period in USD, a number above 0 (e.g. 500), not ${JSON.stringify(amount)}`,
    );
  if (spec.currency !== undefined && spec.currency !== 'USD')
    r.add('/spec/currency', "must be 'USD' (the providers' prices are in USD)");
  const period = spec.period ?? 'month';
  if (!PERIODS.includes(period as string))
    r.add('/spec/period', `must be one of ${PERIODS.join(', ')} (default month)`);
  const thresholds = readThresholds(h, spec.thresholds);
  let notify: { url: string } | undefined;
  if (spec.notify !== undefined) {
    const n = r.object(spec.notify, '/spec/notify', 'an object { url }');
    if (n) {
      r.fields(n, '/spec/notify', ['url']);
      if (typeof n.url === 'string' && /^https?:\/\/\S+$/.test(n.url)) notify = { url: n.url };
      else r.add('/spec/notify/url', 'must be an http(s) URL that receives the alert as JSON');
    }
  }
  finish(h, KIND);
  return Object.freeze({
    kind: KIND,
    name: h.name,
    ...(h.description === undefined ? {} : { description: h.description }),
    safety: h.safety,
    scope,
    amount: amount as number,
    period: period as CostPeriod,
    thresholds,
    ...(notify === undefined ? {} : { notify }),
  });
}

function readThresholds(h: ReturnType<typeof readPolicyHeader>, raw: unknown): readonly BudgetThreshold[] {
  const { r } = h;
  if (raw === undefined) return DEFAULT_THRESHOLDS;
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > 20) {
    r.add('/spec/thresholds', "must be a list of 1 to 20 thresholds such as [{ actual: '80%' }, { forecast: '100%' }]");
    return DEFAULT_THRESHOLDS;
  }
  const out: BudgetThreshold[] = [];
  raw.forEach((t: unknown, i) => {
    const at = `/spec/thresholds/${i}`;
    const o = r.object(t, at, "an object with one of actual or forecast, e.g. { actual: '80%' }");
    if (!o) return;
    const keys = Object.keys(o);
    if (keys.length !== 1 || (keys[0] !== 'actual' && keys[0] !== 'forecast')) {
      r.add(at, "needs exactly one of actual or forecast, e.g. { forecast: '100%' }");
      return;
    }
    const kind = keys[0];
    const percent = readPercent(r, o[kind], `${at}/${kind}`);
    if (out.some((x) => x.kind === kind && x.percent === percent)) r.add(at, 'repeats an earlier threshold');
    out.push({ kind, percent });
  });
  return Object.freeze(out);
}

/** The policy kind; `budgets` is the FinOps budget registry (createFinOps wires it). */
export function createBudgetKind(budgets: BudgetRegistry): PolicyKind<BudgetSpec> {
  return {
    kind: KIND,
    parse: parseBudget,
    compile(spec): CompiledRule[] {
      if (spec.notify === undefined) return [];
      return [
        {
          suffix: 'notify',
          spec: {
            match: { source: ['homeostat/finops'], type: [CostEventType.budgetCrossed], data: { budget: [spec.name] } },
            targets: [{ action: 'policy', with: { policy: `${KIND}/${spec.name}`, hook: 'notify' } }],
          },
        },
      ];
    },
    start(spec, context) {
      return startBudget(spec, context, budgets.add(spec, context.publish));
    },
  };
}

async function startBudget(spec: BudgetSpec, context: PolicyContext, handle: BudgetHandle): Promise<PolicyInstance> {
  let notified = 0;
  let lastNotifyError: string | undefined;
  try {
    await handle.evaluate();
  } catch (err) {
    context.logger.warn({ err, budget: spec.name }, 'budget evaluation failed');
  }
  return {
    async onEvent(hook: string, event: CloudEvent) {
      if (hook !== 'notify' || spec.notify === undefined) return { skipped: `no hook ${hook}` };
      const d = event.data as Record<string, unknown>;
      const text = `Budget ${spec.name}: ${d.threshold ? JSON.stringify(d.threshold) : ''} crossed (spent $${String(d.spent)}, forecast $${String(d.forecast)} of $${String(d.amount)})`;
      try {
        await context.notify(spec.notify.url, { text, event: event.id, ...d }, event.id);
        notified++;
        return { notified: spec.notify.url };
      } catch (err) {
        lastNotifyError = (err as Error).message;
        throw err;
      }
    },
    status() {
      return {
        ...(handle.last() ?? { budget: spec.name, status: 'not evaluated yet' }),
        notified,
        ...(lastNotifyError === undefined ? {} : { lastNotifyError }),
      };
    },
    async close() {
      handle.remove();
    },
  };
}
