/**
 * @module The CompliancePolicy kind (docs/COMPLIANCE.md): a CEL condition over resource state,
 * evaluated on every change of a resource it selects and periodically, with a remedy applied
 * through the action gate. `createCompliance` returns the kind for the policy service and the
 * report behind `GET /v1/compliance` and `homeostat compliance`.
 *
 * Each policy compiles to one rule, `compliancepolicy.<name>.change`, matching the provider's
 * `infra.resource.changed` and `infra.resource.drifted` events (and `infra.instance.*` /
 * `infra.group.*` when it checks instances or groups) of the kinds it selects, delivered to the
 * policy's `change` hook. A `scan` hook runs a full evaluation on demand.
 *
 * State (resources evaluated, open and closed violations) is kept in memory per policy name: it
 * survives a re-apply of the policy and is rebuilt from the resources' current state after a
 * restart (violations open at a restart are detected again, with a new detection time).
 */
import type { Clock } from '../../core/clock.js';
import { parseCompliancePolicy } from '../../core/compliance/parse.js';
import { COMPLIANCE_KIND, type CompliancePolicySpec, type ResourceSelector } from '../../core/compliance/types.js';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { INFRA_SOURCE_PREFIX } from '../infra/events.js';
import { type ComplianceRunner, createComplianceRunner } from './compliance-runner.js';
import {
  type ComplianceReport,
  complianceReport,
  newPolicyState,
  type PolicyState,
  policyReport,
} from './compliance-report.js';
import type { CompiledRule, PolicyKind } from './types.js';

/** Timers for the periodic scans; tests pass fakes and call the callbacks themselves. */
export interface ComplianceTimers {
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export interface ComplianceOptions {
  /** Stamps reports. Policies use their PolicyContext's clock (the same one in the runtime). */
  readonly clock: Clock;
  /** Default: the global timers, unref'd so they do not keep the process alive. */
  readonly timers?: ComplianceTimers;
  /** Closed violations kept per policy for the report. Default 50. */
  readonly history?: number;
}

export interface Compliance {
  readonly kind: PolicyKind<CompliancePolicySpec>;
  /**
   * Every running CompliancePolicy's figures, or one (`policy`: its name or `CompliancePolicy/<name>`;
   * E_NOT_FOUND when no such policy runs).
   */
  report(filter?: { readonly policy?: string }): ComplianceReport;
  /** Resolves when every running policy has finished the work queued so far (start scans, events, scans). */
  settled(): Promise<void>;
  /** Stops every running policy's timer and waits for its work to finish. */
  close(): Promise<void>;
}

const DEFAULT_TIMERS: ComplianceTimers = {
  setInterval: (fn, ms) => {
    const handle = setInterval(fn, ms);
    handle.unref();
    return handle;
  },
  clearInterval: (handle) => clearInterval(handle as ReturnType<typeof setInterval>),
};

/** The rule match for a selector: the resource events of its kinds (and names), from providers. */
export function complianceMatch(selector: ResourceSelector): Record<string, unknown> {
  const types: unknown[] = ['infra.resource.changed', 'infra.resource.drifted'];
  if (selector.kinds.includes('Instance')) types.push({ prefix: 'infra.instance.' });
  if (selector.kinds.includes('InstanceGroup')) types.push({ prefix: 'infra.group.' });
  const subject = selector.kinds.flatMap((kind): unknown[] => {
    const k = kind.toLowerCase();
    if (selector.names.length === 0) return [{ prefix: `${k}/` }];
    return selector.names.map((n) => (n.includes('*') ? { wildcard: `${k}/${n}` } : `${k}/${n}`));
  });
  return { source: [{ prefix: INFRA_SOURCE_PREFIX }], type: types, subject };
}

export function createCompliance(options: ComplianceOptions): Compliance {
  const timers = options.timers ?? DEFAULT_TIMERS;
  const history = options.history ?? 50;
  const states = new Map<string, PolicyState>();
  const running = new Map<string, { runner: ComplianceRunner; stop: () => Promise<void> }>();
  const nonce = options.clock.now().toString(36) + Math.floor(Math.random() * 36 ** 4).toString(36);
  let seq = 0;
  const newId = () => `cv-${nonce}-${(seq++).toString(36)}`;

  const kind: PolicyKind<CompliancePolicySpec> = {
    kind: COMPLIANCE_KIND,
    parse: (manifest) => parseCompliancePolicy(manifest),
    compile(spec): CompiledRule[] {
      const ref = `${COMPLIANCE_KIND}/${spec.name}`;
      return [
        {
          suffix: 'change',
          spec: {
            description: `re-evaluates ${ref} when a resource it checks changes`,
            match: complianceMatch(spec.resources),
            targets: [{ name: 'evaluate', action: 'policy', with: { policy: ref, hook: 'change' } }],
          },
        },
      ];
    },
    start(spec, context) {
      const state = states.get(spec.name) ?? newPolicyState(spec);
      state.spec = spec;
      state.active = true;
      // The selector or expression may have changed: the start scan rebuilds every verdict.
      state.resources.clear();
      states.set(spec.name, state);
      const runner = createComplianceRunner({ state, context, history, newId });
      const scan = (cause: string) =>
        runner.scan(cause).catch((err: unknown) => {
          context.logger.warn({ err, policy: `${COMPLIANCE_KIND}/${spec.name}` }, 'compliance scan failed');
          return { failed: (err as Error).message };
        });
      const handle = timers.setInterval(() => void scan('periodic'), spec.everyMs);
      void scan('start');
      const stop = async () => {
        timers.clearInterval(handle);
        await runner.close();
        if (running.get(spec.name)?.runner === runner) {
          running.delete(spec.name);
          state.active = false;
        }
      };
      running.set(spec.name, { runner, stop });
      return {
        async onEvent(hook, event) {
          if (hook === 'change') return runner.onChange(event);
          if (hook === 'scan') return runner.scan(event.id);
          return { skipped: `unknown hook '${hook}'; CompliancePolicy has change and scan` };
        },
        status() {
          const r = policyReport(state);
          return {
            evaluated: r.evaluated,
            compliant: r.compliant,
            violating: r.violating,
            errors: r.errors.length,
            open: r.open.length,
            ...(r.lastScanAt === undefined ? {} : { lastScanAt: r.lastScanAt }),
            timeToRemediate: r.timeToRemediate,
          };
        },
        close: stop,
      };
    },
  };

  function report(filter: { readonly policy?: string } = {}): ComplianceReport {
    const active = [...states.values()].filter((s) => s.active);
    if (filter.policy === undefined) return complianceReport(active, options.clock.now());
    const name = filter.policy.replace(new RegExp(`^${COMPLIANCE_KIND}/`, 'i'), '');
    const one = active.find((s) => s.spec.name === name);
    if (one === undefined) {
      throw new HomeostatError(
        ErrorCode.NOT_FOUND,
        `no ${COMPLIANCE_KIND} named '${name}' is running; list them with \`homeostat compliance\``,
        { details: { policy: name } },
      );
    }
    return complianceReport([one], options.clock.now());
  }

  return {
    kind,
    report,
    async settled() {
      for (const { runner } of [...running.values()]) await runner.idle();
    },
    async close() {
      for (const { stop } of [...running.values()]) await stop();
    },
  };
}
