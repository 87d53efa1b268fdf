/**
 * @module TokenStore: API bearer tokens, stored hashed.
 *
 * Contract: the store never sees a token's secret, only its SHA-256 hash; `find` by id returns
 * the hash for a constant-time comparison by the caller. Revoked tokens are deleted.
 */

export const Scope = { publish: 'publish', read: 'read', admin: 'admin' } as const;
export type Scope = (typeof Scope)[keyof typeof Scope];

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly scopes: readonly Scope[];
  /** Hex SHA-256 of the secret part. */
  readonly hash: string;
  readonly createdAt: number;
}

export interface TokenStore {
  add(record: TokenRecord): Promise<void>;
  find(id: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /** True if a token was removed. */
  remove(id: string): Promise<boolean>;
  count(): Promise<number>;
}
