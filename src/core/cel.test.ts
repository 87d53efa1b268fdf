import { describe, expect, it } from 'vitest';
import { CEL_MAX_DEPTH, CEL_MAX_LENGTH, compileCel, evaluateCel, evaluateCelBoolean } from './cel.js';
import { ErrorCode, HomeostatError } from './errors.js';

const P = '/spec/violation';
const rule = {
  kind: 'SecurityRule',
  name: 'ssh',
  spec: { loadBalancer: 'web-lb', allow: ['0.0.0.0/0'], port: 22 },
  tags: { team: 'web' },
  pricePerHour: 0.5,
};

function run(expr: string, bindings: Record<string, unknown> = { resource: rule }): unknown {
  return evaluateCel(compileCel(expr, P), bindings);
}

function compileError(expr: string, options = {}): HomeostatError {
  try {
    compileCel(expr, P, options);
  } catch (err) {
    return err as HomeostatError;
  }
  throw new Error(`compiled: ${expr}`);
}

function evalError(expr: string, bindings: Record<string, unknown> = { resource: rule }): HomeostatError {
  try {
    run(expr, bindings);
  } catch (err) {
    return err as HomeostatError;
  }
  throw new Error(`evaluated: ${expr}`);
}

describe('evaluateCel', () => {
  it.each([
    ["resource.spec.port in [22, 3389] && resource.spec.allow.exists(c, c == '0.0.0.0/0' || c == '::/0')", true],
    ["resource.spec.port in [80, 443] && resource.spec.allow.exists(c, c == '0.0.0.0/0')", false],
    ["!('owner' in resource.tags)", true],
    ['!has(resource.tags.owner)', true],
    ["has(resource.tags.team) && resource.tags.team == 'web'", true],
    ['has(resource.spec.port)', true],
    ['has(resource.spec.nope)', false],
    ['resource.spec.port == 22', true],
    ['resource.spec.port == 22.0', true],
    ['resource.pricePerHour < 1', true],
    ['resource.pricePerHour > 0.25', true],
    ['size(resource.spec.allow) == 1', true],
    ["resource.spec.allow.all(c, c.startsWith('10.'))", false],
    ["resource.spec.allow.exists_one(c, c.endsWith('/0'))", true],
    ["resource.name.matches('^s+h$')", true],
    ["resource.kind.lowerAscii() == 'securityrule'", true],
    ["'web' in resource.tags.map(k, resource.tags[k])", true],
    ["resource.spec.allow.filter(c, c != '0.0.0.0/0').size() == 0", true],
  ])('%s is %s', (expr, expected) => {
    expect(run(expr)).toBe(expected);
  });

  it('returns numbers, strings, lists and maps as plain JSON', () => {
    expect(run('resource.spec.port + 1')).toBe(23);
    expect(run('resource.pricePerHour * 2.0')).toBe(1);
    expect(run('resource.spec.allow')).toEqual(['0.0.0.0/0']);
    expect(run("{'a': [1, 2.5, true, null], 'b': {'c': 'd'}}")).toEqual({ a: [1, 2.5, true, null], b: { c: 'd' } });
    expect(run('resource.tags')).toEqual({ team: 'web' });
    expect(run('[1, 2].map(x, x * 2)')).toEqual([2, 4]);
    expect(run('{1: "one"}')).toEqual({ 1: 'one' });
  });

  it('returns uint, bytes, timestamps, durations and types in their JSON forms', () => {
    expect(run('7u')).toBe(7);
    expect(run("b'hi'")).toBe('aGk=');
    expect(run("timestamp('2026-01-01T00:00:01.5Z')")).toBe('2026-01-01T00:00:01.500Z');
    expect(run("duration('1m30s')")).toBe('90s');
    expect(run('type(1)')).toBe('int');
    expect(run('9223372036854775807')).toBe('9223372036854775807');
    expect(run('1.0 / 0.0')).toBeNull();
  });

  it('takes integral JSON numbers as int and others as double', () => {
    expect(run('type(resource.spec.port) == int')).toBe(true);
    expect(run('type(resource.pricePerHour) == double')).toBe(true);
    expect(run('x + 1', { x: 41 })).toBe(42);
  });

  it('ignores undefined members and turns undefined list items into null', () => {
    expect(run('has(x.a)', { x: { a: undefined } })).toBe(false);
    expect(run('x', { x: [1, undefined] })).toEqual([1, null]);
  });

  it('binds any number of variables and uses only the referenced ones', () => {
    const program = compileCel('a.n + b', P);
    expect([...program.references].sort()).toEqual(['a', 'b']);
    expect(evaluateCel(program, { a: { n: 1 }, b: 2, unused: () => 0 })).toBe(3);
    expect(compileCel("resource.spec.allow.exists(c, c == 'x')", P).references).toEqual(new Set(['resource']));
  });

  it('reports a missing map key with its column and how to test for it', () => {
    const err = evalError("resource.tags.owner == 'me'");
    expect(err.code).toBe(ErrorCode.INVALID);
    expect(err.problems).toEqual([{ pointer: P, message: expect.stringContaining('field not found: owner') }]);
    expect(err.message).toContain('column 14');
    expect(err.message).toContain('has(x.field)');
  });

  it('reports mismatched types with a conversion hint', () => {
    const err = evalError("resource.spec.port > 'a'");
    expect(err.message).toMatch(/no matching overload.*int\(\), double\(\) or string\(\)/);
    expect(evalError('resource.spec.port + 0.5').message).toContain("'_+_'");
  });

  it('reports division by zero, bad indexes and bad regexes', () => {
    expect(evalError('1 / (resource.spec.port - 22)').message).toContain('divide by zero');
    expect(evalError('resource.spec.allow[3]').message).toContain('out of bounds');
    expect(evalError("resource.name.matches('[')").message).toContain('missing closing ]');
  });

  it('reports a variable without a value', () => {
    const err = evalError('resource.name', { other: 1 });
    expect(err.message).toContain("no value for variable 'resource'");
  });

  it('matches in linear time (RE2): a pathological pattern returns at once', () => {
    const subject = `${'a'.repeat(5000)}b`;
    expect(run("x.matches('^(a+)+$')", { x: subject })).toBe(false);
  });
});

describe('evaluateCelBoolean', () => {
  it('returns a boolean result', () => {
    expect(evaluateCelBoolean(compileCel('resource.spec.port == 22', P), { resource: rule })).toBe(true);
  });

  it('refuses a result that is not a boolean', () => {
    expect(() => evaluateCelBoolean(compileCel('resource.spec.port', P), { resource: rule })).toThrow(
      /must evaluate to true or false, not 22/,
    );
  });
});

describe('compileCel', () => {
  it('reports a syntax error at the pointer with its position', () => {
    const err = compileError('resource.spec.port == ');
    expect(err).toBeInstanceOf(HomeostatError);
    expect(err.code).toBe(ErrorCode.INVALID);
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.pointer).toBe(P);
    expect(err.problems[0]!.message).toMatch(/^syntax error at line 1, column \d+/);
    expect(err.message.startsWith(`${P}: syntax error`)).toBe(true);
  });

  it('names an unclosed bracket', () => {
    const err = compileError('resource.spec.port in [22, 3389');
    expect(err.message).toContain("'[' at line 1, column 23 is never closed");
  });

  it('names a bracket that closes nothing', () => {
    expect(compileError('(a))').message).toContain("')' at line 1, column 4 closes nothing");
  });

  it('ignores brackets inside string literals', () => {
    expect(run("'(' + \"]\" + '''}''' + r'\\('", {})).toBe('(]}\\(');
  });

  it('gives the line of an error in a multi-line expression', () => {
    expect(compileError('a &&\n  b ==').message).toContain('line 2');
  });

  it('reports an unterminated string', () => {
    const err = compileError("resource.name == 'abc");
    expect(err.problems[0]!.message).toMatch(/^syntax error at line 1, column \d+/);
    expect(err.message).toContain('the string opened at line 1, column 18 is never closed');
  });

  it('reports an operator without an operand', () => {
    const err = compileError('resource.spec.port == ');
    expect(err.message).toContain("cannot parse from '==' on; the expression ends with '=='");
    expect(compileError('a ++ b').message).toContain("cannot parse from '++ b' on");
  });

  it('reports an unknown function', () => {
    const err = compileError('lenght(resource.spec.allow) > 0');
    expect(err.message).toContain("unknown function 'lenght'");
    expect(compileError('resource.name.shout()').message).toContain("unknown function 'shout'");
  });

  it('reports an unknown variable with a hint when variables are declared', () => {
    const err = compileError('resorce.spec.port == 22', { variables: ['resource', 'now'] });
    expect(err.problems[0]).toEqual({
      pointer: P,
      message: "line 1, column 1: unknown variable 'resorce'; did you mean 'resource'? the variables are resource, now",
    });
  });

  it('allows comprehension variables and type names alongside declared variables', () => {
    const options = { variables: ['resource'] };
    expect(() => compileCel('resource.spec.allow.exists(c, c == "x")', P, options)).not.toThrow();
    expect(() => compileCel('[1].all(x, [2].exists(y, x < y))', P, options)).not.toThrow();
    expect(() => compileCel('type(resource) == map', P, options)).not.toThrow();
    expect(compileError('resource.spec.allow.exists(c, c == d)', options).message).toContain("unknown variable 'd'");
    expect(compileError('[1].exists(c, true) && c == 1', options).message).toContain("unknown variable 'c'");
  });

  it('refuses empty, too long and too deeply nested expressions', () => {
    expect(compileError('  ').message).toContain('must be a non-empty CEL expression');
    expect(compileError('1 + '.repeat(CEL_MAX_LENGTH) + '1').message).toContain(`the limit is ${CEL_MAX_LENGTH}`);
    const deep = `${'('.repeat(CEL_MAX_DEPTH + 1)}1${')'.repeat(CEL_MAX_DEPTH + 1)}`;
    expect(compileError(deep).message).toContain(`nests brackets ${CEL_MAX_DEPTH + 1} deep`);
    const ok = `${'('.repeat(CEL_MAX_DEPTH)}1${')'.repeat(CEL_MAX_DEPTH)}`;
    expect(run(ok, {})).toBe(1);
  });

  it('compiles once and evaluates many times with different bindings', () => {
    const program = compileCel('x > 1', P);
    expect([0, 1, 2, 3].map((x) => evaluateCel(program, { x }))).toEqual([false, false, true, true]);
  });

  it('refuses a program object it did not compile', () => {
    expect(() => evaluateCel({ source: '1', pointer: P, references: new Set() }, {})).toThrow(/not a program/);
  });
});
