/**
 * @module Manifests applied at start (config `manifests`): stacks first, then workflows, policies
 * and rules, each through its service exactly as `homeostat apply -f` would. A manifest that does
 * not validate stops the start with its file and problems: a broken bootstrap is never half-applied
 * silently.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { isPolicyKind, WORKFLOW_KIND } from '../core/policy-kinds.js';

export interface BootstrapTargets {
  readonly stack: (manifest: unknown) => Promise<unknown>;
  readonly workflow?: (manifest: unknown) => Promise<unknown>;
  readonly policy: (manifest: unknown) => Promise<unknown>;
  readonly rule: (manifest: unknown) => Promise<unknown>;
}

interface Doc {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly value: Record<string, unknown>;
}

const MANIFEST_FILE = /\.(ya?ml|json)$/i;
const ORDER = (kind: string): number =>
  kind === 'Stack' ? 0 : kind === WORKFLOW_KIND ? 1 : isPolicyKind(kind) ? 2 : 3;

function files(path: string): string[] {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (cause) {
    throw new HomeostatError(ErrorCode.CONFIG_INVALID, `manifests: cannot read '${path}'`, { cause });
  }
  if (!dir) return [path];
  return readdirSync(path)
    .filter((n) => MANIFEST_FILE.test(n))
    .sort()
    .map((n) => join(path, n));
}

/** Every document of every path, ordered so that what others refer to comes first. */
export function readBootstrapManifests(paths: readonly string[]): Doc[] {
  const docs: Doc[] = [];
  for (const file of paths.flatMap(files)) {
    for (const parsed of parseAllDocuments(readFileSync(file, 'utf8'))) {
      if (parsed.errors.length > 0)
        throw new HomeostatError(ErrorCode.CONFIG_INVALID, `manifests: ${file}: ${parsed.errors[0]!.message}`);
      const value = parsed.toJS() as unknown;
      if (value === null || value === undefined) continue;
      const v = value as { kind?: unknown; metadata?: { name?: unknown } };
      docs.push({
        file,
        kind: typeof v.kind === 'string' ? v.kind : '',
        name: typeof v.metadata?.name === 'string' ? v.metadata.name : '(unnamed)',
        value: value as Record<string, unknown>,
      });
    }
  }
  return docs
    .map((d, i) => ({ d, i }))
    .sort((a, b) => ORDER(a.d.kind) - ORDER(b.d.kind) || a.i - b.i)
    .map((x) => x.d);
}

/** Applies the manifests; returns one line per document (`Stack/web applied`). */
export async function applyBootstrap(paths: readonly string[], to: BootstrapTargets): Promise<string[]> {
  const lines: string[] = [];
  for (const doc of readBootstrapManifests(paths)) {
    const apply =
      doc.kind === 'Stack'
        ? to.stack
        : doc.kind === WORKFLOW_KIND
          ? to.workflow
          : isPolicyKind(doc.kind)
            ? to.policy
            : doc.kind === 'Rule'
              ? to.rule
              : undefined;
    if (!apply)
      throw new HomeostatError(
        ErrorCode.CONFIG_INVALID,
        `manifests: ${doc.file}: kind '${doc.kind}' cannot be applied`,
      );
    try {
      await apply(doc.value);
    } catch (err) {
      const problems = err instanceof HomeostatError ? err.problems : [];
      const detail = problems.map((p) => `${p.pointer}: ${p.message}`).join('; ');
      throw new HomeostatError(
        ErrorCode.CONFIG_INVALID,
        `manifests: ${doc.file}: ${doc.kind}/${doc.name}: ${(err as Error).message}${detail ? ` (${detail})` : ''}`,
        { cause: err, problems },
      );
    }
    lines.push(`${doc.kind}/${doc.name}`);
  }
  return lines;
}
