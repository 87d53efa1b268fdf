import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { emittedEventId, idempotencyKey } from './idempotency.js';
import { sha256Hex } from './sha256.js';

describe('sha256Hex', () => {
  it('matches the FIPS 180-4 test vectors', () => {
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
  });

  it('hashes a million bytes of "a" like the NIST long-message vector', () => {
    expect(sha256Hex(new Uint8Array(1_000_000).fill(0x61))).toBe(
      'cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0',
    );
  });

  it('handles messages at the padding boundaries (55, 56, 63, 64, 65 bytes)', () => {
    for (const n of [55, 56, 63, 64, 65, 119, 120]) {
      const text = 'x'.repeat(n);
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text).digest('hex'));
    }
  });

  it('agrees with node:crypto on random strings, UTF-8 included', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 300 }), (s) => {
        expect(sha256Hex(s)).toBe(createHash('sha256').update(s, 'utf8').digest('hex'));
      }),
      { numRuns: 300 },
    );
  });
});

describe('idempotencyKey', () => {
  it('is stable: the same delivery always gets the same key', () => {
    const a = idempotencyKey('app/orders', 'e-1', 'notify', 'http-0');
    expect(idempotencyKey('app/orders', 'e-1', 'notify', 'http-0')).toBe(a);
    expect(a).toMatch(/^hst1-[0-9a-f]{32}$/);
  });

  it('is the first 32 hex digits of SHA-256 over the length-prefixed fields', () => {
    const expected = createHash('sha256').update('10:app/orders3:e-16:notify6:http-0').digest('hex').slice(0, 32);
    expect(idempotencyKey('app/orders', 'e-1', 'notify', 'http-0')).toBe(`hst1-${expected}`);
  });

  it('differs when any field differs, even if the concatenations are equal', () => {
    const keys = new Set([
      idempotencyKey('a', 'bc', 'r', 't'),
      idempotencyKey('ab', 'c', 'r', 't'),
      idempotencyKey('a', 'bc', 'rt', ''),
      idempotencyKey('a', 'b', 'c', 'rt'),
      idempotencyKey('a', 'bc', 'r', 't2'),
    ]);
    expect(keys.size).toBe(5);
  });

  it('is safe in URLs and HTTP headers', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), fc.string(), fc.string(), (s, i, r, t) => {
        const key = idempotencyKey(s, i, r, t);
        expect(encodeURIComponent(key)).toBe(key);
      }),
    );
  });
});

describe('emittedEventId', () => {
  it('derives one id per emitted event, the same on every repeat', () => {
    const key = idempotencyKey('s', 'i', 'r', 't');
    expect(emittedEventId(key, 0)).toBe(`${key}.0`);
    expect(emittedEventId(key, 1)).not.toBe(emittedEventId(key, 0));
  });
});
