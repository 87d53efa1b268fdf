import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { CloudEvent } from '../event.js';
import { formatJsonPath, parseJsonPath, resolveJsonPath } from './json-path.js';
import {
  checkTransform,
  compileInterpolation,
  compileJsonInterpolation,
  compileTransform,
  type TransformResult,
} from './transform.js';

const event: CloudEvent = {
  specversion: '1.0',
  id: 'e-1',
  source: 'app/web',
  type: 'http.response',
  subject: 'web-1',
  data: {
    status: 503,
    path: '/checkout',
    note: 'said "no"\nthen left',
    host: { name: 'web-1', zone: 'a' },
    items: [{ sku: 'A1' }, { sku: 'B2' }],
    'odd key': 'odd',
    gone: null,
  },
};

function payload(r: TransformResult): unknown {
  if (!r.ok) throw new Error(`transform failed: ${r.error.message}`);
  return r.payload;
}

function failure(r: TransformResult): { code: string; message: string; details: unknown } {
  if (r.ok) throw new Error('expected a transform failure');
  return r.error;
}

describe('JSON paths', () => {
  it('parses the subset: $, dotted names, indexes and quoted keys', () => {
    expect(parseJsonPath('$')).toEqual([]);
    expect(parseJsonPath('$.data.host.name')).toEqual(['data', 'host', 'name']);
    expect(parseJsonPath('$.data.items[1].sku')).toEqual(['data', 'items', 1, 'sku']);
    expect(parseJsonPath("$.data['odd key']")).toEqual(['data', 'odd key']);
    expect(parseJsonPath('$["a.b"]["it\'s"]')).toEqual(['a.b', "it's"]);
    expect(parseJsonPath("$['q\\'t']")).toEqual(["q't"]);
    expect(parseJsonPath('$.data.my-field_2')).toEqual(['data', 'my-field_2']);
  });

  it('explains invalid paths with the position', () => {
    expect(parseJsonPath('data.status')).toMatch(/must start with '\$'/);
    expect(parseJsonPath('$.data.*')).toMatch(/wildcards are not supported/);
    expect(parseJsonPath('$.items[*]')).toMatch(/wildcards are not supported/);
    expect(parseJsonPath('$..a')).toMatch(/empty name at character 3/);
    expect(parseJsonPath('$.a[x]')).toMatch(/expected an index/);
    expect(parseJsonPath("$['open")).toMatch(/unterminated/);
    expect(parseJsonPath('$a')).toMatch(/unexpected 'a' at character 2/);
  });

  it('formats paths back to text that parses to the same segments', () => {
    const segment = fc.oneof(fc.string({ maxLength: 8 }), fc.nat(1000));
    fc.assert(
      fc.property(fc.array(segment, { maxLength: 5 }), (path) => {
        expect(parseJsonPath(formatJsonPath(path))).toEqual(path);
      }),
    );
  });

  it('resolves null as present and says where a missing path stops', () => {
    expect(resolveJsonPath(event, ['data', 'gone'])).toEqual({ found: true, value: null });
    expect(resolveJsonPath(event, ['data', 'nope', 'x'])).toMatchObject({ found: false, why: "$.data has no 'nope'" });
    expect(resolveJsonPath(event, ['data', 'items', 5])).toMatchObject({ why: '$.data.items has 2 elements, no [5]' });
    expect(resolveJsonPath(event, ['data', 'status', 'x'])).toMatchObject({
      why: '$.data.status is a number, not an object',
    });
    expect(resolveJsonPath(event, ['data', 0])).toMatchObject({ why: '$.data is an object, not an array' });
  });

  it('does not read inherited properties', () => {
    expect(resolveJsonPath({}, ['constructor']).found).toBe(false);
    expect(resolveJsonPath({}, ['__proto__']).found).toBe(false);
  });
});

describe('compileTransform', () => {
  it('passes the whole event when there is no transform', () => {
    expect(payload(compileTransform(undefined)(event))).toBe(event);
    expect(payload(compileTransform({})(event))).toBe(event);
  });

  it('selects part of the event with path', () => {
    expect(payload(compileTransform({ path: '$.data.host' })(event))).toEqual({ name: 'web-1', zone: 'a' });
    expect(payload(compileTransform({ path: '$' })(event))).toBe(event);
  });

  it('fails with E_TRANSFORM naming the path when path matches nothing', () => {
    const err = failure(compileTransform({ path: '$.data.missing' })(event));
    expect(err.code).toBe('E_TRANSFORM');
    expect(err.message).toContain("input.path $.data.missing matches nothing: $.data has no 'missing'");
  });

  it('inserts values outside quotes as JSON (strings quoted, numbers, objects)', () => {
    const t = compileTransform({
      paths: { status: '$.data.status', path: '$.data.path', host: '$.data.host', gone: '$.data.gone' },
      template: '{"code": <status>, "where": <path>, "host": <host>, "gone": <gone>}',
    });
    expect(payload(t(event))).toEqual({
      code: 503,
      where: '/checkout',
      host: { name: 'web-1', zone: 'a' },
      gone: null,
    });
  });

  it('inserts values inside quotes as escaped raw text, as EventBridge does', () => {
    const t = compileTransform({
      paths: { note: '$.data.note', status: '$.data.status', host: '$.data.host' },
      template: '{"text": "Got <status>: <note>", "raw": "<host>"}',
    });
    expect(payload(t(event))).toEqual({
      text: 'Got 503: said "no"\nthen left',
      raw: '{"name":"web-1","zone":"a"}',
    });
  });

  it('builds a JSON array template', () => {
    const t = compileTransform({
      paths: { a: '$.data.items[0].sku', b: "$.data['odd key']" },
      template: ' [<a>, <b>]',
    });
    expect(payload(t(event))).toEqual(['A1', 'odd']);
  });

  it('gives a plain string payload when the template is not JSON', () => {
    const t = compileTransform({
      paths: { status: '$.data.status', host: '$.data.host.name' },
      template: 'Instance <host> answered <status> for "<$.data.path>"',
    });
    expect(payload(t(event))).toBe('Instance web-1 answered 503 for "/checkout"');
  });

  it('supports <$event> for the whole event and inline <$.path> placeholders', () => {
    const t = compileTransform({ template: '{"event": <$event>, "subject": <$.subject>, "msg": "id <$.id>"}' });
    expect(payload(t(event))).toEqual({ event, subject: 'web-1', msg: 'id e-1' });
  });

  it('fails with E_TRANSFORM naming the placeholder and the missing path', () => {
    const t = compileTransform({ paths: { region: '$.data.host.region' }, template: '{"r": <region>}' });
    const err = failure(t(event));
    expect(err.code).toBe('E_TRANSFORM');
    expect(err.message).toContain("placeholder <region> reads $.data.host.region, but $.data.host has no 'region'");
    expect(err.message).toContain('input.paths.region');
    expect(err.details).toEqual({ placeholder: '<region>', path: '$.data.host.region' });
  });

  it('reports a template whose filled-in result is not JSON', () => {
    const t = compileTransform({ paths: { s: '$.data.status' }, template: '{<s>: 1}' });
    expect(failure(t(event)).message).toMatch(/the template's result is not valid JSON/);
  });

  it('leaves unused paths unresolved, so a missing unused field is no error', () => {
    const t = compileTransform({ paths: { s: '$.data.status', x: '$.data.nothing' }, template: '{"s": <s>}' });
    expect(payload(t(event))).toEqual({ s: 503 });
  });

  it('throws E_INVALID for an invalid spec', () => {
    expect(() => compileTransform({ template: '{"a": <nope>}' })).toThrow(/placeholder <nope> is not defined/);
  });
});

describe('checkTransform', () => {
  it('accepts the valid forms', () => {
    expect(checkTransform({})).toEqual([]);
    expect(checkTransform({ path: '$.data' })).toEqual([]);
    expect(checkTransform({ template: 'static text' })).toEqual([]);
    expect(checkTransform({ paths: { a: '$.x' }, template: '{"a": <a>, "b": "<a>!"}' })).toEqual([]);
  });

  it('names each problem with a pointer relative to the input object', () => {
    const problems = checkTransform({
      paths: { ok: '$.a', bad: 'data.x', 'two words': '$.b', n: 5 },
      template: '<ok>',
      extra: true,
    });
    expect(problems).toEqual(
      expect.arrayContaining([
        { pointer: '/extra', message: 'unknown field; allowed: path, paths, template' },
        { pointer: '/paths/bad', message: expect.stringContaining("must start with '$'") },
        { pointer: '/paths/two words', message: expect.stringContaining('is not a placeholder name') },
        { pointer: '/paths/n', message: expect.stringContaining('must be a JSON path string') },
      ]),
    );
  });

  it('rejects placeholders that are not defined in paths', () => {
    expect(checkTransform({ paths: { a: '$.a' }, template: '{"x": <b>}' })).toEqual([
      {
        pointer: '/template',
        message: expect.stringContaining('placeholder <b> is not defined; add it to input.paths'),
      },
    ]);
  });

  it('rejects a template that looks like JSON but is not', () => {
    const [p] = checkTransform({ paths: { a: '$.a' }, template: '{"x": <a>,}' });
    expect(p).toEqual({
      pointer: '/template',
      message: expect.stringContaining('starts like JSON but is not valid JSON'),
    });
  });

  it('rejects combining path with a template, and paths without a template', () => {
    expect(checkTransform({ path: '$.data', template: 'x' })).toEqual([
      { pointer: '/path', message: expect.stringContaining('cannot be combined') },
    ]);
    expect(checkTransform({ paths: { a: '$.a' } })).toEqual([
      { pointer: '/paths', message: expect.stringContaining('needs a template') },
    ]);
  });

  it('rejects non-objects, wrong types and invalid inline paths', () => {
    expect(checkTransform('x')[0]?.pointer).toBe('');
    expect(checkTransform({ path: 3 })).toEqual([{ pointer: '/path', message: expect.stringContaining('JSON path') }]);
    expect(checkTransform({ template: 7 })[0]?.pointer).toBe('/template');
    expect(checkTransform({ template: '<$.a[*]>' })[0]?.message).toMatch(
      /placeholder <\$\.a\[\*\]>: the path wildcards/,
    );
    expect(
      checkTransform({
        paths: Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`p${i}`, '$'])),
        template: '',
      }),
    ).toEqual([{ pointer: '/paths', message: 'has 101 entries; at most 100' }]);
  });
});

describe('compileInterpolation', () => {
  const root = { data: { host: 'web-1', port: 8080, tags: ['a'] } };

  it('keeps the JSON type when the text is exactly one placeholder', () => {
    const i = compileInterpolation('<$.data.port>') as Exclude<ReturnType<typeof compileInterpolation>, string>;
    expect(i.render(root)).toEqual({ ok: true, value: 8080 });
  });

  it('renders text with placeholders as a string, non-strings as JSON', () => {
    const i = compileInterpolation('--target=<$.data.host>:<$.data.port> <$.data.tags>');
    expect(typeof i).toBe('object');
    expect((i as Exclude<typeof i, string>).render(root)).toEqual({ ok: true, value: '--target=web-1:8080 ["a"]' });
  });

  it('leaves <text> that is not a $ path literal', () => {
    const i = compileInterpolation('<b>bold</b>') as Exclude<ReturnType<typeof compileInterpolation>, string>;
    expect(i.placeholders).toBe(0);
    expect(i.render(root)).toEqual({ ok: true, value: '<b>bold</b>' });
  });

  it('reports a missing field and an invalid path', () => {
    const i = compileInterpolation('<$.data.zone>') as Exclude<ReturnType<typeof compileInterpolation>, string>;
    expect(i.render(root)).toMatchObject({
      ok: false,
      error: { code: 'E_TRANSFORM', details: { placeholder: '<$.data.zone>' } },
    });
    expect(compileInterpolation('<$data>')).toMatch(/placeholder <\$data>: the path unexpected 'd'/);
  });
});

describe('compileJsonInterpolation', () => {
  it('resolves placeholders in strings at any depth and keeps other values', () => {
    const f = compileJsonInterpolation({ host: '<$.h>', list: ['x-<$.h>', 3, null], nested: { n: '<$.n>' } });
    expect(f({ h: 'web', n: [1] })).toEqual({
      ok: true,
      value: { host: 'web', list: ['x-web', 3, null], nested: { n: [1] } },
    });
  });

  it('throws E_INVALID pointing at the string with a bad placeholder', () => {
    try {
      compileJsonInterpolation({ a: ['ok', '<$.x[*]>'] }, '/data');
      expect.unreachable();
    } catch (err: any) {
      expect(err.code).toBe('E_INVALID');
      expect(err.problems[0].pointer).toBe('/data/a/1');
    }
  });
});
