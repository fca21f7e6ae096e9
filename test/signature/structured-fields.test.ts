import { describe, expect, it } from 'vitest';
import { parseDictionary, serializeString, StructuredFieldError } from '../../src/audiohook/structured-fields.js';

describe('parseDictionary', () => {
  it('parses inner lists with parameters and keeps the raw member text', () => {
    const dict = parseDictionary('sig1=("a" "b c");keyid="k\\"1";created=12;ok;d=1.5, b=:AQID:;x=?0');
    const sig1 = dict.get('sig1');
    expect(sig1?.raw).toBe('("a" "b c");keyid="k\\"1";created=12;ok;d=1.5');
    expect(sig1?.member.kind).toBe('inner-list');
    if (sig1?.member.kind !== 'inner-list') return;
    expect(sig1.member.items.map((i) => i.value)).toEqual([
      { type: 'string', value: 'a' },
      { type: 'string', value: 'b c' },
    ]);
    expect([...sig1.member.params]).toEqual([
      ['keyid', { type: 'string', value: 'k"1' }],
      ['created', { type: 'integer', value: 12 }],
      ['ok', { type: 'boolean', value: true }],
      ['d', { type: 'decimal', value: 1.5 }],
    ]);
    const b = dict.get('b');
    expect(b?.member.kind === 'item' && b.member.value).toEqual({ type: 'bytes', value: Buffer.from([1, 2, 3]) });
    expect(b?.member.params.get('x')).toEqual({ type: 'boolean', value: false });
  });

  it('parses tokens, negative integers and bare keys', () => {
    const dict = parseDictionary('a=tok/en:x, b=-42, c');
    expect(dict.get('a')?.member).toMatchObject({ value: { type: 'token', value: 'tok/en:x' } });
    expect(dict.get('b')?.member).toMatchObject({ value: { type: 'integer', value: -42 } });
    expect(dict.get('c')?.member).toMatchObject({ value: { type: 'boolean', value: true } });
  });

  it.each([
    ['trailing comma', 'a=1,'],
    ['uppercase key', 'A=1'],
    ['duplicate key', 'a=1, a=2'],
    ['duplicate parameter', 'a=1;x=1;x=2'],
    ['unterminated string', 'a="abc'],
    ['bad escape', 'a="\\n"'],
    ['non-ASCII in string', 'a="é"'],
    ['unterminated inner list', 'a=("x"'],
    ['no space between list items', 'a=("x""y")'],
    ['bad base64', 'a=:***:'],
    ['integer too long', 'a=1234567890123456'],
    ['decimal without fraction', 'a=1.'],
    ['garbage after member', 'a=1 b'],
    ['bad boolean', 'a=?2'],
  ])('rejects %s', (_name, input) => {
    expect(() => parseDictionary(input)).toThrow(StructuredFieldError);
  });
});

describe('serializeString', () => {
  it('escapes quotes and backslashes and refuses control characters', () => {
    expect(serializeString('a"b\\c')).toBe('"a\\"b\\\\c"');
    expect(() => serializeString('a\nb')).toThrow(StructuredFieldError);
  });
});
