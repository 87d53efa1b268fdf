/** @module `homeostat schemas`: register, inspect and delete JSON Schemas for event data. */
import { readFileSync } from 'node:fs';
import { type Command, Option } from 'commander';
import { parse as parseYaml } from 'yaml';
import { type ClientFlags, clientFrom, examples, parseIntFlag, withClientOptions } from './options.js';
import { formatTime, note, out, printJson, printTable, usageError } from './output.js';

interface SchemaSummary {
  readonly type: string;
  readonly version: number;
  readonly mode: string;
  readonly createdAt?: string | number;
  readonly schema?: unknown;
}

interface PutFlags extends ClientFlags {
  readonly file: string;
  readonly mode?: string;
  readonly version?: string;
  readonly force?: boolean;
}

interface VersionFlags extends ClientFlags {
  readonly version?: string;
}

const typePath = (type: string) => `/v1/schemas/${encodeURIComponent(type)}`;

/** Registers `schemas` and its subcommands on the program. */
export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description('manage JSON Schemas for the data of each event type');
  registerPut(schemas);
  const list = withClientOptions(schemas.command('list').description('latest schema version of every type'));
  list.action(runList);
  const get = schemas.command('get <type>').description("a type's schema (latest unless --version)");
  withClientOptions(get.option('--version <n>', 'a specific version')).action(runGet);
  const versions = withClientOptions(schemas.command('versions <type>').description('every version of a type'));
  versions.action(runVersions);
  const del = schemas.command('delete <type>').description("delete a type's schemas (or one --version)");
  withClientOptions(del.option('--version <n>', 'delete only this version')).action(runDelete);
  examples(schemas, [
    'homeostat schemas put host.cpu.high -f cpu.schema.yaml --mode warn',
    'homeostat schemas list',
    'homeostat schemas get host.cpu.high --version 2',
  ]);
}

function registerPut(schemas: Command): void {
  const put = schemas
    .command('put <type>')
    .description('register a schema version (must stay backward compatible unless --force)')
    .requiredOption('-f, --file <path>', 'the JSON Schema, as JSON or YAML')
    .addOption(
      new Option('--mode <mode>', 'what to do with violations (default enforce)').choices(['enforce', 'warn', 'off']),
    )
    .option('--version <n>', 'the version number to register (default: latest + 1)')
    .option('--force', 'register even if incompatible with the latest version');
  withClientOptions(put).action(runPut);
  examples(put, [
    'homeostat schemas put host.cpu.high -f cpu.schema.json',
    'homeostat schemas put order.created -f order.yaml --mode warn --force',
  ]);
}

/** Reads a JSON or YAML schema file (YAML is a superset of JSON). */
function readSchemaFile(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (cause) {
    throw usageError(`-f: cannot read '${path}': ${(cause as Error).message}`, cause);
  }
  try {
    return parseYaml(text);
  } catch (cause) {
    throw usageError(`-f: '${path}' is not valid JSON or YAML: ${(cause as Error).message}`, cause);
  }
}

async function runPut(type: string, flags: PutFlags): Promise<void> {
  const body = {
    schema: readSchemaFile(flags.file),
    mode: flags.mode,
    version: parseIntFlag('--version', flags.version, 1),
  };
  const res = await clientFrom(flags).request<SchemaSummary>('PUT', typePath(type), {
    body,
    query: { force: flags.force ? 'true' : undefined },
  });
  if (flags.json) return printJson(res.body);
  const s = res.body;
  const what = res.status === 201 ? 'registered' : 'unchanged schema, mode set:';
  out(`${what} ${s?.type ?? type} version ${s?.version ?? '?'} (mode ${s?.mode ?? flags.mode ?? 'enforce'})`);
}

function summaryRows(list: readonly SchemaSummary[]): string[][] {
  return list.map((s) => [s.type, String(s.version), s.mode, formatTime(s.createdAt)]);
}

async function runList(flags: ClientFlags): Promise<void> {
  const res = await clientFrom(flags).request<{ schemas: SchemaSummary[] }>('GET', '/v1/schemas');
  if (flags.json) return printJson(res.body);
  printTable(['TYPE', 'VERSION', 'MODE', 'CREATED'], summaryRows(res.body.schemas));
}

async function runGet(type: string, flags: VersionFlags): Promise<void> {
  const query = { version: parseIntFlag('--version', flags.version, 1) };
  const res = await clientFrom(flags).request<SchemaSummary>('GET', typePath(type), { query });
  if (flags.json) return printJson(res.body);
  const s = res.body;
  // The schema alone on stdout, so `get > file` round-trips with `put -f file`.
  note(`${s.type} version ${s.version}, mode ${s.mode}, created ${formatTime(s.createdAt)}`);
  printJson(s.schema);
}

async function runVersions(type: string, flags: ClientFlags): Promise<void> {
  const res = await clientFrom(flags).request<{ versions: SchemaSummary[] }>('GET', `${typePath(type)}/versions`);
  if (flags.json) return printJson(res.body);
  printTable(['TYPE', 'VERSION', 'MODE', 'CREATED'], summaryRows(res.body.versions.map((v) => ({ ...v, type }))));
}

async function runDelete(type: string, flags: VersionFlags): Promise<void> {
  const query = { version: parseIntFlag('--version', flags.version, 1) };
  const res = await clientFrom(flags).request<{ deleted: number }>('DELETE', typePath(type), { query });
  if (flags.json) return printJson(res.body);
  out(`deleted ${res.body.deleted} schema version(s) of ${type}`);
}
