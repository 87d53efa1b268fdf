import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { scanJson } from './json-scan.js';

function slices(text: string): string[] {
  const buf = Buffer.from(text);
  const r = scanJson(buf, 64);
  const out: string[] = [];
  for (let i = 0; i < (r.elements?.length ?? 0); i += 2)
    out.push(buf.toString('utf8', r.elements![i], r.elements![i + 1]));
  return out;
}

describe('scanJson', () => {
  it('splits a top-level array into its elements, whitespace trimmed', () => {
    expect(slices('[{"a":1}, {"b":[1,2,{"c":"]"}]} ,\n 3 , "x,y" ,null]')).toEqual([
      '{"a":1}',
      '{"b":[1,2,{"c":"]"}]}',
      '3',
      '"x,y"',
      'null',
    ]);
    expect(slices('  [ ]  ')).toEqual([]);
  });

  it('handles escaped quotes and multi-byte characters inside strings', () => {
    expect(slices('[{"s":"a\\"],b"},{"é":"日本"}]')).toEqual(['{"s":"a\\"],b"}', '{"é":"日本"}']);
  });

  it('reports byte ranges, so sizes are exact in UTF-8', () => {
    const buf = Buffer.from('[{"é":1}]');
    const r = scanJson(buf, 64);
    expect(r.elements![1]! - r.elements![0]!).toBe(Buffer.byteLength('{"é":1}'));
  });

  it('leaves malformed layouts to JSON.parse: empty elements show up as empty ranges', () => {
    expect(slices('[1,]')).toEqual(['1', '']);
    expect(slices('[,1]')).toEqual(['', '1']);
  });

  it('says whether a top-level array closes exactly at the end', () => {
    expect(scanJson(Buffer.from(' [1,2] \n'), 64).closed).toBe(true);
    for (const bad of ['[1,2] x', '[1,2', '[1,{"a":2]', '[1,2]]', '[1,2] [3]']) {
      expect(scanJson(Buffer.from(bad), 64).closed).toBe(false);
    }
  });

  it('detects nesting deeper than the limit, ignoring brackets inside strings', () => {
    expect(scanJson(Buffer.from('[[[1]]]'), 3).tooDeep).toBe(false);
    expect(scanJson(Buffer.from('[[[[1]]]]'), 3).tooDeep).toBe(true);
    expect(scanJson(Buffer.from('{"a":"[[[[[[["}'), 2).tooDeep).toBe(false);
  });

  it('gives the trimmed range of a single value and no elements', () => {
    const r = scanJson(Buffer.from('  {"a":1}\n'), 64);
    expect(r).toMatchObject({ tooDeep: false, start: 2, end: 9 });
    expect(r.elements).toBeUndefined();
  });

  it('splits any JSON array into elements that parse back to the originals', () => {
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 4 })), fc.constantFrom(0, 2), (values, indent) => {
        const buf = Buffer.from(JSON.stringify(values, null, indent));
        const r = scanJson(buf, 64);
        expect(r.closed).toBe(true);
        const parsed: unknown[] = [];
        for (let i = 0; i < r.elements!.length; i += 2) {
          parsed.push(JSON.parse(buf.toString('utf8', r.elements![i], r.elements![i + 1])));
        }
        expect(parsed).toEqual(JSON.parse(buf.toString()));
      }),
      { numRuns: 500 },
    );
  });

  it('never reports an array followed by anything but whitespace as closed', () => {
    const tail = fc.string({ minLength: 1, maxLength: 5 }).filter((t) => t.trim().length > 0);
    fc.assert(
      fc.property(fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }), tail, (values, t) => {
        expect(scanJson(Buffer.from(JSON.stringify(values) + t), 64).closed).toBe(false);
      }),
      { numRuns: 500 },
    );
  });
});
