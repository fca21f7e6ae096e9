/** Realtime function names: ^[a-zA-Z0-9_-]{1,64}$, unique within a call. */
import { createHash } from 'node:crypto';

const MAX = 64;

/** Replaces disallowed characters by "_", collapses runs, and shortens with a stable hash when too long. */
export function sanitizeFunctionName(raw: string): string {
  let name = raw
    .replace(/[^a-zA-Z0-9_-]+/g, '_')
    .replace(/_{2,}/g, '_')
    .replace(/^_+|_+$/g, '');
  if (name === '') name = 'tool';
  if (name.length > MAX) name = `${name.slice(0, MAX - 9)}_${shortHash(raw)}`;
  return name;
}

function shortHash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 8);
}

/** Hands out unique names: a taken name gets `_2`, `_3` … (shortened so the result still fits 64). */
export class FunctionNames {
  private readonly taken = new Set<string>();

  constructor(reserved: Iterable<string> = []) {
    for (const name of reserved) this.taken.add(name);
  }

  claim(raw: string): string {
    const base = sanitizeFunctionName(raw);
    let name = base;
    for (let n = 2; this.taken.has(name); n++) {
      const suffix = `_${n}`;
      name = `${base.slice(0, MAX - suffix.length)}${suffix}`;
    }
    this.taken.add(name);
    return name;
  }
}
