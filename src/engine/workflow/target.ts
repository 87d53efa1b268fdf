/**
 * @module The `workflow` action: a rule target (or a workflow step) that starts a run.
 * `with: { name, input? }`; `input` may hold `${...}` over `event` (the triggering event) and
 * `payload` (the target's input after its transform); without it the run's input is the payload.
 * The run id is derived from the delivery's idempotency key, so a redelivery finds the run it
 * started instead of starting a second one. An unknown workflow fails without retry.
 */
import { sha256Hex } from '../../core/delivery/sha256.js';
import { ErrorCode, hasCode, type Problem, pointerSegment } from '../../core/errors.js';
import { RULE_NAME } from '../../core/rules/manifest.js';
import { compileTemplate, dynamicPointers, type JsonTemplate } from '../../core/workflow/template.js';
import type { DeliveryOutcome, Target } from '../../ports/target.js';
import type { CloudEvent } from '../../core/event.js';

export interface StartRunOptions {
  /** The id of the event that caused the run (the causation of its events). */
  readonly cause?: string;
  /** Makes the start idempotent: an existing run with this id is returned instead. */
  readonly runId?: string;
  /** The triggering event (`event` in expressions). */
  readonly event?: CloudEvent;
}

const KEYS = ['name', 'input'];
const SCOPE = { variables: ['event', 'payload'] };

type StartRun = (
  name: string,
  input: unknown,
  options: StartRunOptions,
) => Promise<{ readonly run: Record<string, unknown>; readonly created: boolean }>;

/** The run id a delivery starts: `run-` and 24 hex digits of the key's SHA-256. */
export function runIdFor(idempotencyKey: string): string {
  return `run-${sha256Hex(idempotencyKey).slice(0, 24)}`;
}

function validate(options: Readonly<Record<string, unknown>>): Problem[] {
  const problems: Problem[] = Object.keys(options)
    .filter((k) => !KEYS.includes(k))
    .map((k) => ({ pointer: `/${pointerSegment(k)}`, message: `unknown option; allowed: ${KEYS.join(', ')}` }));
  const name = options.name;
  if (typeof name !== 'string' || name === '') {
    problems.push({ pointer: '/name', message: 'is required: the name of the workflow to start (kind: Workflow)' });
  } else if (dynamicPointers(name).length === 0 && !RULE_NAME.test(name)) {
    problems.push({ pointer: '/name', message: `'${name}' is not a valid workflow name` });
  }
  if (options.input !== undefined) problems.push(...compileTemplate(options.input, '/input', SCOPE).problems);
  return problems;
}

const cache = new WeakMap<object, { name?: JsonTemplate; input?: JsonTemplate }>();

function compiled(options: Readonly<Record<string, unknown>>): { name?: JsonTemplate; input?: JsonTemplate } {
  let hit = cache.get(options);
  if (!hit) {
    hit = {
      name: compileTemplate(options.name, '/name', SCOPE).template,
      ...(options.input === undefined ? {} : { input: compileTemplate(options.input, '/input', SCOPE).template }),
    };
    cache.set(options, hit);
  }
  return hit;
}

function failed(code: string, message: string, retry: 'yes' | 'no'): DeliveryOutcome {
  return { ok: false, retry, error: { code, message } };
}

export function createWorkflowTarget(startRun: StartRun): Target {
  return {
    action: 'workflow',
    validate,
    async deliver(req) {
      const problems = validate(req.target.with);
      if (problems.length > 0) {
        return failed(
          'E_ACTION_CONFIG',
          `workflow target options are invalid: ${problems.map((p) => `with${p.pointer}: ${p.message}`).join('; ')}`,
          'no',
        );
      }
      const { name, input } = compiled(req.target.with);
      const bindings = { event: req.record.event, payload: req.payload ?? null };
      const n = name?.render(bindings);
      const i = input ? input.render(bindings) : { ok: true as const, value: req.payload };
      for (const r of [n, i]) if (r && !r.ok) return failed('E_EXPRESSION', `with${r.pointer}: ${r.message}`, 'no');
      const workflow = String(n?.ok ? n.value : req.target.with.name);
      try {
        const { run, created } = await startRun(workflow, i.ok ? i.value : null, {
          runId: runIdFor(req.idempotencyKey),
          event: req.record.event,
          cause: req.record.event.id,
        });
        return { ok: true, detail: { run: run.id, workflow, created } };
      } catch (err) {
        const message = (err as Error)?.message ?? String(err);
        if (hasCode(err, ErrorCode.NOT_FOUND) || hasCode(err, ErrorCode.INVALID))
          return failed(String(err.code), message, 'no');
        const code = (err as { code?: unknown })?.code;
        return failed(typeof code === 'string' ? code : 'E_INTERNAL', message, 'yes');
      }
    },
  };
}
