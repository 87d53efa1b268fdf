/**
 * @module Committed consumer offsets in a JetStream KV bucket, one key per consumer. An update is a
 * compare-and-set on the key's revision, so processes committing the same consumer at once never
 * move its offset backwards (a smaller value is ignored unless `reset`).
 */
import { JetStreamApiCodes, JetStreamApiError, type JetStreamClient } from '@nats-io/jetstream';
import { type KV, Kvm } from '@nats-io/kv';
import { ErrorCode, HomeostatError } from '../../core/errors.js';
import { reason } from './connect.js';

export interface OffsetStore {
  commit(consumer: string, offset: number, reset: boolean): Promise<void>;
  get(consumer: string): Promise<number | undefined>;
}

export interface OffsetStoreOptions {
  readonly bucket: string;
  readonly replicas: number;
  readonly storage: 'file' | 'memory';
  readonly timeoutMs: number;
}

/** Compare-and-set attempts before giving up under heavy contention on one consumer. */
const MAX_ATTEMPTS = 20;

/**
 * The KV key of a consumer: letters, digits, `_` and `-` as they are, every other UTF-8 byte as
 * `=XX` (KV keys allow `[-/_=.A-Za-z0-9]`), behind a `c.` prefix. Readable and reversible.
 */
export function consumerKey(consumer: string): string {
  let out = 'c.';
  for (const byte of new TextEncoder().encode(consumer)) {
    const ch = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(ch) ? ch : `=${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export async function openOffsetStore(js: JetStreamClient, o: OffsetStoreOptions): Promise<OffsetStore> {
  const kvm = new Kvm(js);
  let kv: KV;
  try {
    // Creates the bucket, or opens it when it exists with the same settings; one made with other
    // settings (say, another replica count) is used as it is.
    kv = await kvm
      .create(o.bucket, { history: 1, replicas: o.replicas, storage: o.storage, timeout: o.timeoutMs })
      .catch((err: unknown) => {
        if (!/already in use/i.test(reason(err))) throw err;
        return kvm.open(o.bucket, { timeout: o.timeoutMs });
      });
  } catch (err) {
    throw new HomeostatError(ErrorCode.BACKEND, `NATS KV bucket ${o.bucket} (consumer offsets): ${reason(err)}`, {
      cause: err,
    });
  }
  const fail = (what: string, consumer: string, err: unknown): HomeostatError =>
    err instanceof HomeostatError
      ? err
      : new HomeostatError(
          ErrorCode.BACKEND,
          `NATS KV bucket ${o.bucket}: ${what} of consumer '${consumer}' failed: ${reason(err)}`,
          { cause: err },
        );
  const conflict = (err: unknown): boolean =>
    err instanceof JetStreamApiError &&
    (err.code === JetStreamApiCodes.StreamWrongLastSequence ||
      err.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown);

  async function read(consumer: string): Promise<{ offset: number | undefined; revision: number | undefined }> {
    const entry = await kv.get(consumerKey(consumer));
    if (entry === null || entry.operation !== 'PUT') return { offset: undefined, revision: entry?.revision };
    const offset = Number(entry.string());
    return { offset: Number.isFinite(offset) ? offset : undefined, revision: entry.revision };
  }

  return {
    async commit(consumer, offset, reset) {
      const key = consumerKey(consumer);
      const value = String(offset);
      try {
        for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
          const current = await read(consumer);
          if (!reset && current.offset !== undefined && offset <= current.offset) return;
          try {
            if (current.revision === undefined || current.offset === undefined) await kv.create(key, value);
            else await kv.update(key, value, current.revision);
            return;
          } catch (err) {
            // Someone else wrote the key between our read and write: read again.
            if (!conflict(err)) throw err;
          }
        }
      } catch (err) {
        throw fail('committing the offset', consumer, err);
      }
      throw new HomeostatError(
        ErrorCode.BACKEND,
        `NATS KV bucket ${o.bucket}: the offset of consumer '${consumer}' kept changing under ${MAX_ATTEMPTS} attempts to commit it; retry`,
      );
    },

    async get(consumer) {
      try {
        return (await read(consumer)).offset;
      } catch (err) {
        throw fail('reading the offset', consumer, err);
      }
    },
  };
}
