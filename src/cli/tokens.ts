/** @module `homeostat tokens`: API tokens over the API, or offline on a data directory. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { issueToken } from '../auth/tokens.js';
import { ErrorCode, HomeostatError } from '../core/errors.js';
import { Scope, type TokenRecord, type TokenStore } from '../ports/token-store.js';
import { type ClientFlags, clientFrom, examples, withClientOptions } from './options.js';
import { formatTime, note, out, printJson, printTable, usageError } from './output.js';

interface TokenFlags extends ClientFlags {
  /** Offline mode: work on this data directory's store instead of the API. */
  readonly dataDir?: string;
}

interface CreateFlags extends TokenFlags {
  readonly name: string;
  readonly scopes: string;
}

/** A token as listed: never the secret. */
interface TokenInfo {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly string[];
  readonly createdAt?: string | number;
}

interface CreatedToken extends TokenInfo {
  readonly token: string;
}

const DATA_DIR_HELP = 'work offline on the store in this data directory (server stopped) instead of the API';

/** Registers `tokens` and its subcommands on the program. */
export function registerTokens(program: Command): void {
  const tokens = program.command('tokens').description('manage API bearer tokens (admin)');
  const create = tokens
    .command('create')
    .description('create a token; it is printed once, on stdout, and never shown again')
    .requiredOption('--name <name>', 'what the token is for')
    .requiredOption('--scopes <list>', `comma separated: ${Object.values(Scope).join(', ')}`)
    .option('--data-dir <dir>', DATA_DIR_HELP);
  withClientOptions(create).action(runCreate);
  const list = tokens.command('list').description('list tokens (never their secrets)');
  withClientOptions(list.option('--data-dir <dir>', DATA_DIR_HELP)).action(runList);
  const revoke = tokens.command('revoke <id>').description('revoke a token by id');
  withClientOptions(revoke.option('--data-dir <dir>', DATA_DIR_HELP), { json: false }).action(runRevoke);
  examples(tokens, [
    'homeostat tokens create --name admin --scopes admin --data-dir ./.homeostat   # before the first start',
    'homeostat tokens create --name ci --scopes publish,read',
    'homeostat tokens list',
    'homeostat tokens revoke 3f9a0c1b2d4e',
  ]);
}

/** Parses `publish,read` into scopes; unknown names are a usage error. */
export function parseScopes(raw: string): Scope[] {
  const names = raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const allowed: readonly string[] = Object.values(Scope);
  const bad = names.filter((n) => !allowed.includes(n));
  if (names.length === 0 || bad.length > 0) {
    throw usageError(`--scopes: '${raw}' must list one or more of ${allowed.join(', ')}`);
  }
  return names as Scope[];
}

/** Opens the offline store of `dataDir`, runs `fn`, always closes. */
async function withStore<T>(dataDir: string, fn: (store: TokenStore) => Promise<T>): Promise<T> {
  // Loaded lazily so client commands do not pay for the storage dependencies.
  const { openTokenStore } = await import('../runtime/embedded.js');
  const { loadConfig } = await import('../runtime/config.js');
  // HOMEOSTAT_STORE_URL (or HOMEOSTAT_CONFIG's store.url) points at a PostgreSQL state instead.
  const config = loadConfig({ env: process.env, overrides: { dataDir: resolve(dataDir) } });
  const { store, close } = await openTokenStore(config);
  try {
    return await fn(store);
  } finally {
    await close();
  }
}

const info = (r: TokenRecord): TokenInfo => ({ id: r.id, name: r.name, scopes: r.scopes, createdAt: r.createdAt });

async function runCreate(flags: CreateFlags): Promise<void> {
  const scopes = parseScopes(flags.scopes);
  let created: CreatedToken;
  if (flags.dataDir !== undefined) {
    const issued = issueToken(flags.name, scopes, Date.now());
    await withStore(flags.dataDir, (store) => store.add(issued.record));
    created = { ...info(issued.record), token: issued.token };
  } else {
    const body = { name: flags.name, scopes };
    created = (await clientFrom(flags).request<CreatedToken>('POST', '/v1/tokens', { body })).body;
  }
  if (flags.json) return printJson(created);
  note(
    `created token ${created.id} '${created.name}' (${created.scopes.join(', ')}); store it now, it is not shown again`,
  );
  out(created.token);
}

async function runList(flags: TokenFlags): Promise<void> {
  const list =
    flags.dataDir !== undefined
      ? (await withStore(flags.dataDir, (store) => store.list())).map(info)
      : (await clientFrom(flags).request<{ tokens: TokenInfo[] }>('GET', '/v1/tokens')).body.tokens;
  if (flags.json) return printJson({ tokens: list });
  if (list.length === 0) return note('homeostat: no tokens');
  const rows = list.map((t) => [t.id, t.name, t.scopes.join(','), formatTime(t.createdAt)]);
  printTable(['ID', 'NAME', 'SCOPES', 'CREATED'], rows);
}

async function runRevoke(id: string, flags: TokenFlags): Promise<void> {
  if (flags.dataDir !== undefined) {
    const removed = await withStore(flags.dataDir, (store) => store.remove(id));
    if (!removed) throw new HomeostatError(ErrorCode.NOT_FOUND, `no token with id '${id}' in ${flags.dataDir}`);
  } else {
    await clientFrom(flags).request('DELETE', `/v1/tokens/${encodeURIComponent(id)}`);
  }
  out(`revoked token ${id}`);
}
