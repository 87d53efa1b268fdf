/** @module Stacks from the CLI: `apply -f` of a Stack (with progress), `plan -f`, and `infra list|set`. */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Command } from 'commander';
import { parseDuration } from '../core/durations.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import type { HomeostatClient } from './client.js';
import { readManifestFiles } from './manifest-files.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { note, out, printJson, printTable, usageError } from './output.js';

interface StackStatus {
  readonly converged: boolean;
  readonly drift: number;
  readonly groups: readonly { name: string; desired: number; live: number; healthy: number }[];
}

const stackPath = (name: string) => `/v1/stacks/${encodeURIComponent(name)}`;

/** Applies one Stack manifest, prints the plan it carried out, then waits for convergence. */
export async function applyStack(
  client: HomeostatClient,
  manifest: unknown,
  name: string,
  flags: { readonly prune?: boolean; readonly wait: string },
): Promise<void> {
  const waitMs = parseDuration(flags.wait, '--wait');
  const res = await client.request<{ result: string; lines: string[] }>('PUT', stackPath(name), {
    body: manifest,
    query: { prune: flags.prune ? 'true' : undefined },
  });
  out(`stack/${name} ${res.body.result}`);
  for (const line of res.body.lines) out(`  ${line}`);
  if (waitMs > 0) await waitConverged(client, name, waitMs);
}

async function waitConverged(client: HomeostatClient, name: string, waitMs: number): Promise<void> {
  const end = Date.now() + waitMs;
  let last = '';
  for (;;) {
    const { body } = await client.request<StackStatus>('GET', `${stackPath(name)}/status`);
    const line = body.groups.map((g) => `${g.name}: ${g.healthy}/${g.desired} healthy (${g.live} live)`).join(', ');
    if (line !== last) note(line || 'no instance groups');
    last = line;
    if (body.converged) {
      out(`stack/${name} converged`);
      return;
    }
    if (Date.now() > end) {
      throw new HomeostatError(
        ErrorCode.UNAVAILABLE,
        `stack/${name} did not converge within the wait (${line}); see \`homeostat tail --type 'infra.*'\``,
      );
    }
    await sleep(250);
  }
}

interface PlanFlags extends ClientFlags {
  readonly file: string;
  readonly prune?: boolean;
}

interface SetFlags extends ClientFlags {
  readonly patch?: string;
}

interface ListFlags extends ClientFlags {
  readonly kind?: string;
}

export function registerStacks(program: Command): void {
  const plan = program
    .command('plan')
    .description('show what applying a Stack manifest would change (desired vs observed), changing nothing')
    .requiredOption('-f, --file <file>', 'the Stack manifest (YAML or JSON; - for stdin)')
    .option('--prune', 'also show deletions of resources the stack no longer declares');
  withClientOptions(plan).action(runPlan);
  examples(plan, ['homeostat plan -f examples/stacks/web.yaml']);

  const infra = program.command('infra').description('observed infrastructure: list resources, change one out of band');
  const list = withClientOptions(
    infra.command('list').description('every resource the providers own').option('--kind <kind>', 'only this kind'),
  );
  list.action(runList);
  const set = infra
    .command('set <ref> [assignments...]')
    .description('change a resource directly through its provider (like a console click): drift if a stack declares it')
    .option('--patch <json>', 'a JSON merge patch of the spec instead of key=value assignments');
  withClientOptions(set, { json: false }).action(runSet);
  examples(set, [
    'homeostat infra set instancegroup/web desired=5',
    'homeostat infra set loadbalancer/web-lb algorithm=least-connections',
  ]);
}

async function runPlan(flags: PlanFlags): Promise<void> {
  const { documents, errors } = readManifestFiles([flags.file]);
  if (errors.length > 0) throw usageError(errors.map((e) => `${e.where}: ${e.message}`).join('; '));
  const client = clientFrom(flags);
  for (const doc of documents) {
    const { body } = await client.request<{ stack: string; lines: string[] }>('POST', '/v1/stacks/plan', {
      body: doc.value,
      query: { prune: flags.prune ? 'true' : undefined },
    });
    if (flags.json) printJson(body);
    else {
      out(`stack/${body.stack}:`);
      for (const line of body.lines) out(`  ${line}`);
    }
  }
}

interface ResourceView {
  readonly kind: string;
  readonly name: string;
  readonly provider: string;
  readonly pricePerHour: number;
  readonly status?: Record<string, unknown>;
}

async function runList(flags: ListFlags): Promise<void> {
  const { body } = await clientFrom(flags).request<{ resources: ResourceView[] }>('GET', '/v1/resources', {
    query: { kind: flags.kind },
  });
  if (flags.json) return printJson(body.resources);
  printTable(
    ['KIND', 'NAME', 'PROVIDER', '$/H', 'STATUS'],
    body.resources.map((r) => [
      r.kind,
      r.name,
      r.provider,
      r.pricePerHour.toFixed(3),
      JSON.stringify(r.status ?? {}).slice(0, 80),
    ]),
  );
}

function parseAssignment(text: string): [string, unknown] {
  const eq = text.indexOf('=');
  if (eq <= 0) throw usageError(`'${text}' is not key=value (e.g. desired=5)`);
  const raw = text.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    // a bare string
  }
  return [text.slice(0, eq), value];
}

async function runSet(ref: string, assignments: string[], flags: SetFlags): Promise<void> {
  const slash = ref.indexOf('/');
  if (slash <= 0) throw usageError(`'${ref}' is not <kind>/<name>, e.g. instancegroup/web`);
  let patch: Record<string, unknown>;
  if (flags.patch !== undefined) {
    try {
      patch = JSON.parse(flags.patch) as Record<string, unknown>;
    } catch (err) {
      throw usageError(`--patch is not valid JSON: ${(err as Error).message}`);
    }
  } else {
    if (assignments.length === 0) throw usageError('give key=value assignments or --patch');
    patch = Object.fromEntries(assignments.map(parseAssignment));
  }
  await clientFrom(flags).request(
    'PATCH',
    `/v1/resources/${encodeURIComponent(ref.slice(0, slash))}/${encodeURIComponent(ref.slice(slash + 1))}`,
    {
      body: patch,
    },
  );
  out(`${ref} changed out of band: ${JSON.stringify(patch)}`);
}
