/** @module The built-in actions behind one Target interface, by name; the dispatcher looks them up here. */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Problem } from '../core/errors.js';
import type { Target, TargetRegistry } from '../ports/target.js';
import { type Publish, createEmitTarget } from './emit/target.js';
import { type ResolvedExecConfig, createExecTarget } from './exec/target.js';
import { createHttpTarget } from './http/target.js';
import { createLogTarget } from './log/target.js';
import { isRecord } from './options.js';

export interface TargetRegistryDeps {
  readonly logger: Logger;
  /** Appends emitted events through ingest (the runtime passes the ingestor). */
  readonly publish: Publish;
  /** The exec allowlist from the server config. */
  readonly exec: ResolvedExecConfig;
  readonly clock: Clock;
  /** Environment for `secretEnv` lookups and exec commands. Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
  /** Actions the runtime adds (infrastructure actions, `policy`, `workflow`). */
  readonly extra?: readonly Target[];
}

/** The registry plus `close`, which releases what actions hold (the http connection pool). */
export interface ActionRegistry extends TargetRegistry {
  close(): Promise<void>;
}

/** Builds the registry of built-in actions: http, emit, exec, log, and the runtime's `extra` ones. */
export function createTargetRegistry(deps: TargetRegistryDeps): ActionRegistry {
  const http = createHttpTarget({ clock: deps.clock, ...(deps.env ? { env: deps.env } : {}) });
  const targets: Target[] = [
    http,
    createEmitTarget({ publish: deps.publish, clock: deps.clock }),
    createExecTarget({ exec: deps.exec, ...(deps.env ? { env: deps.env } : {}) }),
    createLogTarget({ logger: deps.logger }),
    ...(deps.extra ?? []),
  ];
  const map = new Map(targets.map((t) => [t.action, t]));
  return Object.assign(map, {
    async close() {
      await http.close();
    },
  });
}

/**
 * For the manifest parser: checks a target's `with` against its action. Returns undefined when the
 * action is unknown (the caller reports it with the known names: `[...registry.keys()]`), else the
 * problems (empty when valid), pointers relative to `with`.
 */
export function validateAction(registry: TargetRegistry): (action: string, options: unknown) => Problem[] | undefined {
  return (action, options) => {
    const target = registry.get(action);
    if (target === undefined) return undefined;
    if (options === undefined) return target.validate({});
    if (!isRecord(options)) return [{ pointer: '', message: `must be an object of ${action} options` }];
    return target.validate(options);
  };
}
