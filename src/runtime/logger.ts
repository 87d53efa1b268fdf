/**
 * @module The process logger: pino writing structured JSON lines to stderr, or the same records
 * made human-readable (pino-pretty) when stderr is a terminal and the format is `auto`.
 */
import { type Logger, pino } from 'pino';
import pretty from 'pino-pretty';
import type { ResolvedConfig } from './config.js';

export function createLogger(
  config: Pick<ResolvedConfig, 'logLevel' | 'logFormat'>,
  isTTY = process.stderr.isTTY === true,
): Logger {
  const options = { level: config.logLevel, base: { service: 'homeostat' } };
  const human = config.logFormat === 'pretty' || (config.logFormat === 'auto' && isTTY);
  if (!human) return pino(options, pino.destination(2));
  const stream = pretty({
    destination: 2,
    sync: true,
    colorize: isTTY,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
    singleLine: true,
  });
  return pino(options, stream);
}
