import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { headerValue, parseRetryAfter, signatureHeader } from './headers.js';

const now = Date.UTC(2026, 0, 1, 12);

describe('parseRetryAfter', () => {
  it('reads delay seconds', () => {
    expect(parseRetryAfter('0', now)).toBe(0);
    expect(parseRetryAfter(' 30 ', now)).toBe(30_000);
    expect(parseRetryAfter(['5', '9'], now)).toBe(5_000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfter(new Date(now + 90_000).toUTCString(), now)).toBe(90_000);
    expect(parseRetryAfter(new Date(now - 90_000).toUTCString(), now)).toBe(0);
  });

  it('caps the wait at one hour', () => {
    expect(parseRetryAfter('999999', now)).toBe(3_600_000);
  });

  it('ignores missing and unreadable values', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('signatureHeader', () => {
  it('is t=<ms>,v1=<HMAC-SHA256 hex of "<t>.<body>">', () => {
    const mac = createHmac('sha256', 'k').update('1700000000000.{"a":1}').digest('hex');
    expect(signatureHeader('k', 1_700_000_000_000, '{"a":1}')).toBe(`t=1700000000000,v1=${mac}`);
  });
});

describe('headerValue', () => {
  it('keeps printable ASCII and percent-encodes the rest', () => {
    expect(headerValue('app/web-1')).toBe('app/web-1');
    expect(headerValue('café/☕')).toBe('caf%C3%A9/%E2%98%95');
  });
});
