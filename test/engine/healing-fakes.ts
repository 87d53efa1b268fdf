/**
 * @module Test parts for the HealingPolicy: an in-memory instance group behind InfraControl, an
 * action gate that performs at once (or refuses when told), a webhook receiver (a real HTTP
 * server), and provider-style instance events.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Clock } from '../../src/core/clock.js';
import type { CloudEvent } from '../../src/core/event.js';
import type { InstancePhase, Resource } from '../../src/core/infra/types.js';
import type {
  ActionGate,
  ActionRecord,
  ActionRequest,
  GroupView,
  InfraControl,
} from '../../src/engine/automation/types.js';

interface FakeInstance {
  phase: InstancePhase;
  healthy: boolean;
}

/** Group `web` of `desired` running, healthy instances; replacements start as `starting`. */
export function fakeInfra(desired: number) {
  const instances = new Map<string, FakeInstance>();
  const calls: string[] = [];
  let next = 1;
  let held = false;
  const add = (phase: InstancePhase, healthy: boolean): string => {
    const name = `web-${next++}`;
    instances.set(name, { phase, healthy });
    return name;
  };
  for (let i = 0; i < desired; i++) add('running', true);
  const view = (): GroupView => ({
    name: 'web',
    provider: 'fake',
    desired,
    min: 0,
    max: 10,
    instanceType: 'local.small',
    pricePerHour: 0,
    tags: {},
    held,
    instances: [...instances].map(([name, i]): Resource<'Instance'> => ({
      kind: 'Instance',
      name,
      spec: { group: 'web' },
      status: { group: 'web', phase: i.phase, healthy: i.healthy },
      tags: {},
      pricePerHour: 0,
      provider: 'fake',
    })),
  });
  const unsupported = (what: string) => () => Promise.reject(new Error(`${what} is not used by healing`));
  const infra: InfraControl = {
    resources: unsupported('resources'),
    group: async (name) => (name === 'web' ? view() : undefined),
    groups: async () => [view()],
    scaleGroup: unsupported('scaleGroup'),
    async replaceInstance(name, cause) {
      const i = instances.get(name);
      if (!i) throw new Error(`no instance ${name}`);
      if (i.phase === 'running' || i.phase === 'starting') Object.assign(i, { phase: 'stopped', healthy: false });
      const started = add('starting', false);
      calls.push(`replace ${name} -> ${started} (${cause})`);
    },
    restartInstance: unsupported('restartInstance'),
    stopInstance: unsupported('stopInstance'),
    async holdGroup(group, _reason, cause) {
      held = true;
      calls.push(`hold ${group} (${cause})`);
    },
    async releaseGroup(group, cause) {
      held = false;
      calls.push(`release ${group} (${cause})`);
    },
    revert: unsupported('revert'),
    patch: unsupported('patch'),
  };
  return {
    infra,
    calls,
    /** Sets an instance's phase and health as the provider would observe it. */
    set: (name: string, phase: InstancePhase, healthy: boolean) => instances.set(name, { phase, healthy }),
    isHeld: () => held,
    setHeld: (on: boolean) => {
      held = on;
    },
  };
}

/** A gate that performs every action at once, unless `refuse` names a rail for it. */
export function fakeGate(clock: Clock, refuse?: (r: ActionRequest) => string | undefined) {
  const records: ActionRecord[] = [];
  let n = 0;
  const gate = {
    configure: () => undefined,
    remove: () => undefined,
    async submit(request: ActionRequest, perform: (id: string) => Promise<Record<string, unknown>>) {
      const id = `act-${++n}`;
      const base = { ...request, id, at: clock.now() };
      const rail = refuse?.(request);
      let record: ActionRecord;
      if (rail !== undefined) record = { ...base, outcome: 'refused', rail, why: `${rail} says no` };
      else {
        try {
          record = { ...base, outcome: 'executed', result: await perform(id) };
        } catch (err) {
          record = { ...base, outcome: 'failed', why: (err as Error).message };
        }
      }
      records.push(record);
      return record;
    },
    recent: () => [...records].reverse(),
    frozen: () => [],
    unfreeze: () => Promise.reject(new Error('not frozen')),
  } as unknown as ActionGate;
  return { gate, records };
}

export interface Webhook {
  readonly url: string;
  readonly received: { body: { type: string; incident: { id: string; severity: string } }; key?: string }[];
  /** Resolves once `n` notifications have arrived. */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

/** A real HTTP server receiving notifications; answers `status` (default 204). */
export async function startWebhook(status = 204): Promise<Webhook> {
  const received: Webhook['received'] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      received.push({ body: JSON.parse(text), key: req.headers['idempotency-key'] as string | undefined });
      res.writeHead(status).end();
      for (const w of waiters.filter((x) => received.length >= x.n)) w.resolve();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    waitFor: (n) =>
      received.length >= n ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ n, resolve })),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** `context.notify` as a plain POST that fails on a non-2xx answer. */
export async function postNotify(url: string, body: unknown, key: string): Promise<void> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': key },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`HTTP ${res.status} from ${url}`);
}

let seq = 0;
/** A provider event about an instance of group web, as the infra service puts it on the log. */
export function instanceEvent(
  type: 'started' | 'ready' | 'healthy' | 'unhealthy' | 'crashed' | 'stopped',
  name: string,
  at: number,
  options: { cause?: string; data?: Record<string, unknown> } = {},
): CloudEvent {
  return {
    specversion: '1.0',
    id: `ev-${++seq}`,
    source: 'homeostat/provider/local',
    type: `infra.instance.${type}`,
    subject: `instance/${name}`,
    time: new Date(at).toISOString(),
    data: { group: 'web', ...options.data },
    ...(options.cause === undefined ? {} : { causationid: options.cause }),
  };
}
