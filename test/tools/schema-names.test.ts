import { describe, expect, it } from 'vitest';
import { FunctionNames, sanitizeFunctionName } from '../../src/tools/names.js';
import { cleanParametersSchema } from '../../src/tools/schema-clean.js';

describe('function names', () => {
  it('sanitises to ^[a-zA-Z0-9_-]{1,64}$', () => {
    expect(sanitizeFunctionName('orders.get/status')).toBe('orders_get_status');
    expect(sanitizeFunctionName('...')).toBe('tool');
    const long = sanitizeFunctionName(`genesys_data_action_${'custom_-_9e9b11f4-aaaa-bbbb-cccc-d24f3815e818'.repeat(2)}`);
    expect(long).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    expect(long.length).toBe(64);
  });

  it('keeps names unique and within 64 characters', () => {
    const names = new FunctionNames(['end_call']);
    const base = 'x'.repeat(64);
    expect(names.claim(base)).toBe(base);
    const second = names.claim(base);
    expect(second).toMatch(/_2$/);
    expect(second.length).toBe(64);
    expect(names.claim('end_call')).toBe('end_call_2');
    expect(names.claim('a.b')).toBe('a_b');
    expect(names.claim('a/b')).toBe('a_b_2');
  });
});

describe('parameter schemas for Realtime', () => {
  it('drops $schema, title and unknown keywords; forces an object with properties', () => {
    expect(cleanParametersSchema({ $schema: 'http://json-schema.org/draft-07/schema#', title: 'In', type: 'object' })).toEqual({
      type: 'object',
      properties: {},
    });
    expect(cleanParametersSchema(undefined)).toEqual({ type: 'object', properties: {} });
  });

  it('adds items to arrays and properties to nested objects, and inlines $ref', () => {
    const cleaned = cleanParametersSchema({
      type: 'object',
      $defs: { Addr: { type: 'object', properties: { city: { type: 'string', format: 'x', pattern: '^a' } } } },
      properties: {
        tags: { type: 'array' },
        addr: { $ref: '#/$defs/Addr' },
        meta: { type: 'object' },
        loop: { $ref: '#/$defs/Missing' },
      },
      required: ['tags', 'ghost'],
    });
    expect(cleaned).toEqual({
      type: 'object',
      properties: {
        tags: { type: 'array', items: {} },
        addr: { type: 'object', properties: { city: { type: 'string' } } },
        meta: { type: 'object', properties: {} },
        loop: {},
      },
      required: ['tags'],
    });
  });

  it('drops null from type unions and null-only properties; oneOf becomes anyOf; default moves into the description', () => {
    expect(
      cleanParametersSchema({
        type: 'object',
        properties: {
          a: { type: ['string', 'null'] },
          b: { type: 'null' },
          c: { oneOf: [{ type: 'string' }, { type: 'number' }] },
          d: { type: 'integer', description: 'Count.', default: 3 },
        },
      }),
    ).toEqual({
      type: 'object',
      properties: {
        a: { type: 'string' },
        c: { anyOf: [{ type: 'string' }, { type: 'number' }] },
        d: { type: 'integer', description: 'Count. Default: 3.' },
      },
    });
  });

  it('survives recursive $ref', () => {
    const cleaned = cleanParametersSchema({
      type: 'object',
      definitions: { Node: { type: 'object', properties: { next: { $ref: '#/definitions/Node' } } } },
      properties: { head: { $ref: '#/definitions/Node' } },
    });
    expect(JSON.stringify(cleaned).length).toBeLessThan(2000);
  });
});
