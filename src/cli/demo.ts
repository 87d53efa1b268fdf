/**
 * @module `homeostat demo load`: a load spike through a load balancer of the running server, with
 * what Homeostat does about it printed as it happens (scaling decisions, refusals, instances
 * starting and stopping, incidents, violations, cost alerts), and a line of client figures per
 * second.
 */
import type { Command } from 'commander';
import { parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { type Load, startLoad } from '../loadgen/load.js';
import type { HomeostatClient } from './client.js';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { out } from './output.js';
import { parseSse } from './sse.js';
import type { EventRecord } from './tail.js';

interface DemoFlags extends ClientFlags {
  readonly balancer?: string;
  readonly base: string;
  readonly peak: string;
  readonly rise: string;
  readonly hold: string;
  readonly after: string;
}

/** The event types worth showing as reactions (prefixes). */
const REACTIONS = [
  'homeostat.action.',
  'homeostat.condition.fired',
  'homeostat.workflow.',
  'infra.group.scaled',
  'infra.instance.ready',
  'infra.instance.stopped',
  'infra.instance.crashed',
  'infra.instance.unhealthy',
  'incident.',
  'compliance.',
  'budget.',
  'cost.',
  'schedule.',
];

export function registerDemo(program: Command): void {
  const demo = program.command('demo').description('show Homeostat reacting (run `npm start` first)');
  const load = demo
    .command('load')
    .description('send a load spike through a load balancer and print the reactions as they happen')
    .option('--balancer <name>', 'the LoadBalancer to send through (default: the first one)')
    .option('--base <rps>', 'requests per second before and after the spike', '20')
    .option('--peak <rps>', 'requests per second at the peak (10x the base by default)', '200')
    .option('--rise <duration>', 'how long the load takes to rise from base to peak', '3s')
    .option('--hold <duration>', 'how long the peak lasts', '30s')
    .option('--after <duration>', 'how long to keep the base load after the spike (to see scale-in)', '30s');
  withClientOptions(load, { json: false }).action(runDemoLoad);
  examples(load, ['homeostat demo load', 'homeostat demo load --peak 400 --hold 60s --after 2m']);
}

interface Balancer {
  readonly name: string;
  readonly status?: { address?: string };
}

async function balancerAddress(client: HomeostatClient, name: string | undefined): Promise<string> {
  const res = await client.request<{ resources: Balancer[] }>('GET', '/v1/resources', {
    query: { kind: 'LoadBalancer' },
  });
  const lb = res.body.resources.find((r) => name === undefined || r.name === name);
  const address = lb?.status?.address;
  if (!address)
    throw new HomeostatError(
      ErrorCode.NOT_FOUND,
      name === undefined
        ? 'no load balancer is running; start the example with `npm start` (or apply examples/stacks/web.yaml)'
        : `no load balancer named '${name}' is running; list them with \`homeostat infra list\``,
    );
  return address;
}

/** One line for an event: time, type and what it says. */
export function reactionLine(e: Readonly<Record<string, unknown>>): string {
  const data = (e.data ?? {}) as Record<string, unknown>;
  const time = typeof e.time === 'string' ? e.time.slice(11, 23) : '';
  const type = String(e.type);
  let what = String(e.subject ?? '');
  if (type.startsWith('homeostat.action.')) {
    const params = data.params ? ` ${JSON.stringify(data.params)}` : '';
    what = `${String(data.policy)} ${String(data.action)} ${String(data.resource)}${params}: ${String(data.reason ?? '')}${data.why ? ` [${String(data.why)}]` : ''}`;
  } else if (type === 'infra.group.scaled') what = `${what} ${String(data.from)} → ${String(data.to)}`;
  else if (typeof data.summary === 'string') what = `${what} ${data.summary}`;
  else if (typeof data.title === 'string') what = `${what} ${data.title}`;
  return `  ${time}  ${type.padEnd(28)} ${what}`;
}

async function followReactions(client: HomeostatClient, signal: AbortSignal): Promise<void> {
  const stats = await client.request<{ nextOffset: number }>('GET', '/v1/log');
  try {
    const res = await client.open('/v1/events/stream', { query: { from: stats.body.nextOffset }, signal });
    for await (const message of parseSse(res.body!)) {
      if (message.event !== 'message' && message.event !== 'event') continue;
      const record = JSON.parse(message.data) as EventRecord;
      const type = String(record.event.type);
      if (REACTIONS.some((p) => type.startsWith(p))) out(reactionLine(record.event));
    }
  } catch (err) {
    if (!signal.aborted) throw err;
  }
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runDemoLoad(flags: DemoFlags): Promise<void> {
  const client = clientFrom(flags);
  const base = parseIntFlag('--base', flags.base) ?? 20;
  const peak = parseIntFlag('--peak', flags.peak) ?? 200;
  const rise = parseDuration(flags.rise, '--rise');
  const hold = parseDuration(flags.hold, '--hold');
  const after = parseDuration(flags.after, '--after');
  const address = await balancerAddress(client, flags.balancer);
  const warm = 5_000;
  const total = warm + rise + hold + after;
  const rate = (t: number): number => {
    if (t < warm) return base;
    if (t < warm + rise) return base + ((peak - base) * (t - warm)) / Math.max(1, rise);
    return t < warm + rise + hold ? peak : base;
  };
  out(
    `sending GET / to ${address}: ${base}/s for 5s, rising to ${peak}/s over ${flags.rise}, for ${flags.hold}, then ${base}/s for ${flags.after}`,
  );
  out('reactions as they happen (and one line of client figures per second):');
  const controller = new AbortController();
  const reactions = followReactions(client, controller.signal);
  const load: Load = startLoad({ address, rate, timeoutMs: 5_000 });
  let seen = 0;
  const started = Date.now();
  const stop = () => controller.abort();
  process.once('SIGINT', stop);
  try {
    while (Date.now() - started < total && !controller.signal.aborted) {
      await new Promise((r) => setTimeout(r, 1_000));
      const batch = load.records.slice(seen);
      seen = load.records.length;
      const ok = batch.filter((r) => r.outcome === 'ok');
      const latencies = ok.map((r) => r.endedAt - r.sentAt).sort((a, b) => a - b);
      const t = Math.round((Date.now() - started) / 1000);
      out(
        `t=${String(t).padStart(3)}s target ${Math.round(rate(Date.now() - started))}/s  done ${batch.length}  ok ${ok.length}  failed ${batch.length - ok.length}  p50 ${percentile(latencies, 50)} ms  p99 ${percentile(latencies, 99)} ms`,
      );
    }
  } finally {
    process.off('SIGINT', stop);
    await load.stop();
    controller.abort();
    await reactions;
  }
  const failed = load.records.filter((r) => r.outcome !== 'ok').length;
  out(
    `done: ${load.records.length} requests, ${failed} failed; see \`homeostat actions\` and \`homeostat get policies\``,
  );
}
