/** @module API tokens: issue (random secret, stored as SHA-256) and verify (constant time). */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Scope, TokenRecord, TokenStore } from '../ports/token-store.js';

/** Token text: `hst_<id>_<secret>`; the id finds the record, the secret is only stored hashed. */
const TOKEN_FORMAT = /^hst_([a-z0-9]{12})_([A-Za-z0-9_-]{43})$/;

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export interface IssuedToken {
  readonly record: TokenRecord;
  /** The whole token; shown once, never stored. */
  readonly token: string;
}

export function issueToken(name: string, scopes: readonly Scope[], now: number): IssuedToken {
  const id = randomBytes(8).toString('hex').slice(0, 12);
  const secret = randomBytes(32).toString('base64url');
  return {
    record: { id, name, scopes: [...new Set(scopes)], hash: sha256(secret), createdAt: now },
    token: `hst_${id}_${secret}`,
  };
}

/** The token's record if the token is genuine, else undefined. */
export async function verifyToken(token: string, store: TokenStore): Promise<TokenRecord | undefined> {
  const m = TOKEN_FORMAT.exec(token);
  if (!m) return undefined;
  const record = await store.find(m[1]!);
  if (!record) return undefined;
  const given = Buffer.from(sha256(m[2]!), 'hex');
  const stored = Buffer.from(record.hash, 'hex');
  return given.length === stored.length && timingSafeEqual(given, stored) ? record : undefined;
}

/** `admin` grants every scope. */
export function hasScope(record: TokenRecord, scope: Scope): boolean {
  return record.scopes.includes(scope) || record.scopes.includes('admin');
}
