/**
 * RFC 8941 structured-field parsing, limited to what HTTP Message Signatures need: Dictionaries whose
 * members are Items or Inner Lists, with Parameters. Strict by design: anything RFC 8941 would fail to
 * parse throws, and so do duplicate dictionary keys and duplicate parameter keys (RFC 8941 lets the last
 * one win; for authentication input we prefer to refuse an ambiguous header).
 *
 * Each dictionary member keeps the exact text it was parsed from (`raw`), because the signature base
 * embeds the Signature-Input member verbatim as `@signature-params`.
 */

export class StructuredFieldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StructuredFieldError';
  }
}

export type BareItem =
  | { type: 'integer'; value: number }
  | { type: 'decimal'; value: number }
  | { type: 'string'; value: string }
  | { type: 'token'; value: string }
  | { type: 'bytes'; value: Buffer }
  | { type: 'boolean'; value: boolean };

/** Parameters in the order received; keys are unique (duplicates are rejected). */
export type Parameters = Map<string, BareItem>;

export interface Item {
  kind: 'item';
  value: BareItem;
  params: Parameters;
}

export interface InnerList {
  kind: 'inner-list';
  items: Item[];
  params: Parameters;
}

export interface DictionaryMember {
  member: Item | InnerList;
  /** The member value exactly as it appeared in the field (after `key=`), parameters included. */
  raw: string;
}

/** Dictionary members in the order received. */
export type Dictionary = Map<string, DictionaryMember>;

const MAX_INTEGER = 999_999_999_999_999;

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
const isLcAlpha = (c: string | undefined): boolean => c !== undefined && c >= 'a' && c <= 'z';
const isAlpha = (c: string | undefined): boolean => c !== undefined && /^[A-Za-z]$/.test(c);
// RFC 9110 tchar, plus ':' and '/' which RFC 8941 allows inside tokens.
const isTokenChar = (c: string | undefined): boolean => c !== undefined && /^[!#$%&'*+\-.^_`|~0-9A-Za-z:/]$/.test(c);
const isKeyChar = (c: string | undefined): boolean => c !== undefined && /^[a-z0-9_\-.*]$/.test(c);

class Parser {
  pos = 0;
  constructor(readonly input: string) {}

  peek(): string | undefined {
    return this.input[this.pos];
  }

  atEnd(): boolean {
    return this.pos >= this.input.length;
  }

  fail(what: string): never {
    throw new StructuredFieldError(`${what} at offset ${this.pos}`);
  }

  skipSpaces(): void {
    while (this.peek() === ' ') this.pos++;
  }

  skipOws(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  expect(c: string): void {
    if (this.peek() !== c) this.fail(`expected "${c}"`);
    this.pos++;
  }

  parseKey(): string {
    const first = this.peek();
    if (!isLcAlpha(first) && first !== '*') this.fail('expected a key');
    const start = this.pos;
    while (isKeyChar(this.peek())) this.pos++;
    return this.input.slice(start, this.pos);
  }

  parseBareItem(): BareItem {
    const c = this.peek();
    if (c === '-' || isDigit(c)) return this.parseNumber();
    if (c === '"') return { type: 'string', value: this.parseString() };
    if (c === ':') return { type: 'bytes', value: this.parseBytes() };
    if (c === '?') return { type: 'boolean', value: this.parseBoolean() };
    if (isAlpha(c) || c === '*') return { type: 'token', value: this.parseToken() };
    return this.fail('expected an item');
  }

  parseNumber(): BareItem {
    const start = this.pos;
    if (this.peek() === '-') this.pos++;
    if (!isDigit(this.peek())) this.fail('expected a digit');
    let decimal = false;
    let intDigits = 0;
    let fracDigits = 0;
    for (;;) {
      const c = this.peek();
      if (isDigit(c)) {
        this.pos++;
        if (decimal) fracDigits++;
        else intDigits++;
      } else if (c === '.' && !decimal) {
        if (intDigits > 12) this.fail('decimal has too many integer digits');
        decimal = true;
        this.pos++;
      } else break;
      if (!decimal && intDigits > 15) this.fail('integer has too many digits');
      if (decimal && fracDigits > 3) this.fail('decimal has too many fractional digits');
    }
    const text = this.input.slice(start, this.pos);
    if (decimal) {
      if (fracDigits === 0) this.fail('decimal ends with "."');
      return { type: 'decimal', value: Number(text) };
    }
    const value = Number(text);
    if (Math.abs(value) > MAX_INTEGER) this.fail('integer out of range');
    return { type: 'integer', value };
  }

  parseString(): string {
    this.expect('"');
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail('unterminated string');
      this.pos++;
      if (c === '"') return out;
      if (c === '\\') {
        const next = this.peek();
        if (next !== '"' && next !== '\\') this.fail('invalid escape in string');
        out += next;
        this.pos++;
        continue;
      }
      const code = c.charCodeAt(0);
      if (code < 0x20 || code > 0x7e) this.fail('invalid character in string');
      out += c;
    }
  }

  parseToken(): string {
    const start = this.pos;
    this.pos++; // first character already checked by the caller
    while (isTokenChar(this.peek())) this.pos++;
    return this.input.slice(start, this.pos);
  }

  parseBytes(): Buffer {
    this.expect(':');
    const start = this.pos;
    while (this.peek() !== undefined && this.peek() !== ':') this.pos++;
    if (this.atEnd()) this.fail('unterminated byte sequence');
    const b64 = this.input.slice(start, this.pos);
    this.pos++;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) this.fail('invalid base64 in byte sequence');
    return Buffer.from(b64, 'base64');
  }

  parseBoolean(): boolean {
    this.expect('?');
    const c = this.peek();
    if (c === '1' || c === '0') {
      this.pos++;
      return c === '1';
    }
    return this.fail('invalid boolean');
  }

  parseParameters(): Parameters {
    const params: Parameters = new Map();
    while (this.peek() === ';') {
      this.pos++;
      this.skipSpaces();
      const key = this.parseKey();
      let value: BareItem = { type: 'boolean', value: true };
      if (this.peek() === '=') {
        this.pos++;
        value = this.parseBareItem();
      }
      if (params.has(key)) this.fail(`duplicate parameter "${key}"`);
      params.set(key, value);
    }
    return params;
  }

  parseItem(): Item {
    const value = this.parseBareItem();
    return { kind: 'item', value, params: this.parseParameters() };
  }

  parseInnerList(): InnerList {
    this.expect('(');
    const items: Item[] = [];
    for (;;) {
      this.skipSpaces();
      if (this.peek() === ')') {
        this.pos++;
        return { kind: 'inner-list', items, params: this.parseParameters() };
      }
      items.push(this.parseItem());
      const c = this.peek();
      if (c !== ' ' && c !== ')') this.fail('expected " " or ")" in inner list');
    }
  }

  parseItemOrInnerList(): Item | InnerList {
    return this.peek() === '(' ? this.parseInnerList() : this.parseItem();
  }
}

/** Parses an RFC 8941 Dictionary field value. Throws StructuredFieldError when it is not one. */
export function parseDictionary(fieldValue: string): Dictionary {
  const parser = new Parser(fieldValue);
  const dictionary: Dictionary = new Map();
  parser.skipSpaces();
  while (!parser.atEnd()) {
    const key = parser.parseKey();
    let entry: DictionaryMember;
    if (parser.peek() === '=') {
      parser.pos++;
      const start = parser.pos;
      const member = parser.parseItemOrInnerList();
      entry = { member, raw: fieldValue.slice(start, parser.pos) };
    } else {
      const start = parser.pos;
      const params = parser.parseParameters();
      entry = { member: { kind: 'item', value: { type: 'boolean', value: true }, params }, raw: fieldValue.slice(start, parser.pos) };
    }
    if (dictionary.has(key)) parser.fail(`duplicate dictionary key "${key}"`);
    dictionary.set(key, entry);
    parser.skipOws();
    if (parser.atEnd()) break;
    parser.expect(',');
    parser.skipOws();
    if (parser.atEnd()) parser.fail('trailing comma');
  }
  return dictionary;
}

/** Serializes a string as an RFC 8941 String (quotes and backslashes escaped). */
export function serializeString(value: string): string {
  if (!/^[\x20-\x7e]*$/.test(value)) throw new StructuredFieldError('string contains characters outside printable ASCII');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}
