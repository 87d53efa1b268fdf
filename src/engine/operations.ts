/** @module Operator runs on the log that go through the engine: replay and backtest. */
import { parseRuleManifest, type RuleValidationContext } from '../core/rules/manifest.js';
import type { BacktestOptions, BacktestReport } from './backtest.js';
import type { Engine } from './engine.js';
import type { LogRange } from './log-range.js';
import type { ReplayReport } from './replay.js';

export interface EngineOperations {
  /** Re-delivers a range of the log to one rule (or every enabled rule), marked as replayed. */
  replay(range: LogRange, rule?: string): Promise<ReplayReport>;
  /** Runs a rule manifest (validated, never stored) over a range; executes nothing. */
  backtest(
    manifest: unknown,
    range: LogRange,
    options?: Pick<BacktestOptions, 'samples' | 'onProgress' | 'signal'>,
  ): Promise<BacktestReport>;
}

export function createOperations(engine: Engine, context: RuleValidationContext): EngineOperations {
  return {
    replay: (range, rule) => engine.replay(range, rule),
    backtest: (manifest, range, options) => engine.backtest(parseRuleManifest(manifest, context), range, options),
  };
}
