/** @module Benchmark options shared by the bench scripts: `BENCH_*` variables or `--flags`, with usage and checks. */

export type FlagSpec = Readonly<Record<string, { readonly env: string; readonly help: string }>>;
export type RawFlags = Record<string, string | undefined>;

export interface FlagReader {
  usage(): string;
  /** Reads the variables, then `--name value` / `--name=value`; throws with usage on an unknown flag or --help. */
  read(argv: readonly string[], env: NodeJS.ProcessEnv): RawFlags;
  /** A number ≥ `min`, or `fallback` when unset. */
  num(raw: RawFlags, flag: string, fallback: number, min: number): number;
  /** An integer ≥ `min`, or `fallback` when unset. */
  int(raw: RawFlags, flag: string, fallback: number, min?: number): number;
}

export function createFlagReader(script: string, spec: FlagSpec): FlagReader {
  const usage = (): string => {
    const lines = Object.entries(spec).map(([flag, s]) => `  --${flag.padEnd(20)} ${s.env.padEnd(26)} ${s.help}`);
    return `usage: tsx ${script} [--flag value | --flag=value]... (or the environment variables)\n${lines.join('\n')}`;
  };
  const num = (raw: RawFlags, flag: string, fallback: number, min: number): number => {
    const text = raw[flag];
    if (text === undefined || text === '') return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < min) {
      throw new Error(`--${flag} (${spec[flag]?.env}) must be a number >= ${min}, got '${text}'`);
    }
    return value;
  };
  return {
    usage,
    read(argv, env) {
      const raw: RawFlags = {};
      for (const [flag, s] of Object.entries(spec)) raw[flag] = env[s.env];
      for (let i = 0; i < argv.length; i++) {
        const arg = argv[i] ?? '';
        if (arg === '--help' || arg === '-h') throw new Error(usage());
        const m = /^--([a-z-]+)(?:=(.*))?$/.exec(arg);
        if (!m?.[1] || !(m[1] in spec)) throw new Error(`unknown argument ${arg}\n${usage()}`);
        raw[m[1]] = m[2] ?? argv[++i];
      }
      return raw;
    },
    num,
    int(raw, flag, fallback, min = 1) {
      const value = num(raw, flag, fallback, min);
      if (!Number.isInteger(value))
        throw new Error(`--${flag} (${spec[flag]?.env}) must be an integer, got '${raw[flag]}'`);
      return value;
    },
  };
}
