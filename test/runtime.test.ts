import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseDockerfile } from './ops/dockerfile-parse.js';

const ROOT = join(import.meta.dirname, '..');
const packageJson = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  engines: { node: string };
  devDependencies: Record<string, string>;
};
const stages = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

/** The Node major of every FROM line (`node:26-slim` → 26); all stages must agree. */
function imageMajor(): number {
  const majors = new Set(stages.map((s) => Number(/^node:(\d+)-/.exec(s.image)?.[1])));
  expect([...majors], 'every Dockerfile stage on one Node major').toHaveLength(1);
  return [...majors][0]!;
}

describe('runtime', () => {
  it('tests run on the Node major the Docker image ships (the repo brings it: node_modules/.bin/node)', () => {
    const major = Number(process.versions.node.split('.')[0]);
    expect(major).toBe(imageMajor());
  });

  it('the `node` devDependency and engines name that same major', () => {
    const major = imageMajor();
    expect(packageJson.devDependencies.node).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
    expect(packageJson.engines.node).toBe(`>=${major}.0.0`);
  });

  it('ws masks frames natively on linux-x64 (the prebuilt bufferutil binary, no compiler: BENCHMARKS.md)', () => {
    // Optional: on a platform without a prebuild ws falls back to its JS mask. The image is linux-x64.
    if (`${process.platform}-${process.arch}` !== 'linux-x64') return;
    const wsRequire = createRequire(createRequire(import.meta.url).resolve('ws'));
    const native = wsRequire('bufferutil') as { mask: unknown; unmask: unknown };
    expect(typeof native.mask).toBe('function');
    expect(typeof native.unmask).toBe('function');
  });
});
