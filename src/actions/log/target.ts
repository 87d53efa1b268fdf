/** @module The `log` action: writes the matched event and payload as one structured log line. */
import type { Logger } from 'pino';
import type { Problem } from '../../core/errors.js';
import type { Target } from '../../ports/target.js';
import { type Options, unknownKeys } from '../options.js';

export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

function validateLog(options: Options): Problem[] {
  const problems = unknownKeys(options, ['level', 'message']);
  if (options.level !== undefined && !LOG_LEVELS.includes(options.level as LogLevel)) {
    problems.push({ pointer: '/level', message: `must be one of ${LOG_LEVELS.join(', ')} (default info)` });
  }
  if (options.message !== undefined && typeof options.message !== 'string') {
    problems.push({ pointer: '/message', message: 'must be a string' });
  }
  return problems;
}

/** Creates the log action: always succeeds; the line carries rule, target, event and payload. */
export function createLogTarget(deps: { readonly logger: Logger }): Target {
  return {
    action: 'log',
    validate: validateLog,
    deliver(req) {
      const level = LOG_LEVELS.includes(req.target.with.level as LogLevel)
        ? (req.target.with.level as LogLevel)
        : 'info';
      const ev = req.record.event;
      const message =
        typeof req.target.with.message === 'string' ? req.target.with.message : `rule ${req.rule} matched ${ev.type}`;
      const line = {
        rule: req.rule,
        target: req.target.id,
        attempt: req.attempt,
        replayed: req.replayed,
        event: { id: ev.id, type: ev.type, source: ev.source, subject: ev.subject, offset: req.record.offset },
        payload: req.payload,
      };
      deps.logger[level](line, message);
      return Promise.resolve({ ok: true, detail: { level } });
    },
  };
}
