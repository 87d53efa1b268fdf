/** @module `homeostat actions`: what automation did, refused or would do; freezes and unfreeze (/v1/actions). */
import type { Command } from 'commander';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { excerpt, formatTime, note, out, printJson, printTable, usageError } from './output.js';

const OUTCOMES = ['executed', 'failed', 'refused', 'dry-run', 'pending-approval', 'rejected'];

interface ListFlags extends ClientFlags {
  readonly policy?: string;
  readonly resource?: string;
  readonly outcome?: string;
  readonly limit?: string;
}

interface UnfreezeFlags extends ClientFlags {
  readonly policy?: string;
  readonly resource?: string;
  readonly by?: string;
}

/** An action record as the API sends it (docs/API.md, "Actions"). */
interface ActionWire {
  readonly id: string;
  readonly at: string;
  readonly policy: string;
  readonly action: string;
  readonly resource: string;
  readonly outcome: string;
  readonly why?: string;
  readonly approval?: string;
  readonly reason?: string;
}

interface FrozenWire {
  readonly policy: string;
  readonly resource: string;
  readonly since: string;
  readonly why: string;
}

/** Registers `actions` (list), `actions frozen` and `actions unfreeze` on the program. */
export function registerActions(program: Command): void {
  const actions = program
    .command('actions')
    .description('automated actions, newest first: executed, refused by the safety rails, dry-run, awaiting approval')
    .enablePositionalOptions()
    .option('--policy <name>', 'only actions of this policy, e.g. ScalingPolicy/web or Rule/heal')
    .option('--resource <ref>', 'only actions on this resource, e.g. instancegroup/web')
    .option('--outcome <outcome>', `only this outcome: ${OUTCOMES.join(', ')}`)
    .option('--limit <n>', 'at most this many, 1..1000 (default 100)');
  withClientOptions(actions).action((flags: ListFlags) => runList(flags));
  withClientOptions(actions.command('frozen').description('resources a policy may not act on until unfrozen')).action(
    (flags: ClientFlags) => runFrozen(flags),
  );
  const unfreeze = actions
    .command('unfreeze')
    .description('let a policy act on a frozen resource again')
    .option('--policy <name>', 'the policy of the freeze (required)')
    .option('--resource <ref>', 'the frozen resource (required)')
    .option('--by <name>', 'who lifts it, recorded with the unfreeze (default: cli)');
  withClientOptions(unfreeze).action((flags: UnfreezeFlags) => runUnfreeze(flags));
  examples(actions, [
    'homeostat actions',
    'homeostat actions --outcome refused',
    'homeostat actions --policy ScalingPolicy/web --limit 20',
    'homeostat actions frozen',
    'homeostat actions unfreeze --policy ScalingPolicy/web --resource instancegroup/web',
  ]);
}

async function runList(flags: ListFlags): Promise<void> {
  if (flags.outcome !== undefined && !OUTCOMES.includes(flags.outcome)) {
    throw usageError(`--outcome: '${flags.outcome}' is not one of ${OUTCOMES.join(', ')}`);
  }
  const query = {
    policy: flags.policy,
    resource: flags.resource,
    outcome: flags.outcome,
    limit: parseIntFlag('--limit', flags.limit, 1, 1000),
  };
  const res = await clientFrom(flags).request<{ actions: ActionWire[] }>('GET', '/v1/actions', { query });
  if (flags.json) return printJson(res.body);
  const { actions } = res.body;
  if (actions.length === 0) return note('homeostat: no matching actions');
  const rows = actions.map((a) => [
    formatTime(a.at),
    a.policy,
    a.action,
    a.resource,
    a.outcome,
    excerpt(a.why ?? (a.approval ? `approval ${a.approval}` : ''), 120),
  ]);
  printTable(['TIME', 'POLICY', 'ACTION', 'RESOURCE', 'OUTCOME', 'WHY'], rows);
}

async function runFrozen(flags: ClientFlags): Promise<void> {
  const res = await clientFrom(flags).request<{ frozen: FrozenWire[] }>('GET', '/v1/actions/frozen');
  if (flags.json) return printJson(res.body);
  const { frozen } = res.body;
  if (frozen.length === 0) return note('homeostat: nothing is frozen');
  printTable(
    ['SINCE', 'POLICY', 'RESOURCE', 'WHY'],
    frozen.map((f) => [formatTime(f.since), f.policy, f.resource, excerpt(f.why, 120)]),
  );
}

async function runUnfreeze(flags: UnfreezeFlags): Promise<void> {
  if (!flags.policy || !flags.resource) {
    throw usageError('actions unfreeze: give --policy and --resource (see `homeostat actions frozen`)');
  }
  const body = { policy: flags.policy, resource: flags.resource, by: flags.by ?? 'cli' };
  const res = await clientFrom(flags).request<{ unfrozen: ActionWire }>('POST', '/v1/actions/unfreeze', { body });
  if (flags.json) return printJson(res.body);
  out(`unfrozen: ${flags.policy} may act on ${flags.resource} again (${res.body.unfrozen.id})`);
}
