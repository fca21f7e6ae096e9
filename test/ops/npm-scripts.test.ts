/**
 * Every npm script that runs the server serves the console front end (dist/console-web, src/console
 * DEFAULT_ASSETS_DIR), so npm's pre-script of each compiles web/console first; the README says so.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const scripts = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
const CONSOLE_BUILD = 'tsc -p web/console/tsconfig.json';

describe('npm scripts that serve', () => {
  it.each(['start', 'dev', 'demo'])('`npm run %s` builds the console front end first (its pre-script)', (name) => {
    expect(scripts[name], `script ${name}`).toBeDefined();
    expect(scripts[`pre${name}`] ?? '', `script pre${name}`).toContain(CONSOLE_BUILD);
  });

  it('the README describes `npm run dev` as building the console, then running from source with pretty logs', () => {
    expect(scripts.dev).toMatch(/^tsx src\/cli\/main\.ts serve \| pino-pretty$/);
    const row = readme.split('\n').find((line) => line.startsWith('| `npm run dev` |'));
    expect(row).toMatch(/console front end/);
    expect(row).toMatch(/from source with pretty logs/);
  });
});
