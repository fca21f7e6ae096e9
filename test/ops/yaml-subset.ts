/**
 * A strict parser for the block-style YAML subset .do/app.yaml is written in: nested mappings,
 * sequences ("- "), and scalars (plain, "double" or 'single' quoted, integers, true/false, null),
 * with # comments. Anything else (tabs, flow collections, anchors, tags, block strings, duplicate
 * keys) is an error naming the line, so the spec cannot silently drift outside what is checked.
 */
type Value = string | number | boolean | null | Value[] | { [key: string]: Value };

interface Line {
  indent: number;
  text: string;
  number: number;
}

export class YamlSubsetError extends Error {
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
  }
}

function stripComment(text: string): string {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === '"' || c === "'") quote = c;
    else if (c === '#' && (i === 0 || text[i - 1] === ' ')) return text.slice(0, i).trimEnd();
  }
  return text.trimEnd();
}

function scalar(raw: string, line: number): Value {
  if (raw.startsWith('"')) {
    if (!/^"(?:[^"\\]|\\.)*"$/.test(raw)) throw new YamlSubsetError(line, `bad double-quoted string: ${raw}`);
    return JSON.parse(raw) as string;
  }
  if (raw.startsWith("'")) {
    if (!/^'(?:[^']|'')*'$/.test(raw)) throw new YamlSubsetError(line, `bad single-quoted string: ${raw}`);
    return raw.slice(1, -1).replace(/''/g, "'");
  }
  if (/^[[\]{}&*!|>%@`,]/.test(raw)) throw new YamlSubsetError(line, `unsupported YAML syntax: ${raw}`);
  if (raw.includes(': ') || raw.endsWith(':')) throw new YamlSubsetError(line, `ambiguous plain scalar: ${raw}`);
  if (raw === 'true' || raw === 'false') return raw === 'true';
  if (raw === 'null' || raw === '~') return null;
  if (/^-?(0|[1-9]\d*)$/.test(raw)) return Number(raw);
  if (/^-?(0|[1-9]\d*)\.\d+$/.test(raw)) return Number(raw);
  return raw;
}

const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: (.*))?$/;

export function parseYamlSubset(text: string): Value {
  const lines: Line[] = [];
  text.split('\n').forEach((raw, i) => {
    if (raw.includes('\t')) throw new YamlSubsetError(i + 1, 'tabs are not allowed');
    if (/^(---|\.\.\.)\s*$/.test(raw)) throw new YamlSubsetError(i + 1, 'document markers are not supported');
    const content = stripComment(raw);
    if (content.trim() === '') return;
    lines.push({ indent: content.length - content.trimStart().length, text: content.trim(), number: i + 1 });
  });
  let pos = 0;

  function block(indent: number): Value {
    const first = lines[pos];
    if (!first || first.indent !== indent) throw new YamlSubsetError(first?.number ?? 0, 'expected a block');
    return first.text.startsWith('- ') || first.text === '-' ? sequence(indent) : mapping(indent, {});
  }

  function valueAfterKey(rest: string | undefined, parentIndent: number, line: number): Value {
    if (rest !== undefined && rest.trim() !== '') return scalar(rest.trim(), line);
    const next = lines[pos];
    if (!next || next.indent <= parentIndent) return null;
    return block(next.indent);
  }

  function mapping(indent: number, into: { [key: string]: Value }): Value {
    while (pos < lines.length && lines[pos]!.indent === indent && !lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const match = KEY.exec(line.text);
      if (!match) throw new YamlSubsetError(line.number, `expected "key: value", got: ${line.text}`);
      const key = match[1]!;
      if (Object.hasOwn(into, key)) throw new YamlSubsetError(line.number, `duplicate key ${key}`);
      pos++;
      into[key] = valueAfterKey(match[2], indent, line.number);
    }
    const next = lines[pos];
    if (next && next.indent > indent) throw new YamlSubsetError(next.number, 'unexpected indentation');
    return into;
  }

  function sequence(indent: number): Value {
    const items: Value[] = [];
    while (pos < lines.length && lines[pos]!.indent === indent && lines[pos]!.text.startsWith('- ')) {
      const line = lines[pos]!;
      const rest = line.text.slice(2).trim();
      const itemIndent = indent + 2;
      const match = KEY.exec(rest);
      if (match) {
        // "- key: value" starts a mapping whose further keys sit at the column of "key".
        lines[pos] = { indent: itemIndent, text: rest, number: line.number };
        items.push(mapping(itemIndent, {}));
      } else {
        pos++;
        items.push(scalar(rest, line.number));
      }
    }
    const next = lines[pos];
    if (next && next.indent > indent) throw new YamlSubsetError(next.number, 'unexpected indentation');
    return items;
  }

  const root = block(0);
  if (pos < lines.length) throw new YamlSubsetError(lines[pos]!.number, 'unexpected content');
  return root;
}
