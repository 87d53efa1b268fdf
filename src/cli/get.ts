/** @module `homeostat get rules|rule <name>|stacks|stack <name>`: list or show rules and stacks as a table, YAML or JSON. */
import { type Command, Option } from 'commander';
import { stringify } from 'yaml';
import { POLICY_RESOURCES, runGetPolicies } from './get-policies.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { formatTime, printJson, printTable, usageError } from './output.js';

interface GetFlags extends ClientFlags {
  readonly output?: 'table' | 'yaml' | 'json';
}

/** A rule as GET /v1/rules lists it. */
export interface RuleSummary {
  readonly name: string;
  readonly enabled: boolean;
  readonly description?: string;
  readonly targets: number;
  readonly generation: number;
  readonly updatedAt?: string;
}

interface RuleDetail extends RuleSummary {
  readonly manifest: Record<string, unknown>;
}

/** Resource names `get` and `delete` accept, singular and plural. */
export const RULE_RESOURCES = ['rules', 'rule'];

/** Throws a usage error unless `resource` names rules. */
export function checkResource(resource: string): void {
  if (!RULE_RESOURCES.includes(resource)) {
    throw usageError(`unknown resource '${resource}'; supported: rules, stacks, policies (e.g. homeostat get rules)`);
  }
}

/** Registers `get` on the program. */
export function registerGet(program: Command): void {
  const get = program
    .command('get <resource> [name]')
    .description('list rules, stacks or policies, or show one (-o yaml prints a manifest that `apply -f` accepts)')
    .addOption(
      new Option('-o, --output <format>', 'output format').choices(['table', 'yaml', 'json']).default('table'),
    );
  withClientOptions(get).action(runGet);
  examples(get, [
    'homeostat get rules',
    'homeostat get rule page-on-5xx -o yaml > page-on-5xx.yaml',
    'homeostat get rules -o json',
    'homeostat get policies',
    'homeostat get policy ScalingPolicy/web',
  ]);
}

function rows(rules: readonly RuleSummary[]): string[][] {
  return rules.map((r) => [
    r.name,
    String(r.enabled),
    String(r.targets),
    String(r.generation),
    formatTime(r.updatedAt),
    r.description ?? '',
  ]);
}

const HEADERS = ['NAME', 'ENABLED', 'TARGETS', 'GENERATION', 'UPDATED', 'DESCRIPTION'];

/** Stack resource names `get` accepts. */
const STACK_RESOURCES = ['stacks', 'stack'];

interface StackDetail {
  readonly name: string;
  readonly generation: number;
  readonly manifest: Record<string, unknown>;
  readonly status: { converged: boolean; drift: number; groups: { name: string; desired: number; healthy: number }[] };
}

async function runGetStacks(name: string | undefined, format: string, flags: GetFlags): Promise<void> {
  const client = clientFrom(flags);
  if (name === undefined) {
    const res = await client.request<{ stacks: { name: string; generation: number; updatedAt: string }[] }>(
      'GET',
      '/v1/stacks',
    );
    if (format === 'json') return printJson(res.body);
    if (format === 'yaml') return void process.stdout.write(stringify(res.body));
    return printTable(
      ['NAME', 'GENERATION', 'UPDATED'],
      res.body.stacks.map((s) => [s.name, String(s.generation), formatTime(s.updatedAt)]),
    );
  }
  const res = await client.request<StackDetail>('GET', `/v1/stacks/${encodeURIComponent(name)}`);
  if (format === 'json') return printJson(res.body.manifest);
  if (format === 'yaml') return void process.stdout.write(stringify(res.body.manifest));
  const { status } = res.body;
  printTable(
    ['NAME', 'GENERATION', 'CONVERGED', 'DRIFT', 'GROUPS'],
    [
      [
        res.body.name,
        String(res.body.generation),
        String(status.converged),
        String(status.drift),
        status.groups.map((g) => `${g.name} ${g.healthy}/${g.desired}`).join(', '),
      ],
    ],
  );
}

async function runGet(resource: string, name: string | undefined, flags: GetFlags): Promise<void> {
  const format = flags.json ? 'json' : (flags.output ?? 'table');
  if (STACK_RESOURCES.includes(resource)) return runGetStacks(name, format, flags);
  if (POLICY_RESOURCES.includes(resource)) return runGetPolicies(name, format, flags);
  checkResource(resource);
  const client = clientFrom(flags);
  if (name === undefined) {
    const res = await client.request<{ rules: RuleSummary[] }>('GET', '/v1/rules');
    if (format === 'json') return printJson(res.body);
    if (format === 'yaml') return void process.stdout.write(stringify(res.body));
    return printTable(HEADERS, rows(res.body.rules));
  }
  const res = await client.request<RuleDetail>('GET', `/v1/rules/${encodeURIComponent(name)}`);
  // The manifest alone, so `get -o yaml > file` round-trips with `apply -f file`.
  if (format === 'json') return printJson(res.body.manifest);
  if (format === 'yaml') return void process.stdout.write(stringify(res.body.manifest));
  printTable(HEADERS, rows([res.body]));
}
