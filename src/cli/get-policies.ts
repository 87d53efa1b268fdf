/** @module `homeostat get policies [kind]` and `get policy <Kind>/<name>`: policies, the rules they compile to, and their live status. */
import { stringify } from 'yaml';
import { type ClientFlags, clientFrom } from './options.js';
import { formatTime, printJson, printTable, usageError } from './output.js';

/** Resource names `get` and `delete` accept for policies. */
export const POLICY_RESOURCES = ['policies', 'policy'];

interface PolicySummary {
  readonly kind: string;
  readonly name: string;
  readonly ref: string;
  readonly rules: readonly string[];
  readonly generation: number;
  readonly updatedAt: string;
}

interface PolicyDetail extends PolicySummary {
  readonly manifest: Record<string, unknown>;
  readonly status: Record<string, unknown>;
}

/** Splits `Kind/name`; a usage error names the form. */
export function policyRef(ref: string): { kind: string; name: string } {
  const slash = ref.indexOf('/');
  if (slash <= 0 || slash === ref.length - 1)
    throw usageError(`'${ref}' is not a policy reference; use <Kind>/<name>, e.g. ScalingPolicy/web`);
  return { kind: ref.slice(0, slash), name: ref.slice(slash + 1) };
}

export async function runGetPolicies(arg: string | undefined, format: string, flags: ClientFlags): Promise<void> {
  const client = clientFrom(flags);
  if (arg === undefined || !arg.includes('/')) {
    const query = arg === undefined ? '' : `?kind=${encodeURIComponent(arg)}`;
    const res = await client.request<{ policies: PolicySummary[] }>('GET', `/v1/policies${query}`);
    if (format === 'json') return printJson(res.body);
    if (format === 'yaml') return void process.stdout.write(stringify(res.body));
    return printTable(
      ['POLICY', 'RULES', 'GENERATION', 'UPDATED'],
      res.body.policies.map((p) => [p.ref, p.rules.join(', '), String(p.generation), formatTime(p.updatedAt)]),
    );
  }
  const { kind, name } = policyRef(arg);
  const res = await client.request<PolicyDetail>(
    'GET',
    `/v1/policies/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`,
  );
  if (format === 'json') return printJson(res.body);
  if (format === 'yaml') return void process.stdout.write(stringify(res.body.manifest));
  printTable(
    ['POLICY', 'RULES', 'GENERATION', 'UPDATED'],
    [[res.body.ref, res.body.rules.join(', '), String(res.body.generation), formatTime(res.body.updatedAt)]],
  );
  process.stdout.write(`\nstatus:\n${stringify(res.body.status)}`);
}
