import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { envSchema } from '../../src/cli/env.js';

/** The README's configuration table and the zod schema must never drift apart. */
function readmeRows(): Map<string, string> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('<!-- config-table:start');
  const end = readme.indexOf('<!-- config-table:end -->');
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const rows = new Map<string, string>();
  for (const line of readme.slice(start, end).split('\n')) {
    const m = /^\| `([A-Z0-9_]+)` \| ([^|]+) \|/.exec(line);
    if (m) rows.set(m[1]!, m[2]!.trim());
  }
  return rows;
}

describe('README configuration table', () => {
  const rows = readmeRows();
  const shape = envSchema.shape as Record<string, { safeParse(v: unknown): { success: boolean; data?: unknown } }>;

  it('lists exactly the variables the schema reads', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(shape).sort());
  });

  it('states each default as the schema applies it', () => {
    for (const [name, documented] of rows) {
      const parsed = shape[name]!.safeParse(undefined);
      if (!parsed.success) expect(documented, name).toBe('required');
      else if (parsed.data === undefined) expect(['—', 'built-in'], name).toContain(documented);
      else expect(documented, name).toBe(`\`${String(parsed.data)}\``);
    }
  });
});

describe('.env.example', () => {
  it('names every variable the schema reads, and parses once the required key is filled in', () => {
    const text = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8');
    const entries = Object.fromEntries(
      text
        .split('\n')
        .filter((l) => /^[A-Z0-9_]+=/.test(l))
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(Object.keys(entries).sort()).toEqual(Object.keys(envSchema.shape).sort());
    expect(envSchema.safeParse(Object.fromEntries(Object.entries({ ...entries, GENESYS_API_KEY: 'k' }).filter(([, v]) => v !== ''))).success).toBe(true);
  });
});
