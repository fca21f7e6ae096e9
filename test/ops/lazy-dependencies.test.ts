/**
 * Optional features load their heavy packages only when configured: without REDIS_URL the redis client
 * (and fleet mode's modules) and without an MCP server the MCP SDK (ajv, a JSON-schema converter…) stay out
 * of every process, and a cluster primary (no calls) never loads the OpenAI SDK or ws. Together ~20 MB of RSS and ~12 MB of heap per process (BENCHMARKS.md, finding 5).
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');

/** The npm packages a fresh Node process resolves while importing `modules` (run through tsx, from src). */
function packagesLoadedBy(modules: string[]): string[] {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-deps-'));
  const hook = join(dir, 'hook.mjs');
  writeFileSync(
    hook,
    `import { registerHooks } from 'node:module';
const seen = new Set();
registerHooks({ resolve(spec, ctx, next) { const r = next(spec, ctx); const m = /node_modules\\/((?:@[^/]+\\/)?[^/]+)/.exec(r.url); if (m) seen.add(m[1]); return r; } });
process.on('exit', () => process.stdout.write(JSON.stringify([...seen].sort())));
`,
  );
  const script = modules.map((m) => `await import(${JSON.stringify(join(ROOT, m))});`).join(' ');
  const out = execFileSync(process.execPath, ['--import', hook, '--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out) as string[];
}

describe('optional dependencies load only when configured', () => {
  it('serving without REDIS_URL or MCP servers loads neither redis nor the MCP SDK', () => {
    const loaded = packagesLoadedBy(['src/cli/serve.ts', 'src/cli/serve-instance.ts', 'src/cli/commands.ts']);
    expect(loaded).toContain('ws'); // the probe works: it sees what serve does load
    expect(loaded).toContain('openai');
    expect(loaded.filter((p) => p === 'redis' || p.startsWith('@redis/'))).toEqual([]);
    expect(loaded).not.toContain('@modelcontextprotocol/sdk');
    expect(loaded).not.toContain('ajv');
  });

  it("a cluster primary's modules (configuration, exit codes, the primary) load neither the OpenAI SDK nor ws", () => {
    const loaded = packagesLoadedBy(['src/cli/commands.ts', 'src/cli/env.ts', 'src/cli/serve-instance.ts', 'src/cluster/primary.ts']);
    expect(loaded).toContain('zod'); // the probe works
    expect(loaded).not.toContain('openai');
    expect(loaded).not.toContain('ws');
  });

  it('the fleet and the MCP client still load them when used', () => {
    const loaded = packagesLoadedBy(['src/fleet/index.ts']);
    expect(loaded).toContain('redis');
  });
});
