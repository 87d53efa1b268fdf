/** @module `homeostat delete rule <name>` and `homeostat delete -f <file>`: delete rules by name or by manifest. */
import type { Command } from 'commander';
import { ErrorCode, hasCode, HomeostatError } from '../core/errors.js';
import { checkKind, manifestName, reportProblems, reportSyntaxErrors } from './apply.js';
import type { HomeostatClient } from './client.js';
import { isPolicyKind, WORKFLOW_KIND } from '../core/policy-kinds.js';
import { checkResource } from './get.js';
import { POLICY_RESOURCES, policyRef } from './get-policies.js';
import { type ManifestDocument, readManifestFiles } from './manifest-files.js';
import { type ClientFlags, clientFrom, collect, examples, withClientOptions } from './options.js';
import { note, out, usageError } from './output.js';

interface DeleteFlags extends ClientFlags {
  readonly file?: string[];
  readonly ignoreNotFound?: boolean;
  readonly prune?: boolean;
}

/** Registers `delete` on the program. */
export function registerDelete(program: Command): void {
  const del = program
    .command('delete [resource] [name]')
    .description(
      'delete a rule, stack, policy (<Kind>/<name>) or workflow by name, or what the manifests in -f files name',
    )
    .option('-f, --file <path>', "a manifest file, a directory, or '-' (repeatable)", collect)
    .option('--ignore-not-found', 'do not fail when a rule does not exist')
    .option('--prune', 'stacks: also delete the resources the stack created (instances are stopped)');
  withClientOptions(del, { json: false }).action(runDelete);
  examples(del, [
    'homeostat delete rule page-on-5xx',
    'homeostat delete -f examples/rules/',
    'homeostat delete stack shop --prune',
    'homeostat delete policy ScalingPolicy/web',
  ]);
}

/** The API path and label of a named thing of a manifest kind (rules by default). */
function pathOf(kind: unknown, name: string): { path: string; label: string } {
  const n = encodeURIComponent(name);
  if (isPolicyKind(kind)) return { path: `/v1/policies/${kind}/${n}`, label: `${kind}/${name}` };
  if (kind === WORKFLOW_KIND) return { path: `/v1/workflows/${n}`, label: `workflow/${name}` };
  return { path: `/v1/rules/${n}`, label: `rule/${name}` };
}

/** Deletes one rule, policy or workflow; false when it did not exist (reported on stderr). */
async function deleteRule(client: HomeostatClient, name: string, flags: DeleteFlags, kind?: unknown): Promise<boolean> {
  const { path, label } = pathOf(kind, name);
  try {
    await client.request('DELETE', path);
    out(`${label} deleted`);
    return true;
  } catch (err) {
    if (!hasCode(err, ErrorCode.NOT_FOUND)) throw err;
    if (flags.ignoreNotFound) return true;
    note(`homeostat: ${label} not found`);
    return false;
  }
}

/** Deletes one named policy or workflow; an unknown one fails (exit 1) unless --ignore-not-found. */
async function deleteNamed(client: HomeostatClient, kind: string, name: string, flags: DeleteFlags): Promise<void> {
  const { path, label } = pathOf(kind, name);
  try {
    await client.request('DELETE', path);
  } catch (err) {
    if (flags.ignoreNotFound && hasCode(err, ErrorCode.NOT_FOUND)) return;
    throw err;
  }
  out(`${label} deleted`);
}

async function deleteDocument(client: HomeostatClient, doc: ManifestDocument, flags: DeleteFlags): Promise<boolean> {
  const name = manifestName(doc.value);
  const kindError = checkKind(doc.value);
  if (kindError || name === undefined) {
    const message = 'required: the name of the rule to delete';
    const problems = [{ pointer: '/metadata/name', message }];
    reportProblems(doc, kindError ?? new HomeostatError(ErrorCode.INVALID, message, { problems }), 'rule/(unnamed)');
    return false;
  }
  return deleteRule(client, name, flags, (doc.value as { kind?: unknown }).kind);
}

async function runDelete(resource: string | undefined, name: string | undefined, flags: DeleteFlags): Promise<void> {
  const files = flags.file ?? [];
  if (files.length > 0 && resource !== undefined) throw usageError('give either -f <file> or `rule <name>`, not both');
  const client = clientFrom(flags);
  if (files.length === 0) {
    if (resource === undefined || name === undefined) {
      throw usageError('name the rule to delete (homeostat delete rule <name>) or give -f <file>');
    }
    if (POLICY_RESOURCES.includes(resource)) {
      const ref = policyRef(name);
      if (!isPolicyKind(ref.kind)) throw usageError(`'${ref.kind}' is not a policy kind`);
      return deleteNamed(client, ref.kind, ref.name, flags);
    }
    if (resource === 'workflow' || resource === 'workflows') {
      return deleteNamed(client, WORKFLOW_KIND, name, flags);
    }
    const stack = resource === 'stack' || resource === 'stacks';
    if (!stack) checkResource(resource);
    const path = stack ? `/v1/stacks/${encodeURIComponent(name)}` : `/v1/rules/${encodeURIComponent(name)}`;
    try {
      await client.request('DELETE', path, { query: { prune: stack && flags.prune ? 'true' : undefined } });
    } catch (err) {
      if (flags.ignoreNotFound && hasCode(err, ErrorCode.NOT_FOUND)) return;
      throw err;
    }
    out(`${stack ? 'stack' : 'rule'}/${name} deleted${stack && flags.prune ? ' with its resources' : ''}`);
    return;
  }
  const { documents, errors } = readManifestFiles(files);
  reportSyntaxErrors(errors);
  const unreadable = new Set(errors.map((e) => e.document)).size;
  let failures = unreadable;
  for (const doc of documents) if (!(await deleteDocument(client, doc, flags))) failures += 1;
  if (failures > 0) throw failed(failures, documents.length + unreadable);
}

function failed(count: number, total: number): HomeostatError {
  return new HomeostatError(ErrorCode.NOT_FOUND, `${count} of ${total} deletion(s) failed (see above)`);
}
