/** @module Parses and validates `kind: Workflow` manifests into a resolved, frozen WorkflowSpec (pure). */
import { invalid } from '../errors.js';
import { type ManifestReader, newReader } from '../rules/manifest-reader.js';
import { MAX_DESCRIPTION, readMetadata, type RuleValidationContext } from '../rules/manifest.js';
import type { ExprScope } from './expr.js';
import { collectStepNames, readSteps, type StepContext } from './steps.js';
import { type StepSpec, WORKFLOW_API_VERSION, WORKFLOW_KIND, type WorkflowSpec } from './types.js';

/** The variables expressions see; see docs/WORKFLOWS.md ("Expressions"). */
export const EXPRESSION_VARIABLES = ['input', 'event', 'steps', 'run', 'error'] as const;

/** What a workflow is validated against: the actions this server has (as for rules). */
export type WorkflowValidationContext = RuleValidationContext;

const TOP_FIELDS = ['apiVersion', 'kind', 'metadata', 'spec'];
const SPEC_FIELDS = ['description', 'timeout', 'steps'];
const YEAR_MS = 365 * 86_400_000;

/**
 * Validates a `kind: Workflow` manifest (parsed JSON or YAML) and resolves it. Every problem is
 * collected with its JSON pointer; throws E_INVALID `invalid workflow <name>` listing them all.
 */
export function parseWorkflowManifest(doc: unknown, ctx: WorkflowValidationContext): WorkflowSpec {
  const r = newReader();
  const root = r.object(doc, '', 'a manifest object with apiVersion, kind, metadata and spec');
  if (!root) throw invalid('invalid workflow manifest', r.problems);
  r.fields(root, '', TOP_FIELDS);
  const kindOk = readHeader(r, root);
  const meta = readMetadata(r, root.metadata, 'workflow', 'replace-instance');
  const what = meta.name === undefined ? 'invalid workflow manifest' : `invalid workflow ${meta.name}`;
  if (!kindOk) throw invalid(what, r.problems);
  const spec = r.object(root.spec, '/spec', 'an object with steps');
  if (!spec) throw invalid(what, r.problems);
  r.fields(spec, '/spec', SPEC_FIELDS);
  const description = r.text(spec.description, '/spec/description', MAX_DESCRIPTION) ?? meta.description;
  const timeoutMs =
    spec.timeout === undefined ? undefined : r.duration(spec.timeout, '/spec/timeout', 1000, YEAR_MS, 3_600_000);
  const names = [...new Set(collectStepNames(spec.steps))];
  const scope: ExprScope = { variables: EXPRESSION_VARIABLES, fields: { steps: names } };
  const stepCtx: StepContext = {
    actions: ctx,
    scope,
    byName: new Map<string, StepSpec>(),
    seen: new Set<string>(),
    count: 0,
  };
  const steps = readSteps(r, spec.steps, '/spec/steps', stepCtx, 1);
  if (r.problems.length > 0 || meta.name === undefined) throw invalid(what, r.problems);
  return Object.freeze({
    name: meta.name,
    ...(description === undefined ? {} : { description }),
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
    steps: Object.freeze(steps),
    byName: stepCtx.byName,
  });
}

function readHeader(r: ManifestReader, root: Record<string, unknown>): boolean {
  if (root.apiVersion !== WORKFLOW_API_VERSION) {
    const got = root.apiVersion === undefined ? 'required' : `${JSON.stringify(root.apiVersion)} is not supported`;
    r.add('/apiVersion', `${got}; use apiVersion: ${WORKFLOW_API_VERSION}`);
  }
  if (root.kind === WORKFLOW_KIND) return true;
  const got = root.kind === undefined ? 'required' : `${JSON.stringify(root.kind)} is not supported here`;
  r.add('/kind', `${got}; use kind: ${WORKFLOW_KIND}`);
  return false;
}
