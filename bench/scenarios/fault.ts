/**
 * @module One fault and its recovery, read from the log: kill -9 an instance (or hang it), then
 * follow the causal chain by `causationid` and take each step's time from its event. Under a
 * HealingPolicy: detection → `homeostat.action.executed` (replace) → replacement started →
 * replacement ready, with the incident opened (caused by the detection) and resolved; with the
 * plain reconciler: detection → `infra.reconcile.decided` → started → ready.
 */
import type { HealingMode, ResolvedScenarioOptions } from './options.js';
import { type IncidentView, type InstanceView, type LoggedEvent, type ServerApi, until } from './server-api.js';

export const FaultKind = { kill: 'kill -9', hang: 'hang' } as const;
export type FaultKind = (typeof FaultKind)[keyof typeof FaultKind];

/** The times of one fault's recovery, epoch ms on this machine's clock. */
export interface FaultTimeline {
  readonly mode: HealingMode;
  readonly kind: FaultKind;
  readonly run: number;
  readonly victim: string;
  /** The client's clock just before `kill -9` or the POST /admin/hang. */
  readonly faultAt: number;
  /** `infra.instance.crashed` (kill) or `infra.instance.unhealthy` (hang): its `time`, and when it was on the log. */
  readonly detection: LoggedEvent;
  /**
   * heal: the policy's `homeostat.action.executed` (replace) caused by the detection; none: the
   * reconciler's start-instance `infra.reconcile.decided` caused by the detection.
   */
  readonly decision: LoggedEvent;
  /** The replacement's `infra.instance.started`, caused by the decision. */
  readonly started: LoggedEvent;
  /** The replacement's `infra.instance.ready` (its first passing health check). */
  readonly ready: LoggedEvent;
  /** heal: `homeostat.incident.opened` caused by the detection, `.resolved` of that incident, and its details. */
  readonly incident?: { opened: LoggedEvent; resolved: LoggedEvent; view: IncidentView };
}

/** Waits until the stack is at full strength, every instance running and healthy. */
export async function fullStrength(api: ServerApi, o: ResolvedScenarioOptions): Promise<InstanceView[]> {
  return until(
    async () => {
      if (!(await api.converged())) return undefined;
      const live = (await api.instances()).filter((i) => i.status.phase === 'running' && i.status.healthy);
      return live.length === o.instances ? live : undefined;
    },
    `${o.instances} healthy instances`,
    o.faultTimeoutMs,
  );
}

/** Injects one fault into `victim` and follows its recovery on the log. */
export async function injectFault(
  api: ServerApi,
  kind: FaultKind,
  run: number,
  victim: InstanceView,
  o: ResolvedScenarioOptions,
  mode: HealingMode = 'none',
): Promise<FaultTimeline> {
  const ref = `instance/${victim.name}`;
  const before = (await api.events()).at(-1)?.offset ?? 0;
  const faultAt = Date.now();
  if (kind === FaultKind.kill) process.kill(victim.status.pid, 'SIGKILL');
  else await hang(victim.status.address);
  const detectionType = kind === FaultKind.kill ? 'infra.instance.crashed' : 'infra.instance.unhealthy';
  const find = async (what: string, test: (e: LoggedEvent) => boolean): Promise<LoggedEvent> => {
    try {
      return await until(
        async () => (await api.events()).find((e) => e.offset > before && test(e)),
        `${what} (${kind} of ${victim.name}, run ${run})`,
        o.faultTimeoutMs,
      );
    } catch (err) {
      const since = (await api.events()).filter((e) => e.offset > before).map(describe);
      throw new Error(`${(err as Error).message}; the log since the fault:\n  ${since.join('\n  ')}`);
    }
  };
  const detection = await find(detectionType, (e) => e.type === detectionType && e.subject === ref);
  const decision =
    mode === 'heal'
      ? await find(
          'the HealingPolicy replace action caused by it',
          (e) =>
            e.type === 'homeostat.action.executed' &&
            e.causationid === detection.id &&
            e.data.action === 'replace' &&
            e.data.resource === ref,
        )
      : await find(
          'a start-instance decision caused by it',
          (e) =>
            e.type === 'infra.reconcile.decided' && e.causationid === detection.id && e.data.op === 'start-instance',
        );
  const started = await find(
    'the replacement started by that decision',
    (e) => e.type === 'infra.instance.started' && e.causationid === decision.id,
  );
  const ready = await find(
    'the replacement ready',
    (e) => e.type === 'infra.instance.ready' && e.subject === started.subject,
  );
  const base = { mode, kind, run, victim: victim.name, faultAt, detection, decision, started, ready };
  if (mode !== 'heal') return base;
  const opened = await find(
    'the incident opened by the detection',
    (e) => e.type === 'homeostat.incident.opened' && e.causationid === detection.id,
  );
  const resolved = await find(
    'that incident resolved',
    (e) => e.type === 'homeostat.incident.resolved' && e.subject === opened.subject,
  );
  const view = await api.incident(opened.subject.replace(/^incident\//, ''));
  return { ...base, incident: { opened, resolved, view } };
}

function describe(e: LoggedEvent): string {
  const cause = e.causationid === undefined ? '' : ` caused by ${e.causationid}`;
  return `${e.id} ${e.type} ${e.subject}${cause} ${JSON.stringify(e.data)}`;
}

/** Asks the instance to stop answering anything, health checks included. */
async function hang(address: string): Promise<void> {
  const res = await fetch(`http://${address}/admin/hang`, { method: 'POST' });
  if (!res.ok) throw new Error(`POST http://${address}/admin/hang answered ${res.status}`);
  await res.body?.cancel();
}
