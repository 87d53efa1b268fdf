import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Problem } from './errors.js';
import { checkBackwardCompatible, type JsonSchema, jsonEqual } from './schema-compat.js';

/** The problems as `[rule, pointer]` pairs, for compact assertions. */
function broken(previous: JsonSchema, next: JsonSchema): [string, string][] {
  return checkBackwardCompatible(previous, next, { previousVersion: 3 }).map(rulePointer);
}

function rulePointer(p: Problem): [string, string] {
  const rule = /^rule ([a-z-]+): /.exec(p.message)?.[1] ?? `no rule in: ${p.message}`;
  return [rule, p.pointer];
}

const order = {
  type: 'object',
  properties: { id: { type: 'string' }, amount: { type: 'number' } },
  required: ['id'],
};

describe('checkBackwardCompatible', () => {
  it('accepts an identical schema', () => {
    expect(broken(order, structuredClone(order))).toEqual([]);
  });

  it('accepts a new optional property', () => {
    const next = { ...order, properties: { ...order.properties, note: { type: 'string' } } };
    expect(broken(order, next)).toEqual([]);
  });

  it('accepts dropping a required property', () => {
    expect(broken(order, { ...order, required: [] })).toEqual([]);
  });

  describe('no-new-required', () => {
    it('rejects a property required in the new version only', () => {
      const problems = checkBackwardCompatible(order, { ...order, required: ['id', 'amount'] }, { previousVersion: 3 });
      expect(problems).toEqual([
        {
          pointer: '/required/1',
          message: "rule no-new-required: property 'amount' is required in the new version but not in version 3",
        },
      ]);
    });

    it('rejects a new required property that is not declared at all', () => {
      expect(broken(order, { ...order, required: ['ghost', 'id'] })).toEqual([['no-new-required', '/required/0']]);
    });

    it('names "the previous version" when no version number is given', () => {
      const [p] = checkBackwardCompatible({}, { required: ['a'] });
      expect(p?.message).toContain('but not in the previous version');
    });

    it('rejects a new required property inside a nested object', () => {
      const prev = { type: 'object', properties: { customer: { type: 'object', properties: { id: {} } } } };
      const next = {
        type: 'object',
        properties: { customer: { type: 'object', properties: { id: {} }, required: ['id'] } },
      };
      expect(broken(prev, next)).toEqual([['no-new-required', '/properties/customer/required/0']]);
    });
  });

  describe('no-removed-property', () => {
    it('rejects a property removed from properties', () => {
      const next = { ...order, properties: { id: { type: 'string' } } };
      const problems = checkBackwardCompatible(order, next, { previousVersion: 3 });
      expect(problems).toEqual([
        {
          pointer: '/properties/amount',
          message: "rule no-removed-property: property 'amount' declared in version 3 is missing from the new version",
        },
      ]);
    });

    it('rejects every property when properties disappears', () => {
      expect(broken(order, { type: 'object' })).toEqual([
        ['no-removed-property', '/properties/id'],
        ['no-removed-property', '/properties/amount'],
      ]);
    });

    it('escapes property names in pointers', () => {
      expect(broken({ properties: { 'a/b~c': {} } }, { properties: {} })).toEqual([
        ['no-removed-property', '/properties/a~1b~0c'],
      ]);
    });

    it('rejects a property removed from object items of an array', () => {
      const prev = { type: 'array', items: { type: 'object', properties: { sku: { type: 'string' } } } };
      const next = { type: 'array', items: { type: 'object', properties: {} } };
      expect(broken(prev, next)).toEqual([['no-removed-property', '/items/properties/sku']]);
    });
  });

  describe('no-narrowed-type', () => {
    it('rejects number narrowed to integer', () => {
      const next = { ...order, properties: { ...order.properties, amount: { type: 'integer' } } };
      const [p, ...rest] = checkBackwardCompatible(order, next, { previousVersion: 3 });
      expect(rest).toEqual([]);
      expect(p?.pointer).toBe('/properties/amount/type');
      expect(p?.message).toMatch(/^rule no-narrowed-type: type 'integer' no longer accepts 'number'/);
    });

    it('accepts integer widened to number', () => {
      expect(broken({ type: 'integer' }, { type: 'number' })).toEqual([]);
    });

    it('accepts a type widened to a list of types', () => {
      expect(broken({ type: 'string' }, { type: ['string', 'null'] })).toEqual([]);
    });

    it('rejects a type removed from a list of types', () => {
      expect(broken({ type: ['string', 'null'] }, { type: 'string' })).toEqual([['no-narrowed-type', '/type']]);
    });

    it('rejects a changed type', () => {
      expect(broken({ type: 'string' }, { type: 'number' })).toEqual([['no-narrowed-type', '/type']]);
    });

    it('rejects a type added where there was none (any)', () => {
      expect(broken({}, { type: 'object' })).toEqual([['no-narrowed-type', '/type']]);
    });

    it('accepts removing the type keyword', () => {
      expect(broken({ type: 'string' }, {})).toEqual([]);
    });

    it('rejects values removed from an enum', () => {
      const [p] = checkBackwardCompatible({ enum: ['a', 'b', 'c'] }, { enum: ['a', 'c'] }, { previousVersion: 3 });
      expect(p).toEqual({
        pointer: '/enum',
        message: 'rule no-narrowed-type: value(s) "b" allowed in version 3 are no longer allowed',
      });
    });

    it('accepts values added to an enum', () => {
      expect(broken({ enum: ['a'] }, { enum: ['a', 'b'] })).toEqual([]);
    });

    it('compares enum values structurally', () => {
      expect(broken({ enum: [{ x: 1, y: 2 }] }, { enum: [{ y: 2, x: 1 }] })).toEqual([]);
    });

    it('rejects an enum added where any value was allowed', () => {
      expect(broken({ type: 'string' }, { type: 'string', enum: ['a'] })).toEqual([['no-narrowed-type', '/enum']]);
    });

    it('treats const as a one-value enum', () => {
      expect(broken({ enum: ['a', 'b'] }, { const: 'a' })).toEqual([['no-narrowed-type', '/const']]);
      expect(broken({ const: 'a' }, { enum: ['a', 'b'] })).toEqual([]);
    });

    it('accepts dropping an enum', () => {
      expect(broken({ enum: ['a'] }, {})).toEqual([]);
    });

    it('rejects additionalProperties going from allowed to false', () => {
      expect(broken(order, { ...order, additionalProperties: false })).toEqual([
        ['no-narrowed-type', '/additionalProperties'],
      ]);
      expect(broken({ additionalProperties: { type: 'string' } }, { additionalProperties: false })).toEqual([
        ['no-narrowed-type', '/additionalProperties'],
      ]);
    });

    it('accepts additionalProperties going from false to allowed', () => {
      expect(broken({ additionalProperties: false }, { additionalProperties: true })).toEqual([]);
      expect(broken({ additionalProperties: false }, { additionalProperties: false })).toEqual([]);
    });

    it('rejects a narrowed type deep inside nested objects', () => {
      const prev = { properties: { a: { properties: { b: { properties: { c: { type: 'number' } } } } } } };
      const next = { properties: { a: { properties: { b: { properties: { c: { type: 'string' } } } } } } };
      expect(broken(prev, next)).toEqual([['no-narrowed-type', '/properties/a/properties/b/properties/c/type']]);
    });

    it('rejects narrowed array items', () => {
      expect(
        broken({ type: 'array', items: { type: 'number' } }, { type: 'array', items: { type: 'integer' } }),
      ).toEqual([['no-narrowed-type', '/items/type']]);
    });

    it('rejects items added where any item was allowed', () => {
      expect(broken({ type: 'array' }, { type: 'array', items: { type: 'string' } })).toEqual([
        ['no-narrowed-type', '/items/type'],
      ]);
    });

    it('rejects a property schema that becomes false', () => {
      expect(broken({ properties: { a: {} } }, { properties: { a: false } })).toEqual([
        ['no-narrowed-type', '/properties/a'],
      ]);
    });

    it('accepts a property schema that becomes true', () => {
      expect(broken({ properties: { a: { type: 'string' } } }, { properties: { a: true } })).toEqual([]);
    });
  });

  it('reports every broken rule at once, in schema order', () => {
    const next = {
      type: 'object',
      properties: { id: { type: 'integer' } },
      required: ['id', 'amount'],
      additionalProperties: false,
    };
    expect(broken(order, next)).toEqual([
      ['no-narrowed-type', '/additionalProperties'],
      ['no-new-required', '/required/1'],
      ['no-narrowed-type', '/properties/id/type'],
      ['no-removed-property', '/properties/amount'],
    ]);
  });

  it('accepts anything after a schema that accepted nothing', () => {
    expect(broken(false, { type: 'string' })).toEqual([]);
  });

  it('finds no problem between any schema and itself', () => {
    const schema = fc.letrec((tie) => ({
      node: fc.record(
        {
          type: fc.constantFrom('string', 'number', 'integer', 'object', 'array'),
          enum: fc.array(fc.jsonValue(), { maxLength: 3 }),
          required: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
          properties: fc.dictionary(fc.string({ maxLength: 3 }), tie('node'), { maxKeys: 3 }),
          items: tie('node'),
          additionalProperties: fc.boolean(),
        },
        { requiredKeys: [] },
      ),
    })).node;
    fc.assert(
      fc.property(schema, (s) => {
        expect(checkBackwardCompatible(s as JsonSchema, structuredClone(s) as JsonSchema)).toEqual([]);
      }),
    );
  });
});

describe('jsonEqual', () => {
  it('ignores object key order', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: null }] }, { b: [1, { c: null }], a: 1 })).toBe(true);
  });

  it('tells arrays, objects and scalars apart', () => {
    expect(jsonEqual([], {})).toBe(false);
    expect(jsonEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});
