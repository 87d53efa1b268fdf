/** @module `homeostat apply -f`: create or replace the manifests in files, directories or stdin. */
import type { Command } from 'commander';
import { ErrorCode, hasCode, HomeostatError } from '../core/errors.js';
import { isPolicyKind, POLICY_KINDS, WORKFLOW_KIND } from '../core/policy-kinds.js';
import { ruleManifestKinds } from '../core/rules/manifest.js';
import type { HomeostatClient } from './client.js';
import { type ManifestDocument, type ManifestSyntaxError, readManifestFiles } from './manifest-files.js';
import { type ClientFlags, clientFrom, collect, examples, withClientOptions } from './options.js';
import { note, out } from './output.js';
import { applyStack } from './stacks.js';

interface ApplyFlags extends ClientFlags {
  readonly file: string[];
  readonly prune?: boolean;
  readonly wait: string;
}

/** Kinds `apply` takes. */
const APPLY_KINDS = [...ruleManifestKinds, 'Stack', WORKFLOW_KIND, ...POLICY_KINDS] as const;

/** Errors after which the other documents would fail the same way: stop at once. */
const FATAL = [ErrorCode.UNAVAILABLE, ErrorCode.UNAUTHENTICATED, ErrorCode.FORBIDDEN];

/** Registers `apply` on the program. */
export function registerApply(program: Command): void {
  const apply = program
    .command('apply')
    .description('create or replace the manifests in files (YAML, multi-document, or JSON), directories or stdin')
    .requiredOption(
      '-f, --file <path>',
      "a file, a directory (its *.yaml, *.yml, *.json in name order), or '-'",
      collect,
    );
  apply
    .option('--prune', 'stacks: delete resources the stack created that it no longer declares')
    .option(
      '--wait <duration>',
      'stacks: wait up to this long for the stack to converge, printing progress (0: do not wait)',
      '60s',
    );
  withClientOptions(apply, { json: false }).action(runApply);
  examples(apply, [
    'homeostat apply -f examples/rules/',
    'homeostat apply -f page-on-5xx.yaml -f cpu.yaml',
    'cat rules.yaml | homeostat apply -f -',
  ]);
}

/** Prints syntax errors as `file:line:col: reason`. */
export function reportSyntaxErrors(errors: readonly ManifestSyntaxError[]): void {
  for (const e of errors) note(`${e.where}: ${e.message}`);
}

/** Prints each problem as `file:line:col: <pointer>: <reason>`, or the message alone when there are none. */
export function reportProblems(doc: ManifestDocument, err: HomeostatError, label: string): void {
  if (err.problems.length === 0) {
    note(`${doc.locate('')}: ${label}: ${err.message}`);
    return;
  }
  for (const p of err.problems) note(`${doc.locate(p.pointer)}: ${p.pointer || '/'}: ${p.message}`);
}

/** The kind of a document, or an error naming the supported kinds. */
export function checkKind(value: unknown): HomeostatError | undefined {
  const problem = (message: string, pointer = '/kind'): HomeostatError =>
    new HomeostatError(ErrorCode.INVALID, message, { problems: [{ pointer, message }] });
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return problem('expected a manifest object with apiVersion, kind, metadata and spec', '');
  }
  const kind = (value as { kind?: unknown }).kind;
  const supported = `supported kinds: ${APPLY_KINDS.join(', ')}`;
  if (kind === undefined) return problem(`required; ${supported}`);
  if (!APPLY_KINDS.includes(kind as 'Rule'))
    return problem(`${JSON.stringify(kind)} is not a supported kind; ${supported}`);
  return undefined;
}

/** The rule name a manifest gives, if it is a string. */
export function manifestName(value: unknown): string | undefined {
  const name = (value as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
  return typeof name === 'string' && name !== '' ? name : undefined;
}

async function applyOne(client: HomeostatClient, doc: ManifestDocument, flags: ApplyFlags): Promise<boolean> {
  const name = manifestName(doc.value);
  const kind = (doc.value as { kind?: unknown } | undefined)?.kind;
  const isStack = kind === 'Stack';
  const noun = isStack ? 'stack' : kind === WORKFLOW_KIND ? 'workflow' : isPolicyKind(kind) ? kind : 'rule';
  const label = `${noun}/${name ?? '(unnamed)'}`;
  const kindError = checkKind(doc.value);
  if (kindError) {
    reportProblems(doc, kindError, label);
    return false;
  }
  try {
    if (isStack) {
      await applyStack(client, doc.value, name ?? '', flags);
      return true;
    }
    if (isPolicyKind(kind) || kind === WORKFLOW_KIND) {
      const path =
        kind === WORKFLOW_KIND
          ? `/v1/workflows/${encodeURIComponent(name ?? '')}`
          : `/v1/policies/${kind}/${encodeURIComponent(name ?? '')}`;
      const res = await client.request<{ result: string; rules?: string[] }>('PUT', path, { body: doc.value });
      const rules = res.body.rules?.length ? ` (rules: ${res.body.rules.join(', ')})` : '';
      out(`${label} ${res.body.result}${rules}`);
      return true;
    }
    // Without a name, POST lets the server report every problem, /metadata/name among them.
    const res = name
      ? await client.request<{ result: string }>('PUT', `/v1/rules/${encodeURIComponent(name)}`, { body: doc.value })
      : await client.request<{ result: string }>('POST', '/v1/rules', { body: doc.value });
    out(`${label} ${res.body.result}`);
    return true;
  } catch (err) {
    if (!(err instanceof HomeostatError) || FATAL.some((code) => hasCode(err, code))) throw err;
    reportProblems(doc, err, label);
    return false;
  }
}

async function runApply(flags: ApplyFlags): Promise<void> {
  const { documents, errors } = readManifestFiles(flags.file);
  reportSyntaxErrors(errors);
  const client = clientFrom(flags);
  const unreadable = new Set(errors.map((e) => e.document)).size;
  if (documents.length + unreadable === 0) {
    throw new HomeostatError(ErrorCode.INVALID, `no manifests found in ${flags.file.join(', ')}; nothing applied`);
  }
  let failed = unreadable;
  for (const doc of documents) if (!(await applyOne(client, doc, flags))) failed += 1;
  if (failed > 0) {
    const total = documents.length + unreadable;
    const rest = failed === total ? 'nothing was applied' : 'the others were applied';
    throw new HomeostatError(ErrorCode.INVALID, `${failed} of ${total} document(s) failed (see above); ${rest}`);
  }
}
