import { describe, expect, it } from 'vitest';
import { hashKey, isRfc3339, partitionKeyOf, partitionOf, validateCloudEvent } from './event.js';

const base = { specversion: '1.0', id: '1', source: '/s', type: 't' };

describe('validateCloudEvent', () => {
  it('accepts a minimal event and one with every optional attribute', () => {
    expect(validateCloudEvent(base)).toEqual([]);
    expect(
      validateCloudEvent({
        ...base,
        time: '2026-11-24T10:00:00.123456+01:00',
        subject: 'x',
        datacontenttype: 'application/json; charset=utf-8',
        dataschema: 'https://example.com/s.json',
        data: { a: [1, 2] },
        partitionkey: 'k',
        causationid: 'c',
        correlationid: 'r',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        myext: 'v',
        count: 3,
        flag: false,
      }),
    ).toEqual([]);
  });

  it('names every missing required attribute', () => {
    const problems = validateCloudEvent({});
    expect(problems.map((p) => p.pointer)).toEqual(['/specversion', '/id', '/source', '/type']);
    expect(problems[1]!.message).toMatch(/required attribute 'id' is missing/);
  });

  it('prefixes pointers with the batch position', () => {
    expect(validateCloudEvent({ ...base, id: 5 }, '/7')[0]!.pointer).toBe('/7/id');
  });

  it.each([
    ['specversion 0.3', { specversion: '0.3' }, '/specversion'],
    ['numeric id', { id: 1 }, '/id'],
    ['source with a space', { source: 'a b' }, '/source'],
    ['time without zone', { time: '2026-11-24T10:00:00' }, '/time'],
    ['time on Feb 30', { time: '2026-02-30T10:00:00Z' }, '/time'],
    ['hour 24', { time: '2026-11-24T24:00:00Z' }, '/time'],
    ['relative dataschema', { dataschema: '/schemas/x' }, '/dataschema'],
    ['media type without subtype', { datacontenttype: 'json' }, '/datacontenttype'],
    ['empty subject', { subject: '' }, '/subject'],
    ['upper-case extension', { MyExt: 'x' }, '/MyExt'],
    ['21-character extension', { abcdefghijklmnopqrstu: 'x' }, '/abcdefghijklmnopqrstu'],
    ['extension with underscore', { my_ext: 'x' }, '/my_ext'],
    ['null extension', { ext: null }, '/ext'],
    ['array extension', { ext: [1] }, '/ext'],
    ['non-integer extension', { ext: 1.5 }, '/ext'],
    ['integer extension beyond 32 bits', { ext: 2 ** 40 }, '/ext'],
    ['bad traceparent', { traceparent: 'nope' }, '/traceparent'],
    ['empty partitionkey', { partitionkey: '' }, '/partitionkey'],
    ['data and data_base64', { data: 1, data_base64: 'AA==' }, '/data_base64'],
    ['data_base64 not base64', { data_base64: '***' }, '/data_base64'],
    ['control character in id', { id: 'a\u0001b' }, '/id'],
    ['C1 control character in type', { type: 'a\u0085' }, '/type'],
    ['newline in subject', { subject: 'a\nb' }, '/subject'],
    ['control character in an extension', { myext: 'x\u007f' }, '/myext'],
  ])('rejects %s', (_name, patch, pointer) => {
    expect(validateCloudEvent({ ...base, ...patch }).map((p) => p.pointer)).toContain(pointer);
  });

  it('escapes odd extension names in the pointer', () => {
    expect(validateCloudEvent({ ...base, 'a/b~c': 1 })[0]!.pointer).toBe('/a~1b~0c');
  });

  it('rejects non-objects', () => {
    expect(validateCloudEvent([base])[0]!.message).toMatch(/JSON object/);
    expect(validateCloudEvent(null, '/2')[0]!.pointer).toBe('/2');
  });
});

describe('isRfc3339', () => {
  it('accepts leap days and leap seconds, rejects impossible dates', () => {
    expect(isRfc3339('2024-02-29T00:00:00Z')).toBe(true);
    expect(isRfc3339('2016-12-31T23:59:60Z')).toBe(true);
    expect(isRfc3339('2023-02-29T00:00:00Z')).toBe(false);
    expect(isRfc3339('2026-13-01T00:00:00Z')).toBe(false);
    expect(isRfc3339('2026-11-24 10:00:00Z')).toBe(false);
    expect(isRfc3339('2026-11-24T10:00:00+25:00')).toBe(false);
  });
});

describe('partitions', () => {
  it('keys by partitionkey, else subject, else source', () => {
    expect(partitionKeyOf({ ...base, partitionkey: 'p', subject: 's' } as never)).toBe('p');
    expect(partitionKeyOf({ ...base, subject: 's' } as never)).toBe('s');
    expect(partitionKeyOf(base as never)).toBe('/s');
  });

  it('hashes stably (FNV-1a) and spreads keys over partitions', () => {
    expect(hashKey('')).toBe(0x811c9dc5);
    expect(hashKey('a')).toBe(0xe40c292c);
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[partitionOf(`group/web-${i}`, 16)]++;
    for (const c of counts) expect(c).toBeGreaterThan(700);
  });
});
