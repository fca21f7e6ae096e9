import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const CONFIG_DIR = join(import.meta.dirname, '..', '..', 'src', 'config');

describe('src/config', () => {
  it('imports nothing above it: only packages, node: modules and its own files (the composition is in src/cli/env.ts)', () => {
    const files = readdirSync(CONFIG_DIR).filter((f) => f.endsWith('.ts'));
    expect(files.length).toBeGreaterThan(2);
    for (const file of files) {
      const source = readFileSync(join(CONFIG_DIR, file), 'utf8');
      for (const [, specifier] of source.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'/gm)) {
        expect(specifier!.startsWith('../'), `${file} imports ${specifier}`).toBe(false);
      }
    }
  });
});
