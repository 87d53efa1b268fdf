/**
 * @module Workflow runs and approvals on the command line: `approve`, `approvals`, `runs`, `run`,
 * `workflow start|cancel` (docs/WORKFLOWS.md; the API under /v1/runs and /v1/approvals).
 */
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { ExitCode, excerpt, formatTime, out, printJson, printTable, usageError } from './output.js';
import { quietExit } from './rules.js';

interface ApprovalWire {
  readonly id: string;
  readonly kind: string;
  readonly ref: string;
  readonly summary: string;
  readonly status: string;
  readonly requestedAt: string;
  readonly expiresAt?: string;
  readonly decidedAt?: string;
  readonly decidedBy?: string;
  readonly comment?: string;
}

interface StepWire {
  readonly path: string;
  readonly kind: string;
  readonly status: string;
  readonly attempts: number;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly wakeAt?: string;
  readonly output?: unknown;
  readonly error?: { readonly code: string; readonly message: string };
  readonly approval?: string;
}

interface RunWire {
  readonly id: string;
  readonly workflow: string;
  readonly status: string;
  readonly startedAt: string;
  readonly endedAt?: string;
  readonly durationMs?: number;
  readonly cause?: string;
  readonly error?: { readonly code: string; readonly message: string; readonly step?: string };
  readonly input?: unknown;
  readonly steps?: readonly StepWire[];
}

const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

/** Who decides: --by, else the login name. */
function decider(by: string | undefined): string {
  if (by) return by;
  try {
    return userInfo().username || 'cli';
  } catch {
    return process.env.USER ?? 'cli';
  }
}

export function formatDuration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m${Math.round((ms % 60_000) / 1000)}s`;
  return `${Math.floor(ms / 3_600_000)}h${Math.round((ms % 3_600_000) / 60_000)}m`;
}

function stepDetail(s: StepWire): string {
  if (s.error) return `${s.error.code}: ${excerpt(s.error.message, 70)}`;
  if (s.status === 'waiting' && s.approval) return `approval ${s.approval} (homeostat approve ${s.approval})`;
  if (s.status === 'waiting' && s.wakeAt) return `until ${s.wakeAt}`;
  return excerpt(s.output, 60);
}

function printRun(run: RunWire): void {
  out(`run ${run.id}  workflow ${run.workflow}  ${run.status}`);
  out(
    `started ${formatTime(run.startedAt)}${run.endedAt ? `  ended ${run.endedAt} (${formatDuration(run.durationMs)})` : ''}`,
  );
  if (run.cause) out(`cause ${run.cause}`);
  if (run.error)
    out(`error ${run.error.code}${run.error.step ? ` at step ${run.error.step}` : ''}: ${run.error.message}`);
  out('');
  printTable(
    ['STEP', 'KIND', 'STATUS', 'ATTEMPTS', 'STARTED', 'DURATION', 'DETAIL'],
    (run.steps ?? []).map((s) => [
      s.path,
      s.kind,
      s.status,
      String(s.attempts),
      formatTime(s.startedAt),
      formatDuration(s.durationMs),
      stepDetail(s),
    ]),
  );
}

function readInput(raw: string | undefined): unknown {
  if (raw === undefined) return {};
  let text = raw;
  if (raw.startsWith('@')) {
    try {
      text = readFileSync(raw === '@-' ? 0 : raw.slice(1), 'utf8');
    } catch (cause) {
      throw usageError(`--input: cannot read '${raw.slice(1)}': ${(cause as Error).message}`, cause);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw usageError(`--input: not valid JSON (${(cause as Error).message}); give JSON text or @file`, cause);
  }
}

async function waitForEnd(flags: ClientFlags, id: string): Promise<RunWire> {
  const client = clientFrom(flags);
  for (;;) {
    const { body } = await client.request<RunWire>('GET', `/v1/runs/${encodeURIComponent(id)}`);
    if (FINAL.has(body.status)) return body;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Registers `approve`, `approvals`, `runs`, `run` and `workflow` on the program. */
export function registerWorkflowCommands(program: Command): void {
  const approve = program
    .command('approve <id>')
    .description('approve (or --reject) a pending approval request: a workflow step or a gated action')
    .option('--reject', 'reject instead of approving')
    .option('--comment <text>', 'why, recorded with the decision')
    .option('--by <name>', 'who decides (default: your login name)');
  withClientOptions(approve).action(
    async (id: string, flags: ClientFlags & { reject?: boolean; comment?: string; by?: string }) => {
      const verb = flags.reject ? 'reject' : 'approve';
      const body = { by: decider(flags.by), ...(flags.comment ? { comment: flags.comment } : {}) };
      const { body: a } = await clientFrom(flags).request<ApprovalWire>(
        'POST',
        `/v1/approvals/${encodeURIComponent(id)}/${verb}`,
        { body },
      );
      if (flags.json) printJson(a);
      else out(`approval ${a.id} ${a.status} by ${a.decidedBy}: ${a.summary}`);
    },
  );
  examples(approve, [
    'homeostat approvals',
    'homeostat approve apr-7k2x9',
    'homeostat approve apr-7k2x9 --reject --comment "not during the sale"',
  ]);

  const approvals = program
    .command('approvals')
    .description('list approval requests (pending ones unless --all)')
    .option('--all', 'every request, decided ones too');
  withClientOptions(approvals).action(async (flags: ClientFlags & { all?: boolean }) => {
    const query = flags.all ? {} : { status: 'pending' };
    const { body } = await clientFrom(flags).request<{ approvals: ApprovalWire[] }>('GET', '/v1/approvals', { query });
    if (flags.json) return printJson(body.approvals);
    if (body.approvals.length === 0) return out(flags.all ? 'no approval requests' : 'no pending approvals');
    printTable(
      ['ID', 'KIND', 'STATUS', 'REQUESTED', 'EXPIRES', 'SUMMARY'],
      body.approvals.map((a) => [
        a.id,
        a.kind,
        a.status,
        formatTime(a.requestedAt),
        formatTime(a.expiresAt),
        a.summary,
      ]),
    );
  });

  const runs = program
    .command('runs')
    .description('list workflow runs, newest first')
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--status <status>', 'only runs with this status (running, compensating, succeeded, failed, cancelled)')
    .option('--limit <n>', 'at most this many, 1..1000 (default 100)');
  withClientOptions(runs).action(
    async (flags: ClientFlags & { workflow?: string; status?: string; limit?: string }) => {
      const query = {
        workflow: flags.workflow,
        status: flags.status,
        limit: parseIntFlag('--limit', flags.limit, 1, 1000),
      };
      const { body } = await clientFrom(flags).request<{ runs: RunWire[] }>('GET', '/v1/runs', { query });
      if (flags.json) return printJson(body.runs);
      if (body.runs.length === 0) return out('no runs');
      printTable(
        ['ID', 'WORKFLOW', 'STATUS', 'STARTED', 'DURATION', 'ERROR'],
        body.runs.map((r) => [
          r.id,
          r.workflow,
          r.status,
          formatTime(r.startedAt),
          formatDuration(r.durationMs),
          r.error ? `${r.error.code}${r.error.step ? ` at ${r.error.step}` : ''}` : '',
        ]),
      );
    },
  );

  const run = program
    .command('run <id>')
    .description("one run: its status and every step's status, attempts and timing");
  withClientOptions(run).action(async (id: string, flags: ClientFlags) => {
    const { body } = await clientFrom(flags).request<RunWire>('GET', `/v1/runs/${encodeURIComponent(id)}`);
    if (flags.json) printJson(body);
    else printRun(body);
  });
  examples(run, ['homeostat runs --workflow replace-instance', 'homeostat run run-lx3k9a2b1c']);

  registerWorkflowGroup(program);
}

function registerWorkflowGroup(program: Command): void {
  const workflow = program.command('workflow').description('start and cancel workflow runs');
  const start = workflow
    .command('start <name>')
    .description('start a run of a workflow')
    .option('--input <json>', 'the run input as JSON text, or @file (@- reads stdin)')
    .option('--run-id <id>', 'a run id of your own: starting again with it does not start a second run')
    .option('--wait', 'wait until the run ends and print it; exit 1 unless it succeeded');
  withClientOptions(start).action(
    async (name: string, flags: ClientFlags & { input?: string; runId?: string; wait?: boolean }) => {
      const body = { input: readInput(flags.input), ...(flags.runId ? { runId: flags.runId } : {}) };
      const { body: started } = await clientFrom(flags).request<RunWire & { result: string }>(
        'POST',
        `/v1/workflows/${encodeURIComponent(name)}/runs`,
        { body },
      );
      if (!flags.wait) {
        if (flags.json) printJson(started);
        else
          out(
            `run ${started.id} ${started.result === 'exists' ? 'already exists' : 'started'} (homeostat run ${started.id})`,
          );
        return;
      }
      const ended = await waitForEnd(flags, started.id);
      if (flags.json) printJson(ended);
      else printRun(ended);
      if (ended.status !== 'succeeded') throw quietExit(ExitCode.failure);
    },
  );
  examples(start, [
    'homeostat workflow start replace-instance --input \'{"instance":"web-3"}\'',
    'homeostat workflow start drain --input @input.json --wait',
  ]);
  const cancel = workflow.command('cancel <run-id>').description('stop a running run (no compensation)');
  withClientOptions(cancel).action(async (id: string, flags: ClientFlags) => {
    const { body } = await clientFrom(flags).request<RunWire>('POST', `/v1/runs/${encodeURIComponent(id)}/cancel`);
    if (flags.json) printJson(body);
    else out(`run ${body.id} ${body.status}`);
  });
}
