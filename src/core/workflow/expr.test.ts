import { describe, expect, it } from 'vitest';
import { compileExpression, type Expression } from './expr.js';
import { compileTemplate } from './template.js';

const scope = { variables: ['input', 'event', 'steps'], fields: { steps: ['check', 'my-step'] } };

function compile(source: string): Expression {
  const e = compileExpression(source, scope);
  if (Array.isArray(e)) throw new Error(e.join('; '));
  return e;
}

describe('CEL expressions over JSON', () => {
  it('treats JSON integers as int and fractions as double, so arithmetic and comparisons work', () => {
    expect(compile('input.count + 1').evaluate({ input: { count: 2 } })).toEqual({ ok: true, value: 3 });
    expect(compile('input.ratio * 2.0').evaluate({ input: { ratio: 0.25 } })).toEqual({ ok: true, value: 0.5 });
    expect(
      compile('steps.check.output.status == 200').evaluate({ steps: { check: { output: { status: 200 } } } }),
    ).toEqual({
      ok: true,
      value: true,
    });
  });

  it('returns maps and lists as JSON, timestamps as RFC 3339 strings', () => {
    const e = compile('{"name": input.name, "tags": [1, "a", true, null], "at": timestamp("2026-01-02T03:04:05Z")}');
    expect(e.evaluate({ input: { name: 'web' } })).toEqual({
      ok: true,
      value: { name: 'web', tags: [1, 'a', true, null], at: '2026-01-02T03:04:05.000Z' },
    });
  });

  it('reports a syntax error with its line and column', () => {
    expect(compileExpression('input.a +', scope)).toEqual([
      expect.stringMatching(/^syntax error at line 1, column \d+/),
    ]);
  });

  it('reports unknown variables with the known ones, and unknown step names', () => {
    expect(compileExpression('inptu.a == 1', scope)).toEqual([
      "line 1, column 1: unknown variable 'inptu'; the variables are input, event, steps",
    ]);
    expect(compileExpression('steps.chek.status == "succeeded"', scope)).toEqual([
      expect.stringContaining("'steps.chek': no such name; known: check, my-step"),
    ]);
  });

  it('does not count macro variables as unknown', () => {
    expect(compile('input.xs.all(x, x > 0)').evaluate({ input: { xs: [1, 2] } })).toEqual({ ok: true, value: true });
  });

  it('reports a run-time failure as a message, never a throw', () => {
    const r = compile('input.missing.field == 1').evaluate({ input: {} });
    expect(r.ok).toBe(false);
    expect(compile('input.a + "x"').evaluate({ input: { a: 1 } })).toMatchObject({ ok: false });
  });
});

describe('${...} templates', () => {
  function render(value: unknown, bindings: Record<string, unknown>): unknown {
    const { template, problems } = compileTemplate(value, '/with', scope);
    if (!template) throw new Error(JSON.stringify(problems));
    const r = template.render(bindings);
    if (!r.ok) throw new Error(r.message);
    return r.value;
  }

  it('keeps the type of a whole-string expression and interpolates text otherwise', () => {
    const value = { n: '${ input.n }', text: 'n is ${ input.n }, obj ${ {"a": 1} }', list: ['${input.n + 1}'], k: 7 };
    expect(render(value, { input: { n: 4 } })).toEqual({ n: 4, text: 'n is 4, obj {"a":1}', list: [5], k: 7 });
  });

  it('skips braces inside CEL strings and writes $${ as a literal ${', () => {
    expect(render('x ${ "}" + input.s } $${literal}', { input: { s: '!' } })).toEqual('x }! ${literal}');
  });

  it('is static when it holds no expression', () => {
    const { template } = compileTemplate({ a: ['b'] }, '', scope);
    expect(template?.dynamic).toBe(false);
    expect(template?.render({})).toEqual({ ok: true, value: { a: ['b'] } });
  });

  it('reports bad expressions at the pointer of their string', () => {
    const { template, problems } = compileTemplate(
      { body: { text: 'hi ${ input. }', ok: '${ nope }' } },
      '/spec/steps/0/with',
      scope,
    );
    expect(template).toBeUndefined();
    expect(problems).toEqual([
      {
        pointer: '/spec/steps/0/with/body/text',
        message: expect.stringMatching(/^in \$\{\.\.\.\} at column 4: syntax error/),
      },
      { pointer: '/spec/steps/0/with/body/ok', message: expect.stringContaining("unknown variable 'nope'") },
    ]);
    expect(compileTemplate('${ input.a', '/x', scope).problems[0]?.message).toMatch(/not closed/);
  });

  it('reports where a render failed', () => {
    const { template } = compileTemplate({ a: [{ b: '${ input.x.y }' }] }, '', scope);
    const r = template!.render({ input: {} });
    expect(r).toMatchObject({ ok: false, pointer: '/a/0/b' });
  });
});
